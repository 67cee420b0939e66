"""Replicate data with Cloud Sync: sync an existing relationship and report what it copied.

Replaces the DataOps Toolkit's ``replicate_data_cloud_sync`` example. Its task installed the
toolkit at run time, wrote the refresh token to a file and held a worker while Cloud Sync copied;
here the sync is requested over the Cloud Sync API and waited for in the triggerer.

Connection: ``cloud_sync_conn_id`` (default ``cloud_sync_default``), a ``netapp_cloud_sync``
connection whose password is the refresh token (an ``http`` one made for the toolkit's example
works too). ``python -m netapp_dataops_airflow relationships --conn-id ID`` lists relationship ids.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task


@dag(
    dag_id="replicate_data_cloud_sync",
    schedule=None,
    tags=["netapp", "example", "data-movement"],
    params={
        "relationship_id": Param(
            "5fe2a6c597a18907ade906a4",
            type="string",
            pattern="^[0-9a-fA-F]{24}$",
            description="The Cloud Sync relationship to sync (24 hex digits, as the Cloud Sync UI shows it).",
        ),
        "on_failed_files": Param(
            "fail",
            enum=["fail", "warn"],
            description="A sync that ends with failed files: fail the task, or only warn in its log.",
        ),
        "cloud_sync_conn_id": Param(
            "cloud_sync_default",
            type="string",
            description="Airflow connection (netapp_cloud_sync) holding the Cloud Sync refresh token.",
        ),
    },
)
def replicate_data_cloud_sync() -> None:
    """Sync a Cloud Sync relationship, then log what the sync copied."""

    # The connection is a decorator argument (templated), because the task reads it again when it
    # resumes; the function says what to sync.
    @task.netapp_cloud_sync(cloud_sync_conn_id="{{ params.cloud_sync_conn_id }}")
    def sync(params: dict[str, Any]) -> dict[str, Any]:
        return {"relationship_id": params["relationship_id"], "on_failed_files": params["on_failed_files"]}

    @task
    def report(result: dict[str, Any]) -> None:
        print(
            f"Cloud Sync {result['relationship_id']}: {result['files_copied']} files, "
            f"{result['bytes_copied']} bytes copied, {result['files_failed']} failed"
        )

    report(sync())


replicate_data_cloud_sync()
