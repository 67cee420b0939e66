"""``@task.netapp_snapmirror``: the function says which relationship to update; the task updates it.

::

    @task.netapp_snapmirror(ontap_conn_id="ontap_dr")
    def replicate(volume: str) -> str:
        return f"svm_dr:{volume}_dst"  # or a relationship UUID, or a dict (see below)

The function returns the relationship (its UUID or destination path ``svm:volume``) or a dict with
``relationship`` and optionally ``source_snapshot``, ``throttle``, ``poll_interval`` or ``deadline``
(not ``ontap_conn_id`` nor ``cancel_on_kill``: see :mod:`netapp_dataops_airflow.decorators.base`).
The task then behaves like :class:`~netapp_dataops_airflow.operators.snapmirror.SnapMirrorUpdateOperator`:
it starts (or adopts) the transfer, defers, and returns the transfer's result as its XCom.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from airflow.providers.common.compat.sdk import TaskDecorator, task_decorator_factory

from netapp_dataops_airflow.decorators.base import SpecDecoratedOperator
from netapp_dataops_airflow.operators.snapmirror import SnapMirrorUpdateOperator


class SnapMirrorDecoratedOperator(SpecDecoratedOperator, SnapMirrorUpdateOperator):
    """Run the decorated function for the relationship to update, then update it."""

    template_fields: Sequence[str] = (
        *SpecDecoratedOperator.template_fields,
        *SnapMirrorUpdateOperator.template_fields,
    )
    custom_operator_name = "@task.netapp_snapmirror"
    spec_default_field: ClassVar[str] = "relationship"

    def __init__(self, *, python_callable: Callable[..., Any], **kwargs: Any) -> None:
        # The relationship comes from the function at run time; the operator needs a placeholder.
        kwargs.setdefault("relationship", "")
        super().__init__(python_callable=python_callable, **kwargs)


def snapmirror_task(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> TaskDecorator:
    """Make a function a SnapMirror update task: it returns the relationship to update.

    Keyword arguments are those of
    :class:`~netapp_dataops_airflow.operators.snapmirror.SnapMirrorUpdateOperator` (except
    ``relationship``, which the function returns) and of any Airflow task.
    """
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=False,
        decorated_operator_class=SnapMirrorDecoratedOperator,
        **kwargs,
    )
