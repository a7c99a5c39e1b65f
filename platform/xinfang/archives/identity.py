"""Normalising what identifies an official: names (Unicode NFKC) and identity numbers."""

from __future__ import annotations

import unicodedata

from ..errors import InvalidInput
from ..id_numbers import check_character


def name_key(name: str | None) -> str:
    """Names compare equal however they were typed: full-width forms, spaces, case."""
    return "".join(unicodedata.normalize("NFKC", name or "").split()).lower()


def normalized_id_number(raw: str) -> str:
    """The identity number in one canonical form, checked: an 18-digit resident identity number must
    carry its ISO 7064 check digit; other documents (passports, Hong Kong/Macao/Taiwan permits) are
    kept as letters and digits. A typo must not silently become another person."""
    text = "".join(ch for ch in unicodedata.normalize("NFKC", raw or "").upper() if ch.isalnum())
    if not 6 <= len(text) <= 30:
        raise InvalidInput(fields={"id_number": {"zh": "证件号码长度不对", "en": "the identity number has the wrong length"}})
    if len(text) == 18 and text[:17].isascii() and text[:17].isdigit():
        if text[17] != check_character(text[:17]):
            raise InvalidInput(fields={"id_number": {"zh": "身份证号码校验位不对，请核对", "en": "the resident identity number's check digit is wrong"}})
    return text
