"""Replicate data with SnapMirror: update an existing relationship and report the transfer.

Replaces the DataOps Toolkit's ``replicate_data_snapmirror`` example. Its task installed the
toolkit at run time, wrote the ONTAP password to a file and held a worker until the transfer ended;
here the update is started over ONTAP's REST API and waited for in the triggerer.

Connection: ``ontap_conn_id`` (default ``ontap_default``), a ``netapp_ontap`` connection to the
**destination** cluster (an ``http`` one made for the toolkit's example works too).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task


@dag(
    dag_id="replicate_data_snapmirror",
    schedule=None,
    tags=["netapp", "example", "data-movement"],
    params={
        "relationship": Param(
            "svm_dr:dataset_dst",
            type="string",
            minLength=1,
            description="The SnapMirror relationship to update: its destination path svm:volume or its UUID.",
        ),
        "ontap_conn_id": Param(
            "ontap_default",
            type="string",
            description="Airflow connection (netapp_ontap) to the destination ONTAP cluster.",
        ),
    },
)
def replicate_data_snapmirror() -> None:
    """Update a SnapMirror relationship, then log what the transfer moved."""

    # The connection is a decorator argument (templated), because the task reads it again when it
    # resumes in the triggerer's wake; everything else comes from the function.
    @task.netapp_snapmirror(ontap_conn_id="{{ params.ontap_conn_id }}")
    def sync(params: dict[str, Any]) -> str:
        return str(params["relationship"])

    @task
    def report(transfer: dict[str, Any]) -> None:
        print(
            f"SnapMirror {transfer['source_path']} -> {transfer['destination_path']}: "
            f"{transfer['bytes_transferred']} bytes, snapshot {transfer['snapshot']}"
        )

    report(sync())


replicate_data_snapmirror()
