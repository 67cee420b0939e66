"""Fixtures for the Cloud Sync tests: a simulated service in the test's event loop and a connection to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import structlog.testing

from netapp_dataops_airflow.simulators.cloud_sync import CloudSyncSimulator
from tests.helpers.cloud_sync import ACCOUNT, CONN_ID, REFRESH_TOKEN, connection_env


@pytest.fixture
async def cloud_sync(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[CloudSyncSimulator]:
    """A simulated Cloud Sync service in the test's event loop, one account, connection ``cloud_sync_sim``."""
    async with CloudSyncSimulator(refresh_token=REFRESH_TOKEN) as simulator:
        simulator.backend.add_account(ACCOUNT, "Simulated")
        simulator.backend.set_sync_settings(pending_seconds=0.5, duration=3600, stale_seconds=0.5)
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_env(simulator))
        yield simulator


@pytest.fixture
def cloud_sync_threaded(monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudSyncSimulator]:
    """The same, served from a thread (for synchronous operator code and ``dag.test()``)."""
    with CloudSyncSimulator(refresh_token=REFRESH_TOKEN) as simulator:
        simulator.backend.add_account(ACCOUNT, "Simulated")
        simulator.backend.set_sync_settings(pending_seconds=0.5, duration=3600, stale_seconds=0.5)
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_env(simulator))
        yield simulator


@pytest.fixture
def task_log() -> Iterator[list[dict[str, Any]]]:
    """The log entries Airflow's structlog loggers emit during the test (``event`` holds the text)."""
    with structlog.testing.capture_logs() as entries:
        yield entries
