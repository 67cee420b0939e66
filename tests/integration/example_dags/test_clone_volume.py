"""The shipped ``clone_volume`` example, run with ``dag.test()`` against the Kubernetes simulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from netapp_dataops_airflow.example_dags.clone_volume import clone_volume
from netapp_dataops_airflow.operators.kubernetes import TRIDENT_CLONE_ANNOTATION
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim, kinds
from netapp_dataops_airflow.testing import run_dag
from tests.helpers.connections import kubernetes_fields
from tests.helpers.kubernetes import snapshot_body
from tests.helpers.waiting import poll

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(120)]


@pytest.fixture
def cluster(
    kubernetes_simulator: KubernetesSimulator, kubeconfig_path: Path, airflow_connection: Callable[..., str]
) -> KubernetesSimulator:
    """The simulator with the example's default sources: PVC ``gold-datavol``, ready snapshot ``snap1``."""
    backend = kubernetes_simulator.backend
    backend.seed(*bound_claim("gold-datavol", size="2Gi"))
    backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap1", "gold-datavol"))
    poll(
        lambda: backend.get(kinds.SNAPSHOTS, "default", "snap1"),
        lambda snapshot: snapshot.get("status", {}).get("readyToUse") is True,
        "snapshot snap1 to be ready",
    )
    airflow_connection("kubernetes_default", **kubernetes_fields(kubeconfig_path))
    return kubernetes_simulator


def claim(cluster: KubernetesSimulator, name: str) -> dict[str, Any]:
    return cluster.backend.get(kinds.PVCS, "default", name)


def test_the_defaults_clone_the_snapshot_under_a_name_of_the_run(cluster: KubernetesSimulator) -> None:
    result = run_dag(clone_volume())

    assert result.state == "success", result.log_text
    assert result.task_states == {"clone": "success", "report": "success"}
    clone = result.xcom("clone")
    assert (clone["source_kind"], clone["source_name"], clone["clone_method"]) == (
        "VolumeSnapshot",
        "snap1",
        "csi",
    )
    assert clone["name"].startswith("snap1-clone-")
    created = claim(cluster, clone["name"])
    assert created["spec"]["dataSource"] == {
        "apiGroup": "snapshot.storage.k8s.io",
        "kind": "VolumeSnapshot",
        "name": "snap1",
    }
    assert created["status"]["phase"] == "Bound"


def test_a_flexclone_of_the_pvc_with_a_name_given(cluster: KubernetesSimulator) -> None:
    conf = {"clone_from": "pvc", "clone_method": "trident", "new_pvc": "datavol-clone-2"}
    result = run_dag(clone_volume(), run_conf=conf)

    assert result.state == "success", result.log_text
    clone = result.xcom("clone")
    assert (clone["source_kind"], clone["source_name"], clone["clone_method"], clone["capacity"]) == (
        "PersistentVolumeClaim",
        "gold-datavol",
        "trident",
        "2Gi",
    )
    assert clone["name"] == "datavol-clone-2"
    created = claim(cluster, "datavol-clone-2")
    assert created["metadata"]["annotations"][TRIDENT_CLONE_ANNOTATION] == "gold-datavol"
    assert "dataSource" not in created["spec"]
    assert created["status"]["phase"] == "Bound"
