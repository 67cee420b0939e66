"""Whole DAGs through Airflow's ``dag.test()``: the decorator and the operator against the simulator."""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.sdk import dag, task

from netapp_dataops_airflow.operators.cloud_sync import CloudSyncOperator
from netapp_dataops_airflow.simulators.cloud_sync import CloudSyncSimulator
from netapp_dataops_airflow.testing import run_dag
from tests.helpers.cloud_sync import CONN_ID, NFS, S3

pytestmark = pytest.mark.usefixtures("airflow_db")


@pytest.fixture
def service(cloud_sync: CloudSyncSimulator) -> CloudSyncSimulator:
    """The simulated service, reachable as ``CONN_ID``; syncs take a moment of real time."""
    cloud_sync.backend.set_sync_settings(pending_seconds=0.2, duration=0.5, stale_seconds=0.3)
    return cloud_sync


def test_decorated_task_syncs_and_passes_the_result_on(service: CloudSyncSimulator) -> None:
    rel = service.backend.add_relationship(NFS, S3, files=42)
    seen: list[dict[str, Any]] = []

    @dag(dag_id="cloud_sync_decorator_success", schedule=None)
    def pipeline() -> None:
        @task.netapp_cloud_sync(cloud_sync_conn_id=CONN_ID, poll_interval=1)
        def refresh() -> str:
            return rel.id

        @task
        def report(sync: dict[str, Any]) -> None:
            seen.append(sync)

        report(refresh())

    result = run_dag(pipeline())

    assert result.state == "success", result.log_text
    assert result.task_states == {"refresh": "success", "report": "success"}
    sync = result.xcom("refresh")
    assert (sync["relationship_id"], sync["status"], sync["files_copied"], sync["adopted"]) == (
        rel.id,
        "DONE",
        42,
        False,
    )
    assert seen == [sync]
    assert [a.status for a in service.backend.relationship(rel.id).activities] == ["DONE", "DONE"]
    assert service.refresh_token not in result.log_text + json.dumps(sync)


def test_decorated_task_with_a_dict_spec(service: CloudSyncSimulator) -> None:
    service.backend.set_sync_settings(failed_files=2)
    rel = service.backend.add_relationship(NFS, S3, files=10)

    @dag(dag_id="cloud_sync_decorator_spec", schedule=None)
    def pipeline() -> None:
        @task.netapp_cloud_sync(cloud_sync_conn_id=CONN_ID)
        def refresh() -> dict[str, Any]:
            return {"relationship_id": rel.id, "on_failed_files": "warn", "poll_interval": 1}

        refresh()

    result = run_dag(pipeline())
    assert result.state == "success", result.log_text
    assert result.xcom("refresh")["files_failed"] == 2
    assert "2 files failed to copy" in result.log_text


def test_operator_dag_failure_reports_cloud_syncs_message(service: CloudSyncSimulator) -> None:
    service.backend.set_sync_settings(outcome="FAILED", failure_message="the data broker is offline")
    rel = service.backend.add_relationship(NFS, S3)

    @dag(dag_id="cloud_sync_operator_failure", schedule=None)
    def pipeline() -> None:
        CloudSyncOperator(task_id="sync", relationship_id=rel.id, cloud_sync_conn_id=CONN_ID, poll_interval=1)

    result = run_dag(pipeline())
    assert result.state == "failed"
    assert result.task_states == {"sync": "failed"}
    assert "the data broker is offline" in result.log_text


def test_a_bad_spec_is_refused_before_starting(service: CloudSyncSimulator) -> None:
    @dag(dag_id="cloud_sync_decorator_bad_spec", schedule=None)
    def pipeline() -> None:
        @task.netapp_cloud_sync(cloud_sync_conn_id=CONN_ID)
        def refresh() -> dict[str, Any]:
            return {"relationship_id": "a" * 24, "cloud_sync_conn_id": "elsewhere"}

        refresh()

    result = run_dag(pipeline())
    assert result.state == "failed"
    assert "cloud_sync_conn_id" in result.log_text
    assert service.backend.requests_matching("PUT") == []
