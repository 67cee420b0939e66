"""Reading and validating Kubernetes names, labels and quantities, and naming objects per task."""

from __future__ import annotations

import pytest

from netapp_dataops_airflow.clients.kubernetes_objects import check_labels, check_name, parse_quantity
from netapp_dataops_airflow.exceptions import InvalidInputError
from netapp_dataops_airflow.operators.kubernetes import derived_name


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1Gi", 2**30),
        ("500Mi", 500 * 2**20),
        ("1G", 10**9),
        ("1.5Gi", 3 * 2**29),
        ("1e9", 10**9),
        (1024, 1024),
    ],
)
def test_quantities(text: str | int, size: int) -> None:
    assert parse_quantity(text) == size


@pytest.mark.parametrize("text", ["", "lots", "1GiB", "-1Gi", "1 Gi", None])
def test_malformed_quantities_name_the_value(text: object) -> None:
    with pytest.raises(InvalidInputError, match="is not a storage quantity"):
        parse_quantity(text)


@pytest.mark.parametrize("name", ["data", "data-1", "a.b-c", "x" * 253])
def test_valid_names(name: str) -> None:
    assert check_name(name, "pvc") == name


@pytest.mark.parametrize("name", ["Data", "-data", "data-", "da_ta", "x" * 254, "", 7])
def test_invalid_names_explain_the_rule(name: object) -> None:
    with pytest.raises(InvalidInputError, match="pvc"):
        check_name(name, "pvc")


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


def test_derived_names_are_valid_stable_and_distinct_per_task_instance() -> None:
    first = derived_name("Dataset_Vol", "dag/run-1/snap/-1")
    assert first == derived_name("Dataset_Vol", "dag/run-1/snap/-1")
    assert first != derived_name("Dataset_Vol", "dag/run-1/snap/0")
    assert first.startswith("dataset-vol-")
    long = derived_name("x" * 300, "dag/run/task/-1")
    assert len(long) <= 63
    assert check_name(long, "name") == long
