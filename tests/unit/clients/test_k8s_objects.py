"""Reading and validating Kubernetes names, labels and quantities, and naming objects per task."""

from __future__ import annotations

import pytest

from netapp_dataops_airflow.clients.kubernetes_objects import (
    MAX_STORAGE_BYTES,
    check_labels,
    check_name,
    check_namespace,
    check_size,
    parse_quantity,
)
from netapp_dataops_airflow.exceptions import InvalidInputError
from netapp_dataops_airflow.operators.kubernetes import derived_name


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1Gi", 2**30),
        ("500Mi", 500 * 2**20),
        ("1G", 10**9),
        ("1.5Gi", 3 * 2**29),
        ("1Ei", 2**60),
        ("2E", 2 * 10**18),
        ("1e9", 10**9),
        (1024, 1024),
    ],
)
def test_quantities(text: str | int, size: int) -> None:
    assert parse_quantity(text) == size


@pytest.mark.parametrize(
    "text",
    [
        "",
        "lots",
        "1GiB",
        "-1Gi",
        "1 Gi",
        None,
        True,
        1.5,
        "1.2.3",
        "\u0661Gi",
        "1Gi\n2",
        "inf",
        "1e999999999",
    ],
)
def test_malformed_quantities_name_the_value(text: object) -> None:
    with pytest.raises(InvalidInputError, match=r"is not a storage quantity|is too large") as raised:
        parse_quantity(text)
    assert repr(text) in str(raised.value)


def test_quantities_stop_at_what_kubernetes_holds() -> None:
    assert parse_quantity(str(MAX_STORAGE_BYTES)) == MAX_STORAGE_BYTES
    assert parse_quantity("7Ei") == 7 * 2**60
    for too_large in ("8Ei", "1e30", str(MAX_STORAGE_BYTES + 1)):
        with pytest.raises(InvalidInputError, match=f"size '{too_large}' is too large"):
            parse_quantity(too_large)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("1 Gi", "contains blanks"),
        (" 1Gi", "contains blanks"),
        ("1Gi\n", "contains blanks"),
        ("0", "must be more than 0 bytes"),
        ("0Gi", "must be more than 0 bytes"),
        ("9Ei", "is too large"),
        (False, "is not a storage quantity"),
    ],
)
def test_a_size_a_user_gives_is_what_the_api_server_accepts(size: object, expected: str) -> None:
    with pytest.raises(InvalidInputError, match=expected) as raised:
        check_size(size)
    assert str(raised.value).startswith(f"size {size!r} ")
    assert check_size("20Gi") == 20 * 2**30


@pytest.mark.parametrize("name", ["data", "data-1", "a.b-c", "x" * 253])
def test_valid_names(name: str) -> None:
    assert check_name(name, "pvc") == name


@pytest.mark.parametrize(
    "name",
    ["Data", "-data", "data-", "da_ta", "x" * 254, "", 7, None, "data\n", "data.", "a..b", "dåta", "da ta"],
)
def test_invalid_names_explain_the_rule(name: object) -> None:
    with pytest.raises(InvalidInputError, match="pvc") as raised:
        check_name(name, "pvc")
    assert repr(name) in str(raised.value)


@pytest.mark.parametrize("namespace", ["ml\n", "a.b", "x" * 64, "ML"])
def test_invalid_namespaces(namespace: str) -> None:
    with pytest.raises(InvalidInputError, match="is not a valid namespace name"):
        check_namespace(namespace)


def test_labels() -> None:
    assert check_labels({"team": "ml", "example.com/tier": "gold", "empty": ""}) == {
        "team": "ml",
        "example.com/tier": "gold",
        "empty": "",
    }
    assert check_labels(None) == {}
    with pytest.raises(InvalidInputError, match="label key 'bad key'"):
        check_labels({"bad key": "x"})
    with pytest.raises(InvalidInputError, match="invalid value"):
        check_labels({"team": "x" * 64})
    with pytest.raises(InvalidInputError) as raised:
        check_labels({"team": "ml\n"})
    assert "invalid value 'ml\\n'" in str(raised.value)
    with pytest.raises(InvalidInputError) as raised:
        check_labels({"team\n": "ml"})
    assert "label key 'team\\n'" in str(raised.value)


def test_derived_names_are_valid_stable_and_distinct_per_task_instance() -> None:
    first = derived_name("Dataset_Vol", "dag/run-1/snap/-1")
    assert first == derived_name("Dataset_Vol", "dag/run-1/snap/-1")
    assert first != derived_name("Dataset_Vol", "dag/run-1/snap/0")
    assert first.startswith("dataset-vol-")
    long = derived_name("x" * 300, "dag/run/task/-1")
    assert len(long) <= 63
    assert check_name(long, "name") == long
