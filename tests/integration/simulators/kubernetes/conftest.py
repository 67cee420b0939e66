from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator


@pytest.fixture
async def simulator() -> AsyncIterator[KubernetesSimulator]:
    """A simulator in the test's own event loop, with fast controllers."""
    async with KubernetesSimulator() as sim:
        sim.backend.timing.update(bookmark_interval=0.2)
        yield sim


@pytest.fixture
async def http(simulator: KubernetesSimulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(simulator.url) as session:
        yield session
