"""``@task.netapp_cloud_sync``: the function says which relationship to sync; the task syncs it.

::

    @task.netapp_cloud_sync(cloud_sync_conn_id="cloud_sync")
    def refresh_lake() -> str:
        return "5f0b7a0e2c4d1e0012345678"  # a relationship id, or a dict (see below)

The function returns the relationship id, or a dict with ``relationship_id`` and optionally
``adopt_running``, ``on_failed_files``, ``poll_interval`` or ``deadline`` (not
``cloud_sync_conn_id`` nor ``cancel_on_kill``: see :mod:`netapp_dataops_airflow.decorators.base`).
The task then behaves like :class:`~netapp_dataops_airflow.operators.cloud_sync.CloudSyncOperator`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from airflow.providers.common.compat.sdk import TaskDecorator, task_decorator_factory

from netapp_dataops_airflow.decorators.base import SpecDecoratedOperator
from netapp_dataops_airflow.operators.cloud_sync import CloudSyncOperator


class CloudSyncDecoratedOperator(SpecDecoratedOperator, CloudSyncOperator):
    """Run the decorated function for the relationship to sync, then sync it."""

    template_fields: Sequence[str] = (
        *SpecDecoratedOperator.template_fields,
        *CloudSyncOperator.template_fields,
    )
    custom_operator_name = "@task.netapp_cloud_sync"
    spec_default_field: ClassVar[str] = "relationship_id"

    def __init__(self, *, python_callable: Callable[..., Any], **kwargs: Any) -> None:
        # The relationship comes from the function at run time; the operator needs a placeholder.
        kwargs.setdefault("relationship_id", "")
        super().__init__(python_callable=python_callable, **kwargs)


def cloud_sync_task(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> TaskDecorator:
    """Make a function a Cloud Sync task: it returns the relationship id to sync.

    Keyword arguments are those of :class:`~netapp_dataops_airflow.operators.cloud_sync.CloudSyncOperator`
    (except ``relationship_id``, which the function returns) and of any Airflow task.
    """
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=False,
        decorated_operator_class=CloudSyncDecoratedOperator,
        **kwargs,
    )
