"""Pytest plugin: fixtures that run the simulators for your tests.

Enable it in a ``conftest.py``::

    pytest_plugins = ["netapp_dataops_airflow.testing"]
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator


@pytest.fixture
def kubernetes_simulator() -> Iterator[KubernetesSimulator]:
    """Yield a fresh Kubernetes simulator (its own backend) served from a background thread."""
    with KubernetesSimulator() as simulator:
        yield simulator


@pytest.fixture
def kubeconfig_path(kubernetes_simulator: KubernetesSimulator, tmp_path: Path) -> Path:
    """Write a kubeconfig file for :func:`kubernetes_simulator` and return its path."""
    return kubernetes_simulator.write_kubeconfig(tmp_path / "kubeconfig")
