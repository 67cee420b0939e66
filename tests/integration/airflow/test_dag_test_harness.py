"""The dag.test() harness: real DAG runs (in-process Execution API, SQLite) read back from the database.

The deferring operators here are tiny stand-ins for the library's own: they defer to Airflow's
``TimeDeltaTrigger`` or to a trigger of this module, exactly as a NetApp operator defers to its trigger.
"""

from __future__ import annotations

import datetime
import json
import logging
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from airflow import settings
from airflow.models.trigger import Trigger
from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import DAG, BaseHook, BaseOperator, Context
from airflow.triggers.base import BaseTrigger, TriggerEvent
from airflow.utils.db import initdb
from airflow.utils.session import create_session
from sqlalchemy import select

from netapp_dataops_airflow.testing import (
    DEFAULT_AIRFLOW_HOME,
    _pytest_timeout_kept,
    needs_own_airflow_home,
    run_dag,
)
from netapp_dataops_airflow.testing.database import initdb_connections_closed

pytestmark = pytest.mark.usefixtures("airflow_db")


class WaitThenReturn(BaseOperator):
    """Defer to Airflow's own ``TimeDeltaTrigger``, then return ``value`` (or raise ``fail_with``)."""

    def __init__(self, *, value: Any = None, fail_with: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value = value
        self.fail_with = fail_with

    def execute(self, context: Context) -> None:
        self.log.info("%s: deferring", self.task_id)
        self.defer(trigger=TimeDeltaTrigger(datetime.timedelta(0)), method_name="execute_complete")

    def execute_complete(self, context: Context, event: Any = None) -> Any:
        self.log.info("%s: resumed at %s", self.task_id, event)
        if self.fail_with:
            raise RuntimeError(self.fail_with)
        return self.value


class EchoTrigger(BaseTrigger):
    """Yield ``payload`` as the one event, logging on the way."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__()
        self.payload = payload

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__qualname__}", {"payload": self.payload}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        self.log.info("echo trigger fired for %s", self.payload["operation"])
        yield TriggerEvent(self.payload)


class ConnectionTrigger(BaseTrigger):
    """Read a connection as triggers must (the async API) and yield what it saw."""

    def __init__(self, conn_id: str) -> None:
        super().__init__()
        self.conn_id = conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__qualname__}", {"conn_id": self.conn_id}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        conn = await get_async_connection(self.conn_id)
        extra = await get_async_extra_dejson(conn)
        seen = {"type": conn.conn_type, "host": conn.host, "login": conn.login, "password": conn.password}
        yield TriggerEvent({**seen, "port": conn.port, "extra": extra})


class Echo(BaseOperator):
    """Defer to :class:`EchoTrigger` with a defer kwarg too; return what ``execute_complete`` got."""

    def execute(self, context: Context) -> None:
        logging.getLogger("some.library").warning("a library logs through the logging module")
        payload = {"status": "success", "operation": "op-7", "result": {"ready": True}}
        self.defer(trigger=EchoTrigger(payload), method_name="execute_complete", kwargs={"op": "op-7"})

    def execute_complete(self, context: Context, event: Any = None, op: str | None = None) -> Any:
        self.log.info("resumed by %s", event["operation"])
        return {"event": event, "defer_kwarg": op}


class RemembersAcrossDeferral(BaseOperator):
    """Store an id in ``task_state_store`` before deferring; return what is read back after."""

    def execute(self, context: Context) -> None:
        context["task_state_store"].set("operation", {"name": "snap-1", "uid": "u-1"})
        self.defer(trigger=TimeDeltaTrigger(datetime.timedelta(0)), method_name="execute_complete")

    def execute_complete(self, context: Context, event: Any = None) -> Any:
        return context["task_state_store"].get("operation")


class ReadsConnection(BaseOperator):
    """Defer to :class:`ConnectionTrigger`, read ``conn_id`` on the worker when resumed; return both views."""

    def __init__(self, *, conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    def execute(self, context: Context) -> None:
        self.defer(trigger=ConnectionTrigger(self.conn_id), method_name="execute_complete")

    def execute_complete(self, context: Context, event: Any = None) -> Any:
        conn = BaseHook.get_connection(self.conn_id)
        worker = {"type": conn.conn_type, "host": conn.host, "login": conn.login, "password": conn.password}
        return {"worker": worker, "trigger": event}


def a_dag(dag_id: str, build: Callable[[], object]) -> DAG:
    with DAG(dag_id, schedule=None, default_args={"retries": 0}) as dag:
        build()
    return dag


def test_deferring_task_completes_and_its_return_value_is_readable() -> None:
    def build() -> None:
        WaitThenReturn(task_id="wait", value={"snapshot": "snap-1", "ready": True}) >> WaitThenReturn(
            task_id="after", value=[1, 2]
        )

    result = run_dag(a_dag("harness_success", build))

    assert result.state == "success"
    assert result.task_states == {"after": "success", "wait": "success"}
    assert result.xcom("wait") == {"snapshot": "snap-1", "ready": True}
    assert result.xcom("after") == [1, 2]


def test_a_task_failing_after_its_deferral_fails_the_run_and_its_downstream() -> None:
    def build() -> None:
        WaitThenReturn(task_id="wait", fail_with="volume snapshot failed: quota exceeded") >> WaitThenReturn(
            task_id="after"
        )

    result = run_dag(a_dag("harness_failure", build))

    assert result.state == "failed"
    assert result.task_states == {"after": "upstream_failed", "wait": "failed"}
    assert "RuntimeError: volume snapshot failed: quota exceeded" in result.log_text
    assert result.xcom("wait") is None  # a failed task pushes nothing
    with pytest.raises(KeyError, match=r"no task instance wiat; it has \['after', 'wait'\]"):
        result.xcom("wiat")


def test_mapped_tasks_are_keyed_by_map_index() -> None:
    result = run_dag(
        a_dag("harness_mapped", lambda: WaitThenReturn.partial(task_id="m").expand(value=["a", "b"]))
    )

    assert result.task_states == {"m[0]": "success", "m[1]": "success"}
    assert result.xcom("m", 1) == "b"
    assert result.xcom("m") == ["a", "b"]
    with pytest.raises(KeyError, match=r"no task instance m\[2\]"):
        result.xcom("m", 2)


def test_the_event_payload_reaches_execute_complete_but_defer_kwargs_do_not() -> None:
    result = run_dag(a_dag("harness_event", lambda: Echo(task_id="echo")))

    got = result.xcom("echo")
    assert got["event"] == {"status": "success", "operation": "op-7", "result": {"ready": True}}
    # dag.test() resumes with {"event": ...} only (production also passes defer kwargs). If this starts
    # failing, Airflow fixed it: update the dag.test() notes in the reference and testing.run_dag.
    assert got["defer_kwarg"] is None


def test_task_state_store_survives_a_deferral_under_dag_test() -> None:
    result = run_dag(a_dag("harness_state_store", lambda: RemembersAcrossDeferral(task_id="remember")))

    assert result.task_states == {"remember": "success"}
    assert result.xcom("remember") == {"name": "snap-1", "uid": "u-1"}


def test_a_connection_set_for_the_test_is_seen_by_the_worker_and_by_the_trigger(
    airflow_connection: Callable[..., str],
) -> None:
    conn_id = airflow_connection(
        "netapp_k8s",
        "kubernetes",
        host="https://127.0.0.1:6443",
        login="svc",
        password="s3cret",
        port=6443,
        extra={"namespace": "ml", "kube_config_path": "/tmp/kubeconfig"},
    )

    result = run_dag(a_dag("harness_connection", lambda: ReadsConnection(task_id="read", conn_id=conn_id)))

    seen = {"type": "kubernetes", "host": "https://127.0.0.1:6443", "login": "svc", "password": "s3cret"}
    assert result.xcom("read") == {
        "worker": seen,
        "trigger": {
            **seen,
            "port": 6443,
            "extra": {"namespace": "ml", "kube_config_path": "/tmp/kubeconfig"},
        },
    }
    # What Airflow stored for the trigger (plain JSON): the conn_id only, never the secret.
    assert json.loads(result.trigger_kwargs["read"]) == {"conn_id": "netapp_k8s"}


def test_after_a_run_the_trigger_table_holds_that_runs_triggers_only() -> None:
    run_dag(a_dag("harness_triggers_before", lambda: WaitThenReturn(task_id="wait")))
    result = run_dag(a_dag("harness_triggers", lambda: Echo(task_id="echo")))

    with create_session() as session:
        rows = session.execute(select(Trigger.classpath, Trigger.encrypted_kwargs)).all()
    assert [tuple(row) for row in rows] == [(f"{__name__}.EchoTrigger", result.trigger_kwargs["echo"])]
    assert json.loads(result.trigger_kwargs["echo"])["payload"]["operation"] == "op-7"


def test_task_and_trigger_log_lines_are_in_the_result_in_order() -> None:
    result = run_dag(a_dag("harness_logs", lambda: Echo(task_id="echo")))

    lines = [str(line) for line in result.logs]
    expected = [
        "warning some.library: a library logs through the logging module",
        f"info {__name__}.EchoTrigger: echo trigger fired for op-7",
        f"info airflow.task.operators.{__name__}.Echo: resumed by op-7",
    ]
    assert [line for line in lines if line in expected] == expected


def test_the_session_uses_a_scratch_airflow_home_never_the_users(airflow_db: Path) -> None:
    database = Path(str(settings.SQL_ALCHEMY_CONN).removeprefix("sqlite:///")).resolve()
    assert airflow_db != DEFAULT_AIRFLOW_HOME.resolve()
    assert database == airflow_db / "airflow.db"
    assert database.is_file()


def test_creating_the_database_keeps_the_pytest_timeout_of_the_test_armed() -> None:
    # initdb() arms SIGALRM for itself and then cancels it: pytest-timeout's alarm with it.
    assert signal.getitimer(signal.ITIMER_REAL)[0] > 0, "pytest-timeout (signal method) should be armed"
    with _pytest_timeout_kept(), initdb_connections_closed():  # as ensure_airflow_db does
        initdb()
    assert signal.getitimer(signal.ITIMER_REAL)[0] > 0


@pytest.mark.parametrize(
    ("environ", "needs_own"),
    [
        ({}, True),
        ({"AIRFLOW_HOME": ""}, True),
        ({"AIRFLOW_HOME": "~/airflow"}, True),
        ({"AIRFLOW_HOME": str(DEFAULT_AIRFLOW_HOME)}, True),
        ({"AIRFLOW_HOME": "/srv/ci/airflow-home"}, False),
    ],
)
def test_only_the_default_airflow_home_is_replaced(environ: dict[str, str], needs_own: bool) -> None:
    assert needs_own_airflow_home(environ) is needs_own
