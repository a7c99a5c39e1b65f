"""The key ring the retention sweep and commands open identities with (one per platform key, kept per process)."""

from __future__ import annotations

_keyrings: dict = {}


def keyring_for(settings):
    from ..crypto import KeyRing
    from ..secrets_file import resolve_encryption_key
    from ..settings import Settings

    settings = settings or Settings.from_env()
    key = resolve_encryption_key(settings)
    if key not in _keyrings:
        _keyrings[key] = KeyRing(key)
    return _keyrings[key]
