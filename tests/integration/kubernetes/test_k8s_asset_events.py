"""Snapshot and clone tasks record Airflow asset events for the PVCs whose data they captured or made."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from airflow.sdk import DAG, Asset, AssetAlias, dag, task

from netapp_dataops_airflow.operators.kubernetes import CloneVolumeOperator, VolumeSnapshotOperator
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim
from netapp_dataops_airflow.testing import run_dag
from tests.helpers.lineage import asset_events

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(120)]

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def cluster(sim: KubernetesSimulator) -> str:
    return f"kubernetes://127.0.0.1:{sim.port}"


def test_a_snapshot_and_a_clone_record_events_for_their_pvcs(seeded_kubernetes: KubernetesSimulator) -> None:
    seeded_kubernetes.backend.seed(*bound_claim("model"))

    @dag(dag_id="k8s_asset_events", schedule=None, start_date=START)
    def pipeline() -> None:
        @task.netapp_snapshot
        def dataset_snapshot() -> dict[str, str]:
            return {"pvc": "data", "snapshot": "dataset-snap"}

        @task.netapp_snapshot
        def model_snapshot(dataset: dict[str, Any]) -> dict[str, Any]:
            return {"pvc": "model", "snapshot": "model-snap", "derived_from": dataset}

        @task.netapp_clone
        def workspace(snap: dict[str, Any]) -> dict[str, str]:
            return {"source_snapshot": snap["name"], "new_pvc": "ws-clone"}

        snap = dataset_snapshot()
        model_snapshot(snap)
        workspace(snap)

    result = run_dag(pipeline())
    assert result.state == "success", result.log_text
    pvcs = f"{cluster(seeded_kubernetes)}/default/persistentvolumeclaims"
    events = {event.task_id: event for event in asset_events(result.dag_id, result.run_id)}
    assert set(events) == {"dataset_snapshot", "model_snapshot", "workspace"}

    model = events["model_snapshot"]
    assert model.uri == f"{pvcs}/model"
    assert model.aliases == ("netapp-dataops:k8s_asset_events.model_snapshot",)
    snapshot = result.xcom("model_snapshot")
    assert model.extra == {"operation": "volume_snapshot", **snapshot}
    assert model.extra["derived_from"] == [{"namespace": "default", "name": "dataset-snap"}]
    assert model.extra["snapshot_handle"]
    assert model.extra["restore_size"] == "1Gi"

    assert events["dataset_snapshot"].uri == f"{pvcs}/data"
    assert events["dataset_snapshot"].extra["name"] == "dataset-snap"
    clone = events["workspace"]
    assert clone.uri == f"{pvcs}/ws-clone"
    assert (clone.extra["operation"], clone.extra["source_name"]) == ("volume_clone", "dataset-snap")


def test_own_outlets_get_the_events_and_asset_events_false_records_none(
    seeded_kubernetes: KubernetesSimulator,
) -> None:
    pvc_uri = f"{cluster(seeded_kubernetes)}/default/persistentvolumeclaims/data"
    with DAG("k8s_asset_outlets", schedule=None, start_date=START) as pipeline:
        VolumeSnapshotOperator(task_id="aliased", pvc="data", outlets=[AssetAlias("training-data")])
        VolumeSnapshotOperator(task_id="named", pvc="data", outlets=[Asset(pvc_uri)])
        CloneVolumeOperator(task_id="quiet", source_pvc="data", new_pvc="quiet-clone", asset_events=False)

    result = run_dag(pipeline)
    assert result.state == "success", result.log_text
    events = {event.task_id: event for event in asset_events(result.dag_id, result.run_id)}
    assert set(events) == {"aliased", "named"}
    assert (events["aliased"].uri, events["aliased"].aliases) == (pvc_uri, ("training-data",))
    assert events["named"].extra == {"operation": "volume_snapshot", **result.xcom("named")}
    assert events["named"].aliases == ()
