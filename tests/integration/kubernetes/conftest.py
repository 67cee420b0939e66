"""A Kubernetes simulator per test, reachable through the ``kubernetes_default`` Airflow connection."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from netapp_dataops_airflow.clients.kubernetes import ClusterConfig, KubernetesClient
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim


@pytest.fixture
async def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[KubernetesSimulator]:
    """The simulator with a bound 1Gi claim ``data`` (class ontap-nas), and the connection to it."""
    async with KubernetesSimulator() as simulator:
        simulator.backend.seed(*bound_claim("data"))
        path = simulator.write_kubeconfig(tmp_path / "kubeconfig")
        connection = {"conn_type": "kubernetes", "extra": {"kube_config_path": str(path)}}
        monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(connection))
        yield simulator


@pytest.fixture
async def client(sim: KubernetesSimulator, tmp_path: Path) -> AsyncIterator[KubernetesClient]:
    """A client of the test's own, to create and change objects behind the trigger's back."""
    kubeconfig = yaml.safe_load(sim.write_kubeconfig(tmp_path / "own-kubeconfig").read_text())
    client = await KubernetesClient.connect(ClusterConfig(kubeconfig=kubeconfig))
    yield client
    await client.close()
