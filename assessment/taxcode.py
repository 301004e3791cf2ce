"""Vietnamese tax codes (mã số thuế): 10 digits with a check digit, 13 = 10 + "-" + branch, or a
12-digit personal ID used by household businesses since 1 July 2025 (Circular 86/2024/TT-BTC)."""

from __future__ import annotations

import re

WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


class TaxCodeError(ValueError):
    pass


def check_digit(first_nine: str) -> int | None:
    """10 - (S mod 11), 0 when S mod 11 is 10; None when S mod 11 is 0 (no valid code exists)."""
    remainder = sum(w * int(d) for w, d in zip(WEIGHTS, first_nine, strict=True)) % 11
    if remainder == 0:
        return None
    return (10 - remainder) % 10


def normalise(raw: str) -> str:
    """Strip spaces and dots; write a 13-digit branch code with its hyphen. Raises TaxCodeError."""
    value = re.sub(r"[\s.]", "", raw or "")
    if re.fullmatch(r"\d{13}", value):
        value = f"{value[:10]}-{value[10:]}"
    if re.fullmatch(r"\d{12}", value):
        return value  # a personal ID: no check digit to test
    match = re.fullmatch(r"(\d{10})(?:-(\d{3}))?", value)
    if not match:
        raise TaxCodeError("invalid_format")
    main, branch = match.groups()
    if main[2:9] == "0000000":
        raise TaxCodeError("invalid_sequence")
    if check_digit(main[:9]) != int(main[9]):
        raise TaxCodeError("invalid_check_digit")
    if branch == "000":
        raise TaxCodeError("invalid_branch")
    return value


def masked(code: str) -> str:
    """A 12-digit code is a person's identification number (a household business uses its owner's
    own): shown to anyone but the business's own people as its first 3 and last 2 digits only."""
    if len(code) == 12 and code.isdigit():
        return f"{code[:3]}{'*' * 7}{code[-2:]}"
    return code
