"""``derived_from``: a snapshot names the snapshots its data came from, on the object and in its result."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from airflow.sdk import DAG, dag, task

from netapp_dataops_airflow.operators.kubernetes import VolumeSnapshotOperator
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim, kinds
from netapp_dataops_airflow.testing import run_dag
from tests.helpers.kubernetes import snapshot_body

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(120)]

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
ANNOTATION = "dataops.netapp.io/derived-from"


def annotations(sim: KubernetesSimulator, name: str) -> dict[str, str]:
    snapshot = sim.backend.find(kinds.SNAPSHOTS, "default", name)
    assert snapshot is not None, name
    return dict(snapshot["metadata"].get("annotations", {}))


def test_a_model_snapshot_names_the_dataset_snapshot_it_was_trained_from(
    seeded_kubernetes: KubernetesSimulator,
) -> None:
    seeded_kubernetes.backend.seed(*bound_claim("model"))

    @dag(dag_id="k8s_derived_from", schedule=None, start_date=START)
    def pipeline() -> None:
        @task.netapp_snapshot
        def dataset_snapshot() -> dict[str, str]:
            return {"pvc": "data", "snapshot": "dataset-snap"}

        @task.netapp_snapshot
        def model_snapshot(dataset: dict[str, Any]) -> dict[str, Any]:
            return {"pvc": "model", "snapshot": "model-snap", "derived_from": dataset}

        model_snapshot(dataset_snapshot())

    result = run_dag(pipeline())
    assert result.state == "success", result.log_text
    assert result.xcom("model_snapshot")["derived_from"] == [{"namespace": "default", "name": "dataset-snap"}]
    assert result.xcom("dataset_snapshot")["derived_from"] == []
    assert annotations(seeded_kubernetes, "model-snap")[ANNOTATION] == "default/dataset-snap"
    assert ANNOTATION not in annotations(seeded_kubernetes, "dataset-snap")


def test_the_operator_takes_names_and_an_xcom_arg(seeded_kubernetes: KubernetesSimulator) -> None:
    with DAG("k8s_derived_from_operator", schedule=None, start_date=START) as pipeline:
        first = VolumeSnapshotOperator(task_id="first", pvc="data", snapshot="first-snap")
        VolumeSnapshotOperator(
            task_id="second",
            pvc="data",
            snapshot="second-snap",
            # the templated "{{ ... }}" name, a plain name (this namespace) and a duplicate
            derived_from=[first.output, "{{ 'ml' }}/raw-snap", "first-snap"],
        )

    result = run_dag(pipeline)
    assert result.state == "success", result.log_text
    expected = [{"namespace": "default", "name": "first-snap"}, {"namespace": "ml", "name": "raw-snap"}]
    assert result.xcom("second")["derived_from"] == expected
    assert annotations(seeded_kubernetes, "second-snap")[ANNOTATION] == "default/first-snap,ml/raw-snap"


def test_an_existing_snapshot_derived_from_something_else_is_not_adopted(
    seeded_kubernetes: KubernetesSimulator,
) -> None:
    existing = snapshot_body("model-snap", "data", namespace="default")
    existing["metadata"]["annotations"] = {ANNOTATION: "default/old-dataset"}
    seeded_kubernetes.backend.seed(existing)
    with DAG("k8s_derived_from_adoption", schedule=None, start_date=START) as pipeline:
        VolumeSnapshotOperator(task_id="t", pvc="data", snapshot="model-snap", derived_from="new-dataset")

    result = run_dag(pipeline)
    assert result.task_states == {"t": "failed"}
    assert "derived-from is 'default/old-dataset', not 'default/new-dataset'" in result.log_text
    assert annotations(seeded_kubernetes, "model-snap")[ANNOTATION] == "default/old-dataset"
