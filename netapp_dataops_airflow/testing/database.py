"""Airflow's metadata database for tests: created or migrated once per process, never in ``~/airflow``."""

from __future__ import annotations

import contextlib
import functools
import gc
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from netapp_dataops_airflow.testing.home import DEFAULT_AIRFLOW_HOME


@functools.cache
def ensure_airflow_db() -> Path:
    """Create or migrate the metadata database of the configured Airflow home (once per process)."""
    from airflow import configuration, settings
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.utils.db import initdb

    home = Path(configuration.AIRFLOW_HOME).expanduser().resolve()
    database = _sqlite_path(str(settings.SQL_ALCHEMY_CONN))
    if home == DEFAULT_AIRFLOW_HOME.resolve() or (
        database is not None and database.is_relative_to(DEFAULT_AIRFLOW_HOME.resolve())
    ):
        raise RuntimeError(
            f"Airflow is configured to use {home} (database {settings.SQL_ALCHEMY_CONN}), the default "
            "home: tests would write to your own metadata database. Airflow was imported before "
            "netapp_dataops_airflow.testing could give it a temporary home. Set AIRFLOW_HOME to a "
            "scratch directory before pytest starts (e.g. `AIRFLOW_HOME=$(mktemp -d) pytest`), or load "
            "the plugin first: `pytest -p netapp_dataops_airflow.testing`, or `pytest_plugins` in a "
            "conftest.py that does not import airflow."
        )
    with _pytest_timeout_kept(), initdb_connections_closed():
        initdb()
    Path(settings.DAGS_FOLDER).mkdir(parents=True, exist_ok=True)  # dag.test() scans it on every run
    DagBundlesManager().sync_bundles_to_db()  # type: ignore[no-untyped-call]
    return home


def _sqlite_path(url: str) -> Path | None:
    """Return the file of a ``sqlite:///`` database URL, else ``None``."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    return Path(url[len(prefix) :].split("?", 1)[0]).expanduser().resolve()


@contextlib.contextmanager
def initdb_connections_closed() -> Iterator[None]:
    """Close, quietly, the SQLite connections Airflow's ``initdb`` (run inside) leaves to the collector.

    ``initdb`` swaps the ORM's engine while its sessions hold connections of the old one; those are
    closed only when garbage collected: from Python 3.13 with a ``ResourceWarning``, an error under
    ``-W error``, in whichever later test the collector happens to run.
    """
    try:
        yield
    finally:
        # Garbage that frozen objects point to is out of the collector's reach (gc.freeze(), which test
        # suites use to speed up collections): unfreeze for this collection, freeze again after.
        frozen = gc.get_freeze_count()
        gc.unfreeze()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
        if frozen:
            gc.freeze()


@contextlib.contextmanager
def _pytest_timeout_kept() -> Iterator[None]:
    """Re-arm a pending ``SIGALRM`` timer (pytest-timeout's) that Airflow's ``initdb`` cancels."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return
    remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    started = time.monotonic()
    try:
        yield
    finally:
        if remaining:
            left = max(remaining - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, interval)
