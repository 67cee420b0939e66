"""Fixtures for the Cloud Sync tests: the plugin's simulated service, its syncs an hour long."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import structlog.testing

from netapp_dataops_airflow.simulators.cloud_sync import CloudSyncSimulator


@pytest.fixture
def cloud_sync(cloud_sync_simulator: CloudSyncSimulator, cloud_sync_connection: str) -> CloudSyncSimulator:
    """The plugin's ``cloud_sync_simulator``, reachable as ``CONN_ID``; a sync runs for an hour.

    Served from a thread, so synchronous operator code and ``dag.test()`` reach it as async tests do.
    """
    cloud_sync_simulator.backend.set_sync_settings(pending_seconds=0.5, duration=3600, stale_seconds=0.5)
    return cloud_sync_simulator


@pytest.fixture
def task_log() -> Iterator[list[dict[str, Any]]]:
    """The log entries Airflow's structlog loggers emit during the test (``event`` holds the text)."""
    with structlog.testing.capture_logs() as entries:
        yield entries
