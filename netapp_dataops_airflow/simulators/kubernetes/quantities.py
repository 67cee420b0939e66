"""Resource quantities (``1Gi``, ``500M``, ``1e9``) as the apiserver parses and prints them."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from .errors import bad_request

_QUANTITY_RE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_SUFFIXES: dict[str, int | Decimal] = {
    "": 1,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
}
_BINARY = (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))


def parse_quantity(text: str | int) -> int:
    """Bytes in a quantity, rounded up; 400 with the apiserver's decode message when malformed."""
    raw = str(text).strip()
    match = _QUANTITY_RE.match(raw)
    if match is None:
        raise bad_request(
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        )
    number, suffix = match.groups()
    try:
        if suffix in _SUFFIXES:
            value = Decimal(number) * Decimal(_SUFFIXES[suffix])
        else:  # decimal exponent such as 1e9
            value = Decimal(number + suffix)
    except InvalidOperation as exc:
        raise bad_request(f"unable to parse quantity's suffix: {suffix!r}") from exc
    return math.ceil(value)


def format_binary(size: int) -> str:
    """``size`` bytes the way a BinarySI Quantity prints: the largest exact binary suffix."""
    for suffix, factor in _BINARY:
        if size and size % factor == 0:
            return f"{size // factor}{suffix}"
    return str(size)
