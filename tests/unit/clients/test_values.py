"""The one parser of user-given numbers and flags."""

from __future__ import annotations

import pytest

from netapp_dataops_airflow.clients._values import flag, number, whole_number
from netapp_dataops_airflow.exceptions import InvalidInputError


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, 5.0), (0.5, 0.5), ("7", 7.0), (" 2.5 ", 2.5), ("1e3", 1000.0), ("-0", 0.0), (".5", 0.5)],
)
def test_number_accepts_plain_numbers_and_ascii_text(value: object, expected: float) -> None:
    assert number(value, "poll_interval") == expected


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        None,
        "",
        "abc",
        "\u0661\u0662",
        "\uff11\uff12",
        "inf",
        "nan",
        float("inf"),
        float("nan"),
        "1 0",
        "0x10",
        [1],
    ],
)
def test_number_refuses_what_is_not_a_finite_number_and_names_the_parameter(value: object) -> None:
    with pytest.raises(InvalidInputError, match=r"poll_interval must be a number of seconds, got") as info:
        number(value, "poll_interval", unit="seconds")
    assert repr(value) in str(info.value)


def test_number_range_is_inclusive_and_says_the_bounds() -> None:
    assert number(1, "x", minimum=1, maximum=2) == 1
    assert number("2", "x", minimum=1, maximum=2) == 2
    with pytest.raises(InvalidInputError, match=r"x must be between 1 and 2 seconds, got 0\.5"):
        number(0.5, "x", minimum=1, maximum=2, unit="seconds")
    with pytest.raises(InvalidInputError, match=r"x must be at least 0\.5, got -1"):
        number(-1, "x", minimum=0.5)
    with pytest.raises(InvalidInputError, match=r"x must be at most 3, got 4"):
        number(4, "x", maximum=3)


def test_large_bounds_are_written_out() -> None:
    with pytest.raises(InvalidInputError, match=r"between 0 and 4294967295 KB/s, got 4294967296"):
        whole_number(4294967296, "throttle", minimum=0, maximum=4294967295, unit="KB/s")


def test_whole_number_refuses_fractions_but_takes_whole_floats_and_text() -> None:
    assert whole_number("12", "throttle") == 12
    assert whole_number(12.0, "throttle") == 12
    assert isinstance(whole_number(3.0, "throttle"), int)
    with pytest.raises(InvalidInputError, match=r"throttle must be a whole number at least 0 KB/s, got 1\.5"):
        whole_number(1.5, "throttle", minimum=0, unit="KB/s")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("TRUE", True),
        (" no ", False),
        ("on", True),
        ("0", False),
        (1, True),
        (0, False),
    ],
)
def test_flag_reads_the_usual_words(value: object, expected: bool) -> None:
    assert flag(value, "verify_ssl", default=not expected) is expected


@pytest.mark.parametrize("value", [None, "", "  "])
def test_flag_unset_is_the_default(value: object) -> None:
    assert flag(value, "verify_ssl", default=True) is True
    assert flag(value, "verify_ssl", default=False) is False


@pytest.mark.parametrize("value", ["flase", "truee", 2, 0.5, [], {}])
def test_flag_refuses_a_misspelling_instead_of_guessing(value: object) -> None:
    with pytest.raises(InvalidInputError, match=r"verify_ssl must be true or false"):
        flag(value, "verify_ssl", default=True)
