"""Resident identity numbers of the PRC (GB 11643-1999): the check character, one implementation for every use.

Officials' registry (archives/identity.py) and the petitioner fields of forms (format "cn-id-number",
forms/schema_safety.py) both check with it, so a number one of them accepts the other accepts too.
"""

from __future__ import annotations

# ISO 7064 MOD 11-2 as GB 11643 applies it: weight 2^(17-i) mod 11 for the i-th of the 17 leading digits.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"


def check_character(first_17_digits: str) -> str:
    """The 18th character a number with these 17 leading ASCII digits must end with ('0'-'9' or 'X')."""
    return CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first_17_digits, WEIGHTS, strict=True)) % 11]


def looks_like_resident_id(text: str) -> bool:
    """18 characters: 17 ASCII digits and a last digit or X (either case). Says nothing about the check character."""
    return len(text) == 18 and text[:17].isascii() and text[:17].isdigit() and (text[17] in "0123456789Xx")


def is_resident_id_number(text: str) -> bool:
    """True for an 18-character resident identity number whose check character is right (x and X alike)."""
    return looks_like_resident_id(text) and check_character(text[:17]) == text[17].upper()
