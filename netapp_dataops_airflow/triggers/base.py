"""The contract every trigger of this library keeps.

- **Kwargs are the constructor's parameters**, read back from attributes of the same names, so a
  trigger rebuilt from its kwargs (a triggerer restart) is the same trigger. They hold ids and
  conn_ids only: Airflow 3.3 stores worker-deferred trigger kwargs as plain JSON.
- **One event**: ``{"status": "success"|"failed"|"timeout"|"error", "message": ..., <ids>,
  "result": {...}}``. Everything ``execute_complete`` needs is in it, because ``dag.test()`` drops
  the defer kwargs. Exceptions become an ``error`` event rather than a trigger failure, so the
  operator turns them into a clear task error.
- **The deadline is absolute** (a POSIX timestamp) and travels in the kwargs: a restarted trigger
  keeps the original deadline instead of starting a new wait. Operators defer with ``timeout=None``
  because Airflow's defer timeout cancels a trigger without ``on_kill``, leaking the operation.
- **on_kill cancels only when the task really left the deferred state.** Airflow 3.3 also calls
  ``on_kill`` when it moves a trigger to another triggerer; the task is then still ``deferred`` and
  the operation must go on.
"""

from __future__ import annotations

import asyncio
import datetime
import inspect
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from airflow.triggers.base import BaseTrigger, TriggerEvent
from asgiref.sync import sync_to_async

from netapp_dataops_airflow.exceptions import NetAppDataOpsError

Status = Literal["success", "failed", "timeout", "error"]
Event = dict[str, Any]


def deadline_after(wait: datetime.timedelta | float | None) -> float | None:
    """Turn a wait budget (a timedelta or seconds; ``None``: no limit) into an absolute deadline."""
    if wait is None:
        return None
    seconds = wait.total_seconds() if isinstance(wait, datetime.timedelta) else float(wait)
    if seconds <= 0:
        raise ValueError(f"deadline must be positive, got {wait!r}")
    return time.time() + seconds


def describe_deadline(deadline: float) -> str:
    """Format a deadline as an ISO timestamp in UTC, for messages."""
    return datetime.datetime.fromtimestamp(deadline, datetime.timezone.utc).isoformat(timespec="seconds")


class NetAppTrigger(BaseTrigger):
    """Base of every trigger here: serialization, the deadline, one event, a guarded ``on_kill``.

    Subclasses implement :meth:`wait` (return :meth:`success` or :meth:`failure`), :meth:`ids` (what
    identifies the operation in every event) and, if the operation can be stopped, :meth:`cancel`.

    :param deadline: POSIX timestamp after which the trigger yields ``timeout``; ``None``: no limit.
    :param cancel_on_kill: cancel the operation when the user kills the task (marks it failed,
        clears it) while it is deferred.
    """

    def __init__(self, *, deadline: float | None = None, cancel_on_kill: bool = True) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.deadline = deadline
        self.cancel_on_kill = cancel_on_kill
        self._fired = False

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Classpath and constructor kwargs, taken from the attributes named like the parameters."""
        parameters = inspect.signature(type(self).__init__).parameters
        kwargs = {name: getattr(self, name) for name in parameters if name != "self"}
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    def ids(self) -> dict[str, Any]:
        """Return the identifiers of the operation, repeated in every event."""
        return {}

    def describe(self) -> str:
        """Say what is waited for, in a few words, for log lines and messages."""
        return type(self).__name__

    async def wait(self) -> Event:
        """Wait for the operation to end; return :meth:`success` or :meth:`failure`."""
        raise NotImplementedError

    async def cancel(self) -> None:
        """Stop the remote operation (when the user kills the task). Default: nothing to stop."""

    def event(self, status: Status, message: str, result: dict[str, Any] | None = None) -> Event:
        """Build the one event this trigger yields."""
        return {"status": status, "message": message, **self.ids(), "result": result or {}}

    def success(self, message: str, result: dict[str, Any]) -> Event:
        """Report that the operation completed; ``result`` becomes the task's XCom."""
        return self.event("success", message, result)

    def failure(self, message: str, result: dict[str, Any] | None = None) -> Event:
        """Report that the operation ran and failed; ``message`` says why (the backend's words)."""
        return self.event("failed", message, result)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Yield exactly one event: the outcome, a timeout at the deadline, or an error."""
        self.log.info("Waiting for %s", self.describe())
        event = await self._outcome()
        self._fired = True  # the operation is over (or handed back): nothing left for on_kill
        yield TriggerEvent(event)  # type: ignore[no-untyped-call]

    async def _outcome(self) -> Event:
        remaining = None if self.deadline is None else self.deadline - time.time()
        try:
            if remaining is not None and remaining <= 0:
                raise asyncio.TimeoutError
            return await asyncio.wait_for(self.wait(), remaining)
        except asyncio.TimeoutError:
            if self.deadline is not None and time.time() >= self.deadline:
                when = describe_deadline(self.deadline)
                return self.event("timeout", f"{self.describe()} did not finish by its deadline {when}")
            return self.event("error", f"waiting for {self.describe()} timed out talking to the backend")
        except NetAppDataOpsError as exc:
            return self.event("error", str(exc))
        except Exception as exc:
            self.log.exception("Unexpected error while waiting for %s", self.describe())
            message = f"unexpected {type(exc).__name__} while waiting for {self.describe()}: {exc}"
            return self.event("error", message)

    async def on_kill(self) -> None:
        """Cancel the operation if the user killed the task; keep it if the trigger only moved."""
        if self._fired or not self.cancel_on_kill:
            return
        state = await self._task_state()
        if state != "not deferred":
            self.log.info("Not cancelling %s: the task is %s", self.describe(), state)
            return
        self.log.info("The task was stopped while deferred; cancelling %s", self.describe())
        await self.cancel()

    async def _task_state(self) -> str:
        """``"not deferred"`` when it is safe to cancel; otherwise a phrase saying why not."""
        ti = self.task_instance
        if ti is None:  # driven outside a triggerer: whoever calls on_kill means it
            return "not deferred"
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        try:
            states = await sync_to_async(RuntimeTaskInstance.get_task_states)(
                dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=ti.map_index
            )
        except Exception as exc:  # unknown is not permission: a wrong cancel cannot be undone
            return f"of unknown state ({type(exc).__name__}: {exc})"
        key = f"{ti.task_id}_{ti.map_index}" if ti.map_index >= 0 else ti.task_id
        state = states.get(ti.run_id, {}).get(key)
        if state == "deferred":
            return "still deferred (its trigger moved to another triggerer)"
        return "not deferred"
