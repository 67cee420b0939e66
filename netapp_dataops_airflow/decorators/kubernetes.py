"""``@task.netapp_snapshot`` and ``@task.netapp_clone``: the function says what to snapshot or clone.

.. code-block:: python

    @task.netapp_snapshot(namespace="airflow")
    def dataset_snapshot(run_id: str):
        return {"pvc": "dataset-vol", "snapshot": f"dataset-{run_id}"}  # or just "dataset-vol"

    @task.netapp_clone(namespace="airflow")
    def workspace(snap: dict):
        return {"source_snapshot": snap["name"], "new_pvc": "ws-clone"}  # or source_pvc=...

Decorator arguments are the operator's parameters (:class:`VolumeSnapshotOperator`,
:class:`CloneVolumeOperator`); a returned dict may set any of them except ``kubernetes_conn_id`` and
``cancel_on_kill`` (see :mod:`netapp_dataops_airflow.decorators.base`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from airflow.providers.common.compat.sdk import TaskDecorator, task_decorator_factory

from netapp_dataops_airflow.decorators.base import SpecDecoratedOperator
from netapp_dataops_airflow.operators.kubernetes import CloneVolumeOperator, VolumeSnapshotOperator


class _SnapshotDecoratedOperator(SpecDecoratedOperator, VolumeSnapshotOperator):
    """The function returns the PVC to snapshot, or a dict of snapshot parameters."""

    template_fields: Sequence[str] = (
        *SpecDecoratedOperator.template_fields,
        *VolumeSnapshotOperator.template_fields,
    )
    custom_operator_name = "@task.netapp_snapshot"
    spec_default_field = "pvc"


class _CloneDecoratedOperator(SpecDecoratedOperator, CloneVolumeOperator):
    """The function returns the PVC to clone, or a dict of clone parameters."""

    template_fields: Sequence[str] = (
        *SpecDecoratedOperator.template_fields,
        *CloneVolumeOperator.template_fields,
    )
    custom_operator_name = "@task.netapp_clone"
    spec_default_field = "source_pvc"


def snapshot_task(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> TaskDecorator:
    """Wrap a function returning a PVC name (or snapshot parameters) into a deferrable snapshot task."""
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=False,  # the function returns a spec, not outputs to split
        decorated_operator_class=_SnapshotDecoratedOperator,
        **kwargs,
    )


def clone_task(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> TaskDecorator:
    """Wrap a function returning a source PVC (or clone parameters) into a deferrable clone task."""
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=False,
        decorated_operator_class=_CloneDecoratedOperator,
        **kwargs,
    )
