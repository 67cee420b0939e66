"""``run_dag``: run a DAG once with ``dag.test()`` and read back what the run left in the database."""

from __future__ import annotations

import dataclasses
import types
from typing import TYPE_CHECKING, Any

from netapp_dataops_airflow.testing.database import ensure_airflow_db
from netapp_dataops_airflow.testing.logs import LogLine, captured_logs

if TYPE_CHECKING:
    from airflow.sdk import DAG

BUNDLE_NAME = "dags-folder"
"""The DAG bundle ``run_dag`` registers DAGs under (Airflow's default bundle; it must be configured)."""


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
    with captured_logs() as logs:
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
