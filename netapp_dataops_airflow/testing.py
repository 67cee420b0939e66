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

For SnapMirror DAGs, ``ontap_simulator`` is a simulated ONTAP cluster and ``ontap_connection``
defines ``ontap_default`` to it.

``run_dag`` must be called from a synchronous test: ``dag.test()`` runs each trigger with
``asyncio.run``, which cannot start inside a running event loop.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import types
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator
from netapp_dataops_airflow.simulators.ontap import OntapSimulator

if TYPE_CHECKING:
    from airflow.sdk import DAG

DEFAULT_AIRFLOW_HOME = Path("~/airflow").expanduser()
"""Airflow's home when ``AIRFLOW_HOME`` is unset: the user's own, never used by these fixtures."""

BUNDLE_NAME = "dags-folder"
"""The DAG bundle ``run_dag`` registers DAGs under (Airflow's default bundle; it must be configured)."""


def needs_own_airflow_home(environ: Mapping[str, str]) -> bool:
    """Tell whether ``environ`` would make Airflow use ``~/airflow`` (``AIRFLOW_HOME`` unset or that)."""
    home = environ.get("AIRFLOW_HOME")
    return not home or Path(home).expanduser().resolve() == DEFAULT_AIRFLOW_HOME.resolve()


def _use_session_airflow_home() -> None:
    """Point Airflow at a temporary home for this pytest session, if it would use ``~/airflow``.

    Only under pytest and only before ``airflow`` is imported: Airflow reads ``AIRFLOW_HOME`` once.
    """
    if "PYTEST_VERSION" not in os.environ or "airflow" in sys.modules:
        return
    if not needs_own_airflow_home(os.environ):
        return
    home = tempfile.mkdtemp(prefix="netapp-dataops-airflow-home-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["AIRFLOW_HOME"] = home
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


_use_session_airflow_home()


# --- simulators -----------------------------------------------------------------------------------


@pytest.fixture
def kubernetes_simulator() -> Iterator[KubernetesSimulator]:
    """Yield a fresh Kubernetes simulator (its own backend) served from a background thread."""
    with KubernetesSimulator() as simulator:
        yield simulator


@pytest.fixture
def kubeconfig_path(kubernetes_simulator: KubernetesSimulator, tmp_path: Path) -> Path:
    """Write a kubeconfig file for :func:`kubernetes_simulator` and return its path."""
    return kubernetes_simulator.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def ontap_simulator() -> Iterator[OntapSimulator]:
    """Yield a fresh simulated ONTAP cluster (its own backend) served over HTTPS from a background thread.

    Seed and steer it through ``ontap_simulator.backend``: ``add_relationship``,
    ``set_transfer_settings``, ``advance`` (the cluster's clock), ``inject_fault``, ``requests``.
    """
    with OntapSimulator() as simulator:
        yield simulator


@pytest.fixture
def ontap_connection(ontap_simulator: OntapSimulator, airflow_connection: Callable[..., str]) -> str:
    """Define ``ontap_default``, a ``netapp_ontap`` connection to :func:`ontap_simulator`; return its id.

    It trusts the simulator's CA (given as PEM text), as a connection to a real cluster would.
    """
    return airflow_connection(
        "ontap_default",
        "netapp_ontap",
        host=ontap_simulator.url,
        login=ontap_simulator.username,
        password=ontap_simulator.password,
        extra={"ca_certificate": ontap_simulator.ca_pem},
    )


# --- Airflow: metadata database, connections, DAG runs --------------------------------------------


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Create or migrate Airflow's metadata database once per session; return Airflow's home.

    Fails, without touching anything, if Airflow would use ``~/airflow``: see the module docstring.
    """
    return ensure_airflow_db()


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
    with _pytest_timeout_kept():
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


@pytest.fixture
def airflow_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Return a function that defines an Airflow connection for this test only.

    The connection is an ``AIRFLOW_CONN_<ID>`` environment variable holding JSON, so tasks, the
    Execution API and triggers (``get_async_connection``) all see it; it is removed after the test.
    Call it as ``airflow_connection(conn_id, conn_type, host=..., login=..., password=...,
    schema=..., port=..., extra={...})``; it returns the conn_id.
    """

    def define(
        conn_id: str,
        conn_type: str,
        *,
        host: str | None = None,
        login: str | None = None,
        password: str | None = None,
        schema: str | None = None,
        port: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        fields = {"host": host, "login": login, "password": password, "schema": schema, "port": port}
        connection: dict[str, Any] = {"conn_type": conn_type}
        connection.update({name: value for name, value in fields.items() if value is not None})
        if extra:
            connection["extra"] = dict(extra)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
        return conn_id

    return define


@dataclasses.dataclass(frozen=True)
class LogLine:
    """One log event of a DAG run: Airflow's own, a task's, a trigger's or any library's."""

    level: str
    logger: str
    message: str  # formatted; an exception logged with it is appended as ``\nType: message``

    def __str__(self) -> str:
        return f"{self.level} {self.logger}: {self.message}"


@dataclasses.dataclass(frozen=True)
class DagRunResult:
    """What one DAG run left in the metadata database, and what it logged.

    :param state: the run's final state (``"success"``, ``"failed"``).
    :param task_states: each task instance's state by task_id (``task_id[map_index]`` for mapped
        ones), e.g. ``{"start": "success", "wait": "failed", "report": "upstream_failed"}``.
    :param logs: every log event during the run, in order (tasks, triggers, Airflow itself).
    :param trigger_kwargs: by task (keyed as ``task_states``), the kwargs of the last trigger it deferred
        to, as Airflow stored them in its ``trigger`` table (plain JSON text for triggers deferred from a
        worker, even with a Fernet key): assert that no secret is stored there.
    """

    dag_id: str
    run_id: str
    state: str
    task_states: dict[str, str | None]
    logs: tuple[LogLine, ...] = ()
    trigger_kwargs: dict[str, str] = dataclasses.field(default_factory=dict)
    stored_xcoms: dict[tuple[str, int, str], Any] = dataclasses.field(default_factory=dict, repr=False)
    """XCom values as stored, by ``(task_id, map_index, key)``; read them with :meth:`xcom`."""

    @property
    def log_text(self) -> str:
        """All log lines as one text, one line per event, for ``in`` assertions."""
        return "\n".join(map(str, self.logs))

    def xcom(self, task_id: str, map_index: int | None = None, *, key: str = "return_value") -> Any:
        """Return an XCom of the run (by default the task's return value) as a downstream task gets it.

        ``None`` if the task pushed none (it returned ``None``, failed or was skipped). For a mapped
        task, give the ``map_index``, or leave it out for a list with one item per map index.

        :raises KeyError: the run has no such task instance (a typo in ``task_id``?).
        """
        from airflow.sdk.execution_time.xcom import XCom

        def value(index: int) -> Any:
            stored = self.stored_xcoms.get((task_id, index, key))
            return None if stored is None else XCom.deserialize_value(types.SimpleNamespace(value=stored))

        prefix = f"{task_id}["
        mapped = sorted(int(name[len(prefix) : -1]) for name in self.task_states if name.startswith(prefix))
        if map_index is None and task_id in self.task_states:
            return value(-1)
        if map_index is None and mapped:
            return [value(index) for index in mapped]
        if map_index is not None and map_index in mapped:
            return value(map_index)
        wanted = task_id if map_index is None else f"{prefix}{map_index}]"
        raise KeyError(f"the run has no task instance {wanted}; it has {sorted(self.task_states)}")


def run_dag(dag: DAG, **kwargs: Any) -> DagRunResult:
    """Run ``dag`` once with ``dag.test(**kwargs)`` and return what the run left behind.

    Ensures the metadata database exists, registers the DAG in it (``dag.test()`` runs only DAGs that
    are serialized there), runs it in this process (tasks, then each trigger inline, then the resumed
    task), and reads the run's state, task states, XComs and stored trigger kwargs back from the
    database. The database is shared by the session: query it only for this run's ``run_id``. Trigger
    rows no deferred task uses any more are removed first, as Airflow's triggerer does all the time.

    Differences from production worth knowing (``dag.test()`` of Airflow 3.3): the resume method gets
    only ``event`` (``defer(kwargs=...)`` are dropped), a trigger that never yields hangs the run (rely on
    pytest-timeout), trigger ``cleanup()``/``on_kill()`` are not called, and task logs are not written to
    files (use :attr:`DagRunResult.logs`).
    """
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.models.trigger import Trigger

    ensure_airflow_db()
    Trigger.clean_unused()  # as the triggerer would have: the table then holds only this run's triggers
    bag = DagBag(collect_dags=False, load_op_links=False)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, BUNDLE_NAME, None)
    with _captured_logs() as logs:
        run_id = dag.test(**kwargs).run_id
    return _read_run(dag.dag_id, run_id, tuple(logs))


def _read_run(dag_id: str, run_id: str, logs: tuple[LogLine, ...]) -> DagRunResult:
    """Read a finished run's state, task states and XComs from the metadata database."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import Trigger
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        state = session.scalar(select(DagRun.state).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        tis = session.execute(
            select(TaskInstance.task_id, TaskInstance.map_index, TaskInstance.state, TaskInstance.trigger_id)
            .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
            .order_by(TaskInstance.task_id, TaskInstance.map_index)
        ).all()
        trigger_ids = [ti.trigger_id for ti in tis if ti.trigger_id is not None]
        triggers = dict(
            session.execute(
                select(Trigger.id, Trigger.encrypted_kwargs).where(Trigger.id.in_(trigger_ids))
            ).all()
        )
        xcoms = session.execute(
            select(XComModel.task_id, XComModel.map_index, XComModel.key, XComModel.value).where(
                XComModel.dag_id == dag_id, XComModel.run_id == run_id
            )
        ).all()
    return DagRunResult(
        dag_id=dag_id,
        run_id=run_id,
        state=_plain(state) or "none",
        task_states={_task_key(ti.task_id, ti.map_index): _plain(ti.state) for ti in tis},
        logs=logs,
        trigger_kwargs={
            _task_key(ti.task_id, ti.map_index): triggers[ti.trigger_id]
            for ti in tis
            if ti.trigger_id in triggers
        },
        stored_xcoms={(task_id, map_index, key): value for task_id, map_index, key, value in xcoms},
    )


def _task_key(task_id: str, map_index: int) -> str:
    """Return how results name a task instance: ``task_id``, or ``task_id[map_index]`` if mapped."""
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


def _plain(state: object) -> str | None:
    """Return a state enum member (or ``None``) as its plain string value."""
    return None if state is None else str(getattr(state, "value", state))


@contextlib.contextmanager
def _captured_logs() -> Iterator[list[LogLine]]:
    """Collect every log event while active, formatted, and still let Airflow print it.

    Airflow 3 logs through structlog, straight to a stream, so ``caplog`` sees none of the task logs
    and ``capsys`` only some (its ``logging`` handler keeps the stream it found at start-up). A
    structlog processor put before the renderer sees each event formatted (secrets are not masked
    under ``dag.test()``); a root handler sees what libraries log through ``logging``.
    """
    import structlog

    lines: list[LogLine] = []

    def record(_logger: object, method_name: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
        exc_info = event.get("exc_info") or event.get("exception")
        message = _with_exception(str(event.get("event", "")), exc_info)
        lines.append(LogLine(str(event.get("level", method_name)), str(event.get("logger", "")), message))
        return event

    class Handler(logging.Handler):
        def emit(self, log_record: logging.LogRecord) -> None:
            message = _with_exception(log_record.getMessage(), log_record.exc_info)
            lines.append(LogLine(log_record.levelname.lower(), log_record.name, message))

    processors = structlog.get_config()["processors"]  # the live list every logger uses
    processors.insert(max(len(processors) - 1, 0), record)
    handler = Handler()
    logging.getLogger().addHandler(handler)
    try:
        yield lines
    finally:
        logging.getLogger().removeHandler(handler)
        with contextlib.suppress(ValueError):
            processors.remove(record)


def _with_exception(message: str, exc_info: object) -> str:
    """Append ``Type: message`` of a logged exception (``exc_info`` as logging/structlog pass it)."""
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        exc_info = exc_info[1]
    if not isinstance(exc_info, BaseException):
        return message
    return message + "\n" + "".join(traceback.format_exception_only(type(exc_info), exc_info)).rstrip()
