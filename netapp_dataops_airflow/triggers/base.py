"""The contract every trigger of this library keeps (docs/semantics.md says what it means to users).

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
- **A refused connection is read again, once**: a 401 or 403 from :meth:`NetAppTrigger.wait` runs
  it once more (it reads its connection afresh), so a rotated password does not fail the task.
- **on_kill cancels only when the task was marked failed.** Airflow 3.3 also calls ``on_kill`` for
  "mark success" and "clear", when it moves a trigger to another triggerer, and after the trigger
  fired elsewhere; none of these asks to undo the operation.
- **A cancel never destroys a finished result**: :meth:`NetAppTrigger.cancel` leaves a ready
  snapshot, a bound claim or an ended transfer alone, in a way that cannot race with it finishing.
"""

from __future__ import annotations

import asyncio
import datetime
import inspect
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any, Literal

from airflow.triggers.base import BaseTrigger, TriggerEvent
from asgiref.sync import sync_to_async

from netapp_dataops_airflow.exceptions import ApiError, NetAppDataOpsError

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

    Subclasses implement :meth:`wait` (read the connection, then return :meth:`success` or
    :meth:`failure`), :meth:`ids` (what identifies the operation in every event), :meth:`connection_id`
    and, if the operation can be stopped, :meth:`cancel`.

    :param deadline: POSIX timestamp after which the trigger yields ``timeout``; ``None``: no limit.
    :param cancel_on_kill: cancel the operation when the user marks the task failed while it is
        deferred.
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

    def connection_id(self) -> str | None:
        """Name the Airflow connection :meth:`wait` uses, for error messages; ``None``: none."""
        return None

    async def wait(self) -> Event:
        """Wait for the operation to end; return :meth:`success` or :meth:`failure`.

        Read the connection at the start, every time: after a 401 or 403 the base calls ``wait``
        once more, so that a connection fixed in the meantime is used.
        """
        raise NotImplementedError

    async def cancel(self) -> None:
        """Stop the remote operation (the task was marked failed). Default: nothing to stop.

        Never destroy a finished result: check first that the operation has not completed (a
        ready snapshot, a bound claim, a succeeded transfer) and keep it if it has, in a way that
        cannot race with it completing (a precondition on the delete, or an abort the backend
        refuses for an ended operation). Raise if the cancel could not be sent.
        """

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
        try:
            return await self._before_deadline(self._wait_rereading_refused_credentials())
        except _DeadlinePassed:
            when = describe_deadline(self.deadline) if self.deadline is not None else "?"
            return self.event("timeout", f"{self.describe()} did not finish by its deadline {when}")
        except _CredentialsRefused as exc:
            return self.event("error", str(exc))
        except (asyncio.TimeoutError, TimeoutError):  # a backend's own timeout, never the deadline
            return self.event("error", f"waiting for {self.describe()} timed out talking to the backend")
        except ApiError as exc:
            return self.event("error", f"{self._connection()}{exc}")
        except NetAppDataOpsError as exc:
            return self.event("error", str(exc))
        except Exception as exc:
            self.log.exception("Unexpected error while waiting for %s", self.describe())
            message = f"unexpected {type(exc).__name__} while waiting for {self.describe()}: {exc}"
            return self.event("error", message)

    async def _before_deadline(self, work: Coroutine[Any, Any, Event]) -> Event:
        """Run ``work`` until the deadline; past it, cancel it and raise :class:`_DeadlinePassed`.

        The wall clock is read once, to turn the deadline into a delay the event loop's monotonic
        clock measures: a clock stepped back while waiting cannot make the deadline look unmet.
        Only this method raises ``_DeadlinePassed``, so a ``TimeoutError`` from the backend inside
        ``work`` stays an error (``asyncio.wait_for`` would mix the two up).
        """
        remaining = None if self.deadline is None else self.deadline - time.time()
        if remaining is not None and remaining <= 0:
            work.close()
            raise _DeadlinePassed
        waiting = asyncio.ensure_future(work)
        try:
            done, _ = await asyncio.wait({waiting}, timeout=remaining)
        finally:
            if not waiting.done():  # the deadline, or this trigger itself is being cancelled
                waiting.cancel()
                await asyncio.wait({waiting})
        if not done:
            raise _DeadlinePassed
        return waiting.result()

    async def _wait_rereading_refused_credentials(self) -> Event:
        """:meth:`wait`; after a 401 or 403, once more: it reads the connection afresh (rotated?)."""
        try:
            return await self.wait()
        except ApiError as exc:
            if exc.refusal is None:
                raise
            self.log.warning(
                "%s: %srefused (%s); reading the connection again and retrying once",
                self.describe(),
                self._connection(),
                exc.refusal,
            )
        try:
            return await self.wait()
        except ApiError as exc:
            if exc.refusal is None:
                raise
            raise _CredentialsRefused(
                f"{self._connection()}credentials or permissions rejected ({exc.refusal}) twice, the "
                f"second time after reading the connection again ({exc}); fix the connection or the "
                f"user's permissions, then clear the task: it continues with {self.describe()}"
            ) from None

    def _connection(self) -> str:
        """Return ``"connection 'x': "`` to start a message, or nothing when the trigger names none."""
        conn_id = self.connection_id()
        return f"connection {conn_id!r}: " if conn_id else ""

    async def on_kill(self) -> None:
        """Cancel the operation only if the task was marked failed (docs/semantics.md has the table).

        Airflow 3.3 calls ``on_kill`` when a user marks the task failed, marks it success or clears
        it, and also when it moves the trigger to another triggerer or the trigger already fired
        on one; only "failed" means "stop". Anything else, a failed lookup included, keeps the
        operation: a wrong cancel cannot be undone, a missed one can.

        The decision and the cancel run in a task of their own that outlives this call: the
        triggerer cancels the trigger again, for as long as it is not done, while ``on_kill`` still
        waits for the task's state, and swallows the ``CancelledError`` that causes (as it does
        ``on_kill_timeout``). Without the shield a marked-failed task's cancel was never sent.
        """
        work = asyncio.ensure_future(self._kill())
        try:
            await asyncio.shield(work)
        except asyncio.CancelledError:
            if not work.done():
                self.log.info("on_kill was interrupted; %s is still being decided on", self.describe())
                _KILLS_UNDER_WAY.add(work)
                work.add_done_callback(self._orphaned_kill_done)
            raise

    def _orphaned_kill_done(self, work: asyncio.Future[None]) -> None:
        """Forget a kill that outlived its ``on_kill``, reporting a failure nobody else will see."""
        _KILLS_UNDER_WAY.discard(work)
        if not work.cancelled() and (failure := work.exception()) is not None:
            self.log.error("Cancelling %s failed: %s", self.describe(), failure, exc_info=failure)

    async def _kill(self) -> None:
        """Decide from the task's state, and cancel the operation if it was marked failed."""
        if self._fired or not self.cancel_on_kill:
            return
        ti = self.task_instance
        if ti is None:
            # Airflow's triggerer always sets the task instance of a task's trigger, and dag.test()
            # never calls on_kill: a caller without one (a test, a script) means it.
            self.log.info("on_kill called outside a triggerer; cancelling %s", self.describe())
            await self.cancel()
            return
        keep = await self._reason_to_keep(ti)
        if keep is not None:
            self.log.info("Not cancelling %s: %s", self.describe(), keep)
            return
        self.log.info("The task is marked failed; cancelling %s", self.describe())
        await self.cancel()

    async def _reason_to_keep(self, ti: Any) -> str | None:
        """Ask Airflow for the task's state: ``None`` when it is ``failed``, else why to keep going."""
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        try:
            states = await sync_to_async(RuntimeTaskInstance.get_task_states)(
                dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=ti.map_index
            )
        except Exception as exc:
            return f"its state could not be read ({type(exc).__name__}: {exc})"
        key = f"{ti.task_id}_{ti.map_index}" if ti.map_index >= 0 else ti.task_id
        run = states.get(ti.run_id, {})
        if key not in run:
            return "Airflow no longer knows the task instance (was its run deleted?)"
        return kill_decision(run[key])


# Kills whose caller was cancelled before they ended: held here so they run to the end instead of
# being collected (the loop keeps only weak references to tasks).
_KILLS_UNDER_WAY: set[asyncio.Future[None]] = set()


class _DeadlinePassed(Exception):
    """Raised by :meth:`NetAppTrigger._before_deadline` only, so nothing else can be taken for it."""


class _CredentialsRefused(NetAppDataOpsError):
    """The backend refused the connection twice, the second time after reading it again."""


_ABOUT_TO_RUN = (
    "the task is about to run: it resumed with its trigger's event (fired on another triggerer), or "
    "runs again (cleared or retried) and reattaches to the operation"
)
# Why on_kill keeps the operation, by the task's state ("failed", the only stop order, is absent).
_KEEP: dict[str | None, str] = {
    "deferred": "the task is still deferred (its trigger moved to another triggerer)",
    "success": "the task is marked success (or succeeded): its result stays",
    None: "the task was cleared: its next try reattaches to the operation",
    "scheduled": _ABOUT_TO_RUN,
    "queued": _ABOUT_TO_RUN,
    "restarting": "the task runs again (cleared or retried): that try reattaches to the operation",
    "up_for_retry": "the task will be retried: that try reattaches to the operation",
    "running": "the task resumed (its trigger fired on another triggerer) or runs again",
}


def kill_decision(state: str | None) -> str | None:
    """Decide ``on_kill`` from the task's state: ``None`` to cancel, else the reason to keep going."""
    if state == "failed":
        return None
    return _KEEP.get(state, f"the task is {state!r}, not failed; only marking it failed cancels")
