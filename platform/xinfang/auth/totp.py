"""TOTP two-factor (RFC 6238, 30-second steps, six digits): the secret, its QR code, and checking a code.

The secret is kept sealed with the platform key (``crypto.KeyRing.seal_account_secret``), bound to the
account, so a copy of the store alone gives nobody the codes. A code is good once: the step it matched is
remembered (``totp_last_step``) and a code of that step or an earlier one is refused afterwards.
"""

from __future__ import annotations

import time

import pyotp
import segno
from quart import current_app

from .models import PlatformAccount, StaffAccount

ISSUER = "信访监督平台"
VALID_WINDOW = 1  # the step before and after too: phones' clocks drift


def keyring():
    return current_app.extensions["xinfang.keyring"]


def bound_to(account: StaffAccount | PlatformAccount) -> str:
    realm = str(account.tenant_id) if isinstance(account, StaffAccount) else "platform"
    return f"totp:{realm}:{account.id}"


def new_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters: 160 bits


def seal(account, secret: str) -> str:
    return keyring().seal_account_secret(bound_to(account), secret)


def unseal(account, sealed: str) -> str:
    return keyring().open_account_secret(bound_to(account), sealed)


def provisioning_uri(account, secret: str, tenant_name: str | None = None) -> str:
    name = f"{account.username}@{tenant_name}" if tenant_name else account.username
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The otpauth URI as a QR code, an SVG data URI (the pages' CSP allows data: images)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def grouped(secret: str) -> str:
    """The secret for typing by hand: groups of four."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def normalize(code: str | None) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace())


def matching_step(secret: str, code: str | None, after_step: int, now: float | None = None) -> int | None:
    """The time step ``code`` belongs to (within the window), if it is later than ``after_step``; else None."""
    code = normalize(code)
    if len(code) != 6 or not code.isdigit():
        return None
    now = time.time() if now is None else now
    totp = pyotp.TOTP(secret)
    current = int(now // totp.interval)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if step > after_step and pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def code_now(secret: str, now: float | None = None) -> str:
    """The current code of ``secret`` (tests, and nothing else, need it)."""
    return pyotp.TOTP(secret).at(time.time() if now is None else now)
