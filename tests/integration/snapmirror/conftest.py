"""Fixtures for the SnapMirror tests: a simulated cluster in the test's event loop and a connection to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import structlog.testing
from snapmirror_testkit import CONN_ID, PASSWORD, connection_env

from netapp_dataops_airflow.simulators.ontap import OntapSimulator


@pytest.fixture
async def ontap(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[OntapSimulator]:
    """A simulated cluster served in the test's event loop, with connection ``ontap_sim`` to it."""
    async with OntapSimulator(password=PASSWORD) as simulator:
        simulator.backend.set_transfer_settings(duration=3600)
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_env(simulator))
        yield simulator


@pytest.fixture
def task_log() -> Iterator[list[dict[str, Any]]]:
    """The log entries Airflow's structlog loggers emit during the test (``event`` holds the text)."""
    with structlog.testing.capture_logs() as entries:
        yield entries


@pytest.fixture
def ontap_threaded(ontap_simulator: OntapSimulator, monkeypatch: pytest.MonkeyPatch) -> OntapSimulator:
    """The plugin's cluster (served from a thread, for synchronous operator code) as ``ontap_sim``."""
    ontap_simulator.backend.set_transfer_settings(duration=3600)
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_env(ontap_simulator))
    return ontap_simulator
