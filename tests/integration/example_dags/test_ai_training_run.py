"""The shipped ``ai_training_run`` example, run with ``dag.test()`` against the Kubernetes simulator.

Its three steps are ``KubernetesPodOperator(deferrable=True)`` pods, which the simulator runs (no
image runs: a container prints its arguments and exits 0); its two snapshots are VolumeSnapshots.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from netapp_dataops_airflow.example_dags.ai_training_run import ai_training_run
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim, kinds
from netapp_dataops_airflow.testing import run_dag
from tests.helpers.connections import kubernetes_fields
from tests.helpers.example_dags import keeping_pods, polling_every_second
from tests.helpers.lineage import asset_events

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(180)]

STEPS = ("data_prep", "train", "validate")


@pytest.fixture
def cluster(
    kubernetes_simulator: KubernetesSimulator, kubeconfig_path: Path, airflow_connection: Callable[..., str]
) -> KubernetesSimulator:
    """The simulator with the example's dataset and model PVCs, as ``kubernetes_default``; quick pods."""
    kubernetes_simulator.backend.seed(
        *bound_claim("dataset-vol", size="5Gi"), *bound_claim("airflow-model-vol")
    )
    kubernetes_simulator.backend.pods.defaults.update(duration_seconds=0.3)
    airflow_connection("kubernetes_default", **kubernetes_fields(kubeconfig_path))
    return kubernetes_simulator


def pods(cluster: KubernetesSimulator) -> dict[str, dict[str, Any]]:
    """The pods by step (the operator names them ``ai-training-run-<step>-<random suffix>``)."""
    found = {}
    for pod in cluster.backend.objects(kinds.PODS, "default"):
        name = pod["metadata"]["name"]
        found.update(
            {step: pod for step in STEPS if name.startswith(f"ai-training-run-{step.replace('_', '-')}-")}
        )
    return found


def test_the_run_trains_between_snapshots_and_the_model_snapshot_names_the_dataset_one(
    cluster: KubernetesSimulator,
) -> None:
    dag = keeping_pods(polling_every_second(ai_training_run()))
    result = run_dag(
        dag,
        run_conf={
            "train_command": ["python", "train.py", "--epochs", "3"],
            "train_resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
        },
    )

    assert result.state == "success", result.log_text
    assert result.task_states == dict.fromkeys(
        ("data_prep", "dataset_snapshot", "train", "model_snapshot", "validate"), "success"
    )
    dataset, model = result.xcom("dataset_snapshot"), result.xcom("model_snapshot")
    assert (dataset["source_pvc"], dataset["ready_to_use"]) == ("dataset-vol", True)
    assert (model["source_pvc"], model["ready_to_use"]) == ("airflow-model-vol", True)
    assert model["derived_from"] == [{"namespace": "default", "name": dataset["name"]}]
    events = {event.task_id: event for event in asset_events(result.dag_id, result.run_id)}
    assert events["dataset_snapshot"].uri.endswith("/default/persistentvolumeclaims/dataset-vol")
    assert events["model_snapshot"].uri.endswith("/default/persistentvolumeclaims/airflow-model-vol")
    assert events["model_snapshot"].extra["derived_from"] == model["derived_from"]

    by_step = pods(cluster)
    assert set(by_step) == set(STEPS)
    for step, pod in by_step.items():
        [container] = pod["spec"]["containers"]
        assert container["image"] == "nvcr.io/nvidia/tensorflow:21.03-tf1-py3", step
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        assert mounts == {"/mnt/dataset": "dataset", "/mnt/model": "model"}, step
        claims = {
            volume["name"]: volume["persistentVolumeClaim"]["claimName"] for volume in pod["spec"]["volumes"]
        }
        assert claims == {"dataset": "dataset-vol", "model": "airflow-model-vol"}, step
        assert pod["status"]["phase"] == "Succeeded", step
    train = by_step["train"]["spec"]["containers"][0]
    assert train["command"] == ["python", "train.py", "--epochs", "3"]
    assert train["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}}
    assert by_step["data_prep"]["spec"]["containers"][0]["command"] == [
        "echo",
        "No data prep command entered",
    ]
    assert "No data prep command entered" in result.log_text  # the pod's log, streamed by the operator
