"""A Cloud Sync sync records an asset event for its target, and OpenLineage facets."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk import DAG

from netapp_dataops_airflow.operators.cloud_sync import CloudSyncOperator
from netapp_dataops_airflow.simulators.cloud_sync import CloudSyncSimulator
from netapp_dataops_airflow.testing import run_dag
from tests.helpers.cloud_sync import CONN_ID, NFS, S3
from tests.helpers.lineage import asset_events, completed, openlineage_to_file

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_the_target_gets_an_asset_event_and_the_sync_a_run_facet(
    cloud_sync: CloudSyncSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud_sync.backend.set_sync_settings(pending_seconds=0.2, duration=0.5, stale_seconds=0.3)
    rel = cloud_sync.backend.add_relationship(NFS, S3, files=42)
    with DAG("cloud_sync_lineage", schedule=None) as pipeline:
        CloudSyncOperator(task_id="sync", relationship_id=rel.id, cloud_sync_conn_id=CONN_ID, poll_interval=1)

    with openlineage_to_file(tmp_path / "events.jsonl", monkeypatch) as events:
        result = run_dag(pipeline)
        emitted = events()
    assert result.state == "success", result.log_text

    sync = result.xcom("sync")
    [event] = asset_events(result.dag_id, result.run_id)
    assert event.uri == "s3://lake/raw"
    assert event.extra == {"operation": "cloud_sync", **sync}

    run = completed(emitted, "cloud_sync_lineage.sync")
    assert [(d.namespace, d.name) for d in run.inputs] == [("nfs://10.0.0.5", "data/in")]
    assert [(d.namespace, d.name) for d in run.outputs] == [("s3://lake", "raw")]
    facet = run.run.facets["netapp_dataops"]
    assert (facet["operation"], facet["facts"]["files_copied"]) == ("cloud_sync", 42)
