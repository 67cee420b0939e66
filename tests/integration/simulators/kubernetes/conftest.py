"""A plain HTTP session to the plugin's Kubernetes simulator, for the tests of its wire behaviour."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator


@pytest.fixture
async def http(kubernetes_simulator: KubernetesSimulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(kubernetes_simulator.url) as session:
        yield session
