"""The Kubernetes tests' simulator, with a claim to snapshot, reachable as ``kubernetes_default``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from netapp_dataops_airflow.clients.kubernetes import KubernetesClient
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim
from tests.helpers.connections import kubernetes_fields
from tests.helpers.kubernetes import cluster_config


@pytest.fixture
def seeded_kubernetes(
    kubernetes_simulator: KubernetesSimulator, kubeconfig_path: Path, airflow_connection: Callable[..., str]
) -> KubernetesSimulator:
    """The plugin's simulator with a bound 1Gi claim ``data`` (class ontap-nas), as ``kubernetes_default``."""
    kubernetes_simulator.backend.seed(*bound_claim("data"))
    airflow_connection("kubernetes_default", **kubernetes_fields(kubeconfig_path))
    return kubernetes_simulator


@pytest.fixture
async def client(seeded_kubernetes: KubernetesSimulator, tmp_path: Path) -> AsyncIterator[KubernetesClient]:
    """A client of the test's own, to create and change objects behind the library's back."""
    client = await KubernetesClient.connect(cluster_config(seeded_kubernetes, tmp_path / "own-kubeconfig"))
    yield client
    await client.close()
