"""Fixtures for the SnapMirror tests: the ``ontap_sim`` connection to the cluster, and the task log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog.testing

from netapp_dataops_airflow.simulators.ontap import OntapSimulator
from tests.helpers.connections import ontap_fields
from tests.helpers.ontap import CONN_ID


@pytest.fixture
def ontap_sim_connection(slow_ontap: OntapSimulator, airflow_connection: Callable[..., str]) -> str:
    """Define ``ontap_sim`` (``CONN_ID``), a connection to ``slow_ontap``; return its id."""
    return airflow_connection(CONN_ID, **ontap_fields(slow_ontap))


@pytest.fixture
def task_log() -> Iterator[list[dict[str, Any]]]:
    """The log entries Airflow's structlog loggers emit during the test (``event`` holds the text)."""
    with structlog.testing.capture_logs() as entries:
        yield entries
