"""Airflow's side of a task, for tests that drive operators and triggers without a scheduler.

- :class:`SupervisorStub` stands in for the channel a triggerer's triggers (and a worker's task)
  use to ask Airflow things: ``RuntimeTaskInstance.get_task_states`` sends ``GetTaskStates`` through
  ``task_runner.SUPERVISOR_COMMS`` and reads a ``TaskStatesResult``. The stub answers with the state
  a test sets, shaped as the Execution API shapes it, or fails as a broken channel would.
- :class:`MemoryStateStore` and :func:`task_context` stand in for the context an operator gets.
- :func:`deferred`, :func:`only_event`, :func:`event_as_stored` and :func:`rebuilt` run operators
  and triggers the way a worker, a triggerer and ``dag.test()`` run them.

Only Airflow is stood in for here; the library's code and the backends (simulators) are real.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import threading
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest
from airflow.sdk.exceptions import TaskDeferred
from airflow.sdk.execution_time.comms import GetTaskStates, MaskSecret, TaskStatesResult

from netapp_dataops_airflow.operators.base import NetAppOperator
from netapp_dataops_airflow.triggers.base import NetAppTrigger

T = TypeVar("T", bound=NetAppTrigger)

ABSENT = "<absent>"
"""Placeholder for "Airflow has no such task instance" (e.g. its DAG run was deleted)."""

KILL_STATES: list[tuple[str | None, bool]] = [
    ("failed", True),
    ("success", False),
    ("deferred", False),
    (None, False),
    ("scheduled", False),
    ("queued", False),
    ("running", False),
    ("restarting", False),
    ("up_for_retry", False),
    ("up_for_reschedule", False),
    ("upstream_failed", False),
    ("skipped", False),
    ("removed", False),
    ("awaiting_input", False),
    (ABSENT, False),
]
"""Every state Airflow 3.3 has for a task instance (``None``: no status, after a clear), and whether
``on_kill`` cancels the operation in it: only ``failed`` (the user marked it so) does. The table is
in docs/semantics.md."""


class SupervisorStub:
    """Answer ``GetTaskStates`` with :attr:`state` (or raise :attr:`failure`); accept masked secrets.

    :attr:`state` is a task instance state as Airflow stores it (``"failed"``, ``None`` after a
    clear, ...), or :data:`ABSENT`. :attr:`asked` records the questions, to check what was asked.
    Clearing :attr:`answering` holds answers back (a slow supervisor) until it is set again.
    """

    def __init__(self) -> None:
        self.state: str | None = "deferred"
        self.failure: BaseException | None = None
        self.asked: list[GetTaskStates] = []
        self.answering = threading.Event()
        self.answering.set()

    def send(self, msg: Any) -> Any:
        """Answer one message as the supervisor would."""
        if isinstance(msg, MaskSecret):
            return None
        if not isinstance(msg, GetTaskStates):
            raise AssertionError(f"the test's supervisor does not answer {type(msg).__name__}")
        self.asked.append(msg)
        if not self.answering.wait(timeout=60):
            raise TimeoutError("the test never let the supervisor answer")
        if self.failure is not None:
            raise self.failure
        states: dict[str, dict[str, Any]] = {}
        for run_id in msg.run_ids or []:
            for task_id in msg.task_ids or []:
                # The Execution API keys mapped task instances as "<task_id>_<map_index>".
                key = task_id if msg.map_index is None or msg.map_index < 0 else f"{task_id}_{msg.map_index}"
                if self.state != ABSENT:
                    states.setdefault(run_id, {})[key] = self.state
        return TaskStatesResult(task_states=states)

    async def asend(self, msg: Any) -> Any:
        """The async form, used by Airflow's async helpers (secret masking)."""
        return self.send(msg)


def trigger_task_instance(map_index: int = -1) -> Any:
    """What a triggerer sets as ``trigger.task_instance``: the ids ``on_kill`` asks about."""
    return SimpleNamespace(dag_id="dag", task_id="task", run_id="run", map_index=map_index)


class MemoryStateStore:
    """Airflow's ``task_state_store`` (get/set of JSON values), kept in a dict for operator tests."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        """Return a copy of the stored value, as Airflow would decode it."""
        return json.loads(json.dumps(self.values[key])) if key in self.values else default

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        """Store ``value`` as JSON, which is what Airflow stores."""
        self.values[key] = json.loads(json.dumps(value))


def task_context(store: MemoryStateStore, try_number: int = 1, task_id: str = "update") -> dict[str, Any]:
    """The parts of an Airflow task context the operators read: ``ti`` and ``task_state_store``."""
    ti = SimpleNamespace(dag_id="dag", task_id=task_id, run_id="run", map_index=-1, try_number=try_number)
    return {"ti": ti, "task_state_store": store}


def deferred(op: NetAppOperator, context: dict[str, Any], trigger_type: type[T]) -> T:
    """Run ``op.execute`` as a worker does; it must defer to a ``trigger_type``, as the library does."""
    with pytest.raises(TaskDeferred) as deferral:
        op.execute(context)  # type: ignore[arg-type]
    assert deferral.value.method_name == "execute_complete"
    assert deferral.value.timeout is None  # the deadline lives in the trigger
    trigger = deferral.value.trigger
    assert isinstance(trigger, trigger_type)
    return trigger


async def only_event(trigger: NetAppTrigger) -> dict[str, Any]:
    """Run a trigger to its end; check that it yields exactly one event and return its payload."""
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1, events
    payload = events[0]
    assert isinstance(payload, dict)
    return payload


def event_as_stored(trigger: NetAppTrigger) -> dict[str, Any]:
    """Run the trigger in a loop of its own, as ``dag.test()`` does; return its event as Airflow stores it."""
    return dict(json.loads(json.dumps(asyncio.run(only_event(trigger)))))


def rebuilt(trigger: T) -> T:
    """The trigger as a triggerer rebuilds it after a restart: from its classpath and its kwargs as JSON."""
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt_trigger: T = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))
    return rebuilt_trigger


def logged(entries: Sequence[Mapping[str, Any]]) -> str:
    """The text of log entries captured from Airflow's structlog loggers, one per line."""
    return "\n".join(str(entry.get("event")) for entry in entries)
