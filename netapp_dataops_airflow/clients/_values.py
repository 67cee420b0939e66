"""The one way to read numbers and on/off flags given by users: parameters, templated strings, extras.

Templated fields arrive as text, connection extras as JSON of any type, and Python happily turns
``True`` into 1, ``"١٢"`` (Arabic-Indic digits) into 12 and ``"inf"`` into infinity. A value that
reaches a backend must be what the user meant, so these helpers accept exactly:

- numbers: ``int``/``float`` (never ``bool``), or text of ASCII digits with an optional sign, point
  and exponent, finite, inside the allowed range;
- flags: ``bool``, or the words true/false, yes/no, on/off, 1/0 (any case, surrounding blanks).

Anything else is an :class:`~netapp_dataops_airflow.exceptions.InvalidInputError` that names the
parameter and shows the value (never use these for secrets).
"""

from __future__ import annotations

import math
import re
from typing import Any

from netapp_dataops_airflow.exceptions import InvalidInputError

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def _shown(bound: float) -> str:
    """Write a bound out in full: 4294967295, not 4.29497e+09."""
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


def _bounds(minimum: float | None, maximum: float | None, unit: str) -> str:
    suffix = f" {unit}" if unit else ""
    if minimum is not None and maximum is not None:
        return f"between {_shown(minimum)} and {_shown(maximum)}{suffix}"
    if minimum is not None:
        return f"at least {_shown(minimum)}{suffix}"
    if maximum is not None:
        return f"at most {_shown(maximum)}{suffix}"
    return f"a number of {unit}" if unit else "a number"


def number(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
    unit: str = "",
) -> float:
    """Return ``value`` as a finite number in ``[minimum, maximum]``; otherwise raise.

    :param name: the parameter, as the user wrote it (``"poll_interval"``), for the message.
    :param integer: refuse fractions (``1.5``), accept whole floats and digit strings.
    :param unit: what the number counts (``"seconds"``, ``"KB/s"``), for the message.
    """
    wanted = f"{name} must be {'a whole number ' if integer else ''}{_bounds(minimum, maximum, unit)}"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidInputError(f"{wanted}, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            raise InvalidInputError(f"{wanted}, got {value!r}")
        result = float(text)
    else:
        result = float(value)
    if not math.isfinite(result) or (integer and not result.is_integer()):
        raise InvalidInputError(f"{wanted}, got {value!r}")
    if (minimum is not None and result < minimum) or (maximum is not None and result > maximum):
        raise InvalidInputError(f"{wanted}, got {value!r}")
    return result


def whole_number(
    value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None, unit: str = ""
) -> int:
    """:func:`number` for counts, sizes and rates that must be whole: returns an ``int``."""
    return int(number(value, name, minimum=minimum, maximum=maximum, integer=True, unit=unit))


def flag(value: Any, name: str, *, default: bool) -> bool:
    """Read an on/off setting; ``None`` or an empty string mean ``default``; anything unclear raises.

    A misspelt ``"flase"`` must not silently turn verification off (or on): it is an error.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise InvalidInputError(f"{name} must be true or false, got {value!r}")
