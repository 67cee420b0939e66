"""Fixtures the tests of several directories use; the ``conftest.py`` files that import them register them."""

from __future__ import annotations

import pytest
from airflow.sdk.execution_time import task_runner

from netapp_dataops_airflow.simulators.ontap import OntapSimulator
from tests.helpers.airflow import SupervisorStub


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> SupervisorStub:
    """Airflow's supervisor channel as a triggerer has it, answering task states (a ``SupervisorStub``)."""
    stub = SupervisorStub()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", stub, raising=False)
    return stub


@pytest.fixture
def slow_ontap(ontap_simulator: OntapSimulator) -> OntapSimulator:
    """The plugin's ``ontap_simulator``, its transfers an hour long: they end when a test advances time."""
    ontap_simulator.backend.set_transfer_settings(duration=3600)
    return ontap_simulator
