"""Snapshot and clone tasks record asset events for the PVCs they captured or made, and OpenLineage facets."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG, Asset, AssetAlias, dag, task

from netapp_dataops_airflow.exceptions import InvalidInputError
from netapp_dataops_airflow.operators.kubernetes import CloneVolumeOperator, VolumeSnapshotOperator
from netapp_dataops_airflow.operators.lineage import FACET_SCHEMA_URL, PROJECT_URL
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim
from netapp_dataops_airflow.testing import run_dag
from tests.helpers.lineage import asset_events, completed, openlineage_to_file

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


def test_openlineage_events_name_the_pvcs_and_snapshots(
    seeded_kubernetes: KubernetesSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded_kubernetes.backend.seed(*bound_claim("model"))
    with DAG("k8s_openlineage", schedule=None, start_date=START) as pipeline:
        dataset = VolumeSnapshotOperator(task_id="dataset", pvc="data", snapshot="dataset-snap")
        model = VolumeSnapshotOperator(
            task_id="model", pvc="model", snapshot="model-snap", derived_from=dataset.output
        )
        clone = CloneVolumeOperator(task_id="clone", source_snapshot="dataset-snap", new_pvc="ws")
        dataset >> [model, clone]

    with openlineage_to_file(tmp_path / "events.jsonl", monkeypatch) as events:
        result = run_dag(pipeline)
        emitted = events()
    assert result.state == "success", result.log_text

    namespace = cluster(seeded_kubernetes)
    model_event = completed(emitted, "k8s_openlineage.model")
    assert [(d.namespace, d.name) for d in model_event.inputs] == [
        (namespace, "default/persistentvolumeclaims/model"),
        (namespace, "default/volumesnapshots/dataset-snap"),
    ]
    assert [(d.namespace, d.name) for d in model_event.outputs] == [
        (namespace, "default/volumesnapshots/model-snap")
    ]
    facet = model_event.run.facets["netapp_dataops"]
    assert facet["operation"] == "volume_snapshot"
    assert facet["facts"] == result.xcom("model")
    assert facet["_producer"].startswith(f"{PROJECT_URL}/tree/")
    assert facet["_schemaURL"] == FACET_SCHEMA_URL

    dataset_event = completed(emitted, "k8s_openlineage.dataset")
    assert [d.name for d in dataset_event.outputs] == ["default/volumesnapshots/dataset-snap"]
    # the model's input is the dataset task's output: the two runs join in a lineage graph
    assert (dataset_event.outputs[0].namespace, dataset_event.outputs[0].name) == (
        model_event.inputs[1].namespace,
        model_event.inputs[1].name,
    )
    clone_event = completed(emitted, "k8s_openlineage.clone")
    assert [d.name for d in clone_event.inputs] == ["default/volumesnapshots/dataset-snap"]
    assert [d.name for d in clone_event.outputs] == ["default/persistentvolumeclaims/ws"]
    assert clone_event.run.facets["netapp_dataops"]["operation"] == "volume_clone"


class UntellingSnapshotOperator(VolumeSnapshotOperator):
    """A snapshot operator whose lineage cannot be worked out (a user's subclass with a bug, say)."""

    def lineage_of(self, result: Any) -> Any:
        raise KeyError("source_pvc")


def test_a_lineage_problem_is_a_warning_never_a_failed_snapshot(
    seeded_kubernetes: KubernetesSimulator,
) -> None:
    with DAG("k8s_lineage_problem", schedule=None, start_date=START) as pipeline:
        UntellingSnapshotOperator(task_id="snap", pvc="data", snapshot="kept")

    result = run_dag(pipeline)
    assert result.task_states == {"snap": "success"}, result.log_text
    assert result.xcom("snap")["name"] == "kept"
    assert "Could not record the lineage of snap: 'source_pvc'" in result.log_text
    assert asset_events(result.dag_id, result.run_id) == []


def test_mapped_snapshots_record_one_event_per_pvc(seeded_kubernetes: KubernetesSimulator) -> None:
    seeded_kubernetes.backend.seed(*bound_claim("model"))
    with DAG("k8s_asset_events_mapped", schedule=None, start_date=START) as pipeline:
        VolumeSnapshotOperator.partial(task_id="snap").expand(pvc=["data", "model"])

    result = run_dag(pipeline)
    assert result.state == "success", result.log_text
    pvcs = f"{cluster(seeded_kubernetes)}/default/persistentvolumeclaims"
    events = asset_events(result.dag_id, result.run_id)
    assert sorted(event.uri for event in events) == [f"{pvcs}/data", f"{pvcs}/model"]
    assert {event.extra["source_pvc"] for event in events} == {"data", "model"}
    assert {event.aliases for event in events} == {("netapp-dataops:k8s_asset_events_mapped.snap",)}


def test_a_bad_asset_events_value_is_refused_when_the_task_is_defined() -> None:
    with pytest.raises(InvalidInputError, match="asset_events") as refused:
        CloneVolumeOperator(task_id="odd", source_pvc="data", new_pvc="c", asset_events="sometimes")  # type: ignore[arg-type]
    assert "sometimes" in str(refused.value)
