"""Shared test configuration.

Nothing here imports Airflow at import time: the plugin below must see Airflow unimported to pick
Airflow's home for the session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_side import SupervisorStub

# --- simulators: fixtures from the public pytest plugin (kubernetes_simulator, kubeconfig_path) ---
pytest_plugins = ["netapp_dataops_airflow.testing"]
# --- end simulators ---

# A test during which an event loop reported an exception nobody handled fails (tests/loop_reports.py);
# pytester runs inner pytest sessions, for tests of the plugins.
pytest_plugins += ["loop_reports", "pytester"]

@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> SupervisorStub:
    """Airflow's supervisor channel as a triggerer has it, answering task states (see airflow_side)."""
    from airflow.sdk.execution_time import task_runner
    from airflow_side import SupervisorStub

    stub = SupervisorStub()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", stub, raising=False)
    return stub
