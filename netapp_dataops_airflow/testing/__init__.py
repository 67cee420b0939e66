"""Pytest plugin: the simulators, and real DAG runs through Airflow's ``dag.test()``, for your tests.

Enable it in a ``conftest.py`` that does not itself import Airflow (or with ``pytest -p
netapp_dataops_airflow.testing``)::

    pytest_plugins = ["netapp_dataops_airflow.testing"]

Airflow's home. Airflow reads ``AIRFLOW_HOME`` once, when ``airflow`` is first imported, and keeps its
metadata database there (``airflow.db``). If pytest imports this plugin before anything imports Airflow
and ``AIRFLOW_HOME`` is unset or names ``~/airflow``, the plugin points Airflow at a temporary home for
the session (removed at exit, examples off), so tests never write to your own metadata database. A
home you set yourself (anything but ``~/airflow``) is used as it is.

Running DAGs::

    def test_snapshot_dag(airflow_db, airflow_connection):
        airflow_connection("k8s", "kubernetes", extra={"kube_config_path": "/tmp/kubeconfig"})
        result = run_dag(my_dag)
        assert result.state == "success"
        assert result.task_states == {"snap": "success"}
        assert result.xcom("snap")["ready"] is True
        assert "snapshot ready" in result.log_text

For XCP DAGs, ``xcp_simulator`` is a simulated XCP host behind an embedded SSH server and
``xcp_connection`` defines ``ssh_default`` to it.

For SnapMirror DAGs, ``ontap_simulator`` is a simulated ONTAP cluster and ``ontap_connection``
defines ``ontap_default`` to it.

For Cloud Sync DAGs, ``cloud_sync_simulator`` is a simulated Cloud Sync service (API and token
endpoint, one account) and ``cloud_sync_connection`` defines ``cloud_sync_default`` to it.

For snapshot and clone DAGs, ``kubernetes_simulator`` is a simulated cluster (CSI snapshots, Trident
clones) and ``kubeconfig_path`` a kubeconfig file for it.

``run_dag`` must be called from a synchronous test: ``dag.test()`` runs each trigger with
``asyncio.run``, which cannot start inside a running event loop.

This module is the public face; its parts are ``home`` (Airflow's home for the session), ``database``
(the metadata database), ``logs`` and ``harness`` (``run_dag``) and ``fixtures``.
"""

from __future__ import annotations

from netapp_dataops_airflow.testing.home import (
    DEFAULT_AIRFLOW_HOME,
    needs_own_airflow_home,
    use_session_airflow_home,
)

# First, before the parts below are imported: any of them may one day import airflow at import time,
# and Airflow reads AIRFLOW_HOME only then.
use_session_airflow_home()

from netapp_dataops_airflow.testing.database import (  # noqa: E402
    _pytest_timeout_kept as _pytest_timeout_kept,  # for tests of the database set-up
)
from netapp_dataops_airflow.testing.database import ensure_airflow_db  # noqa: E402

# pytest finds the plugin's fixtures among this module's names: importing them registers them.
from netapp_dataops_airflow.testing.fixtures import (  # noqa: E402
    airflow_connection,
    airflow_db,
    cloud_sync_connection,
    cloud_sync_simulator,
    kubeconfig_path,
    kubernetes_simulator,
    ontap_connection,
    ontap_simulator,
    xcp_connection,
    xcp_simulator,
)
from netapp_dataops_airflow.testing.harness import BUNDLE_NAME, DagRunResult, run_dag  # noqa: E402
from netapp_dataops_airflow.testing.logs import LogLine  # noqa: E402

__all__ = [
    "BUNDLE_NAME",
    "DEFAULT_AIRFLOW_HOME",
    "DagRunResult",
    "LogLine",
    "airflow_connection",
    "airflow_db",
    "cloud_sync_connection",
    "cloud_sync_simulator",
    "ensure_airflow_db",
    "kubeconfig_path",
    "kubernetes_simulator",
    "needs_own_airflow_home",
    "ontap_connection",
    "ontap_simulator",
    "run_dag",
    "xcp_connection",
    "xcp_simulator",
]
