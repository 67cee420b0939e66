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
def ontap_threaded(monkeypatch: pytest.MonkeyPatch) -> Iterator[OntapSimulator]:
    """A simulated cluster served from a background thread (for synchronous operator code)."""
    with OntapSimulator(password=PASSWORD) as simulator:
        simulator.backend.set_transfer_settings(duration=3600)
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_env(simulator))
        yield simulator
