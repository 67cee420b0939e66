"""The shipped ``replicate_data_cloud_sync`` example, run with ``dag.test()`` against the simulator."""

from __future__ import annotations

import pytest

from netapp_dataops_airflow.example_dags.replicate_data_cloud_sync import replicate_data_cloud_sync
from netapp_dataops_airflow.simulators.cloud_sync import CloudSyncSimulator
from netapp_dataops_airflow.testing import run_dag
from tests.helpers.cloud_sync import NFS, S3
from tests.helpers.example_dags import polling_every_second

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(120)]

DEFAULT_RELATIONSHIP = "5fe2a6c597a18907ade906a4"  # the example's default, as in the toolkit's


@pytest.fixture
def service(cloud_sync_simulator: CloudSyncSimulator, cloud_sync_connection: str) -> CloudSyncSimulator:
    """The simulated service as ``cloud_sync_default``; syncs take a moment of real time."""
    cloud_sync_simulator.backend.set_sync_settings(pending_seconds=0.2, duration=0.5, stale_seconds=0.3)
    return cloud_sync_simulator


def syncs_requested(service: CloudSyncSimulator, relationship_id: str) -> list[str]:
    return service.backend.requests_matching("PUT", f"/api/relationships/{relationship_id}/sync")


def test_the_defaults_sync_the_relationship_once(
    service: CloudSyncSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    service.backend.add_relationship(NFS, S3, id=DEFAULT_RELATIONSHIP, files=42)

    result = run_dag(polling_every_second(replicate_data_cloud_sync()))

    assert result.state == "success", result.log_text
    assert result.task_states == {"sync": "success", "report": "success"}
    sync = result.xcom("sync")
    assert (sync["relationship_id"], sync["status"], sync["files_copied"]) == (
        DEFAULT_RELATIONSHIP,
        "DONE",
        42,
    )
    assert len(syncs_requested(service, DEFAULT_RELATIONSHIP)) == 1
    assert f"Cloud Sync {DEFAULT_RELATIONSHIP}: 42 files" in capsys.readouterr().out
    assert service.refresh_token not in result.log_text + result.trigger_kwargs.get("sync", "")


def test_failed_files_only_warn_when_the_param_says_so(service: CloudSyncSimulator) -> None:
    service.backend.set_sync_settings(failed_files=2)
    rel = service.backend.add_relationship(NFS, S3, files=10)
    conf = {"relationship_id": rel.id}

    # A DAG object per run, as Airflow builds one per run: dag.test() runs the tasks on the object
    # itself, and a run can leave its values there.
    warned = run_dag(
        polling_every_second(replicate_data_cloud_sync()), run_conf={**conf, "on_failed_files": "warn"}
    )
    failed = run_dag(polling_every_second(replicate_data_cloud_sync()), run_conf=conf)

    assert warned.state == "success", warned.log_text
    assert warned.xcom("sync")["files_failed"] == 2
    assert failed.task_states == {"sync": "failed", "report": "upstream_failed"}
    assert "2 files failed to copy" in failed.log_text
    assert len(syncs_requested(service, rel.id)) == 2
