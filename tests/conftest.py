"""Shared test configuration.

Nothing here imports Airflow at import time: the plugin below must see Airflow unimported to pick
Airflow's home for the session.
"""

from __future__ import annotations

import sys

import pytest

# --- simulators: fixtures from the public pytest plugin (kubernetes_simulator, kubeconfig_path) ---
pytest_plugins = ["netapp_dataops_airflow.testing"]
# --- end simulators ---

# A test during which an event loop reported an exception nobody handled fails (tests/loop_reports.py);
# pytester runs inner pytest sessions, for tests of the plugins.
pytest_plugins += ["loop_reports", "pytester"]
# What the tests share, by subject, is the package tests.helpers; its fixtures are registered here.
pytest_plugins += ["tests.helpers.fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    """Python 3.10 only: do not fail on the unclosed-transport warning of its old SSL protocol.

    Before 3.11's rewrite of asyncio's SSL layer, a TLS connection the peer aborts (the simulators'
    dropped-connection faults) leaves its ``_SSLProtocolTransport`` unclosed and it warns when
    collected; 3.11+ close it. Nothing of ours holds it.
    """
    if sys.version_info < (3, 11):
        config.addinivalue_line(
            "filterwarnings",
            "ignore:unclosed transport <asyncio.sslproto._SSLProtocolTransport:ResourceWarning",
        )
