"""The public pytest plugin ``netapp_dataops_airflow.testing``: its names, fixtures and Airflow home."""

from __future__ import annotations

import gc
import sqlite3
import sys
import warnings
import weakref

import pytest

from netapp_dataops_airflow.testing import ensure_airflow_db
from netapp_dataops_airflow.testing.database import initdb_connections_closed

PLUGIN_USER = """
import json
import os
import sys
from pathlib import Path

import netapp_dataops_airflow.testing as plugin

AIRFLOW_IMPORTED_BEFORE_TESTS = "airflow" in sys.modules


def test_the_public_names():
    from netapp_dataops_airflow.testing import (
        DagRunResult, LogLine, ensure_airflow_db, needs_own_airflow_home, run_dag,
    )

    assert needs_own_airflow_home({}) is True
    assert str(LogLine("info", "x", "hello")) == "info x: hello"
    assert callable(run_dag) and callable(ensure_airflow_db) and DagRunResult.__name__ == "DagRunResult"


def test_airflow_gets_a_scratch_home_before_it_is_imported(tmp_path_factory):
    from airflow import configuration, settings

    assert not AIRFLOW_IMPORTED_BEFORE_TESTS
    home = Path(configuration.AIRFLOW_HOME)
    assert home.name.startswith("netapp-dataops-airflow-home-"), home
    assert home != plugin.DEFAULT_AIRFLOW_HOME
    assert str(settings.SQL_ALCHEMY_CONN) == f"sqlite:///{home}/airflow.db"
    assert os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"


def test_simulator_fixtures(kubeconfig_path, kubernetes_simulator, ontap_connection, ontap_simulator):
    assert kubernetes_simulator.url in kubeconfig_path.read_text()
    connection = json.loads(os.environ["AIRFLOW_CONN_ONTAP_DEFAULT"])
    assert ontap_connection == "ontap_default"
    assert (connection["conn_type"], connection["host"]) == ("netapp_ontap", ontap_simulator.url)


def test_airflow_connection_fixture(airflow_connection):
    assert airflow_connection("my_k8s", "kubernetes", extra={"namespace": "ml"}) == "my_k8s"
    expected = {"conn_type": "kubernetes", "extra": {"namespace": "ml"}}
    assert json.loads(os.environ["AIRFLOW_CONN_MY_K8S"]) == expected
"""


def test_pytest_plugins_registers_the_fixtures_and_a_scratch_airflow_home(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a user's project has it: no AIRFLOW_HOME, so Airflow would use ~/airflow (kept in the test's
    # directory here, should the plugin fail to step in).
    monkeypatch.delenv("AIRFLOW_HOME", raising=False)
    monkeypatch.delenv("AIRFLOW__CORE__LOAD_EXAMPLES", raising=False)
    monkeypatch.setenv("HOME", str(pytester.path))
    pytester.makeconftest('pytest_plugins = ["netapp_dataops_airflow.testing"]\n')
    pytester.makepyfile(test_user=PLUGIN_USER)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=4)
    assert not (pytester.path / "airflow").exists()


@pytest.mark.skipif(sys.version_info < (3, 13), reason="sqlite3 warns about unclosed connections from 3.13")
def test_creating_the_database_leaves_no_connection_to_the_garbage_collector() -> None:
    gc.collect()
    ensure_airflow_db.__wrapped__()  # the real work again (the cached call ran at session start)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()

    assert [str(warning.message) for warning in caught] == []


class WeaklyReferable(sqlite3.Connection):
    """A connection the test can follow with a weak reference (sqlite3's own has none)."""


def test_connections_hanging_off_frozen_garbage_are_collected_too() -> None:
    # A suite that freezes the heap (tests/loop_reports.py does) froze the old engine's pool, which
    # initdb then drops with a fresh connection in it: the collector does not look into frozen objects.
    old_pool: list[object] = []
    old_pool.append(old_pool)
    gc.collect()
    gc.freeze()
    with initdb_connections_closed():
        connection = sqlite3.connect(":memory:", factory=WeaklyReferable)
        dropped = weakref.ref(connection)
        old_pool.append(connection)
        del connection, old_pool

    assert dropped() is None
