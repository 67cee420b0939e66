"""The keys a decorated function may return come from the operator's signature, not a hand-kept list."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from airflow.sdk import BaseOperator

from netapp_dataops_airflow.decorators.base import SpecDecoratedOperator, spec_parameters
from netapp_dataops_airflow.decorators.kubernetes import _CloneDecoratedOperator, _SnapshotDecoratedOperator
from netapp_dataops_airflow.decorators.snapmirror import SnapMirrorDecoratedOperator
from netapp_dataops_airflow.operators.kubernetes import VolumeSnapshotOperator

# Read again on resume, where the function's answer is gone: decorator arguments only.
NEVER_IN_A_SPEC = {"cancel_on_kill", "kubernetes_conn_id", "ontap_conn_id"}


class TieredSnapshotOperator(VolumeSnapshotOperator):
    """An operator that grows a parameter: its decorator must accept it without being told."""

    def __init__(self, *, tier: str = "gold", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tier = tier


class _TieredDecoratedOperator(SpecDecoratedOperator, TieredSnapshotOperator):
    spec_default_field = "pvc"


def test_a_new_operator_parameter_is_a_spec_key_at_once() -> None:
    assert _TieredDecoratedOperator.spec_fields[0] == "tier"
    assert set(_TieredDecoratedOperator.spec_fields) == {"tier", *_SnapshotDecoratedOperator.spec_fields}


@pytest.mark.parametrize(
    ("decorated", "expected"),
    [
        (
            _SnapshotDecoratedOperator,
            {
                "pvc",
                "snapshot",
                "volume_snapshot_class",
                "derived_from",
                "namespace",
                "labels",
                "failure_grace_period",
                "deadline",
            },
        ),
        (
            _CloneDecoratedOperator,
            {
                "new_pvc",
                "source_pvc",
                "source_snapshot",
                "storage_class",
                "size",
                "access_modes",
                "clone_method",
                "namespace",
                "labels",
                "failure_grace_period",
                "deadline",
            },
        ),
        (
            SnapMirrorDecoratedOperator,
            {"relationship", "source_snapshot", "throttle", "poll_interval", "deadline"},
        ),
    ],
)
def test_spec_keys_are_the_operators_parameters_but_not_the_task_settings(
    decorated: type[SpecDecoratedOperator], expected: set[str]
) -> None:
    assert set(decorated.spec_fields) == expected
    assert decorated.spec_fields == spec_parameters(decorated)
    task_settings = set(inspect.signature(BaseOperator.__init__).parameters)
    decorator_settings = set(inspect.signature(SpecDecoratedOperator.__init__).parameters)
    assert not set(decorated.spec_fields) & (task_settings | decorator_settings | NEVER_IN_A_SPEC)


def test_a_default_field_that_is_no_parameter_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="spec_default_field 'pvcs' is not one of the operator's parameters"):

        class _Broken(SpecDecoratedOperator, VolumeSnapshotOperator):
            spec_default_field = "pvcs"
