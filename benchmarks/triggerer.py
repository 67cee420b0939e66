"""Drive triggers the way Airflow 3.3's triggerer does: with its own ``TriggerRunner``, in this process.

A triggerer is two processes: a supervisor that talks to the database and a ``TriggerRunner``
subprocess that runs every trigger in one event loop, the two exchanging messages over a socket
(``TriggerStateChanges`` up: events, finished and failed triggers; ``TriggerStateSync`` down:
triggers to create and to cancel). The runner only needs something at the other end of
``comms_decoder.asend()``: :class:`InProcessTriggerer` plays that supervisor in the same loop,
hands the runner its workloads (encrypted kwargs, as the database holds them) and takes the
events back. Everything on the runner's side is Airflow's code: creating triggers one at a time
with ``asyncio.sleep(0)`` in between, ``run_trigger`` (greenback portal, log context, the
"Trigger fired event" line), the sync once a second, its ``block_watchdog``.

The runner's loop wakes at most once a second to sync with the supervisor, so events are timed
where the runner records them (``TriggerRunner.events.append``), not when a supervisor would see
them.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Sequence
from typing import Any

# The runner imports these at its first trigger (the greenback portal's anyio streams, the SDK's
# cache): a triggerer that ever ran a trigger has them. Importing them here keeps a one-time cost
# of ~10-40 ms out of the start of every scenario.
import airflow.sdk.execution_time.cache  # noqa: F401
import anyio._core._sockets
import anyio._core._streams
import anyio.lowlevel
import anyio.streams.memory
import anyio.streams.stapled
import anyio.streams.tls  # noqa: F401
from airflow.executors import workloads
from airflow.jobs.triggerer_job_runner import TriggerRunner, messages
from airflow.models.trigger import Trigger
from airflow.triggers.base import BaseTrigger


class _TimedEvents(collections.deque):  # type: ignore[type-arg]
    """The runner's outbound event queue, noting when each event was queued."""

    def __init__(self, on_event: Callable[[int, Any, float], None]) -> None:
        super().__init__()
        self._on_event = on_event

    def append(self, entry: Any) -> None:
        self._on_event(entry.trigger_id, entry.event, time.time())
        super().append(entry)


class _Comms:
    """The supervisor's end of the runner's comms channel."""

    def __init__(self, triggerer: InProcessTriggerer) -> None:
        self._triggerer = triggerer
        # The runner checks this task to notice a lost supervisor: it never ends here.
        self._reader_task: asyncio.Task[None] = asyncio.get_running_loop().create_task(asyncio.Event().wait())

    async def asend(self, msg: Any) -> messages.TriggerStateSync:
        return self._triggerer.exchange(msg)


class InProcessTriggerer(TriggerRunner):  # type: ignore[misc]
    """Airflow's ``TriggerRunner`` with an in-process supervisor that feeds it ``triggers``.

    :param triggers: the triggers to run (each is serialized and rebuilt by the runner, as
        Airflow does with the kwargs it stored).
    :param on_event: called with (index in ``triggers``, event, ``time.time()``) for each event.
    """

    def __init__(self, triggers: Sequence[BaseTrigger], on_event: Callable[[int, Any, float], None]) -> None:
        super().__init__()
        self._pending: list[workloads.RunTrigger] = []
        for index, trigger in enumerate(triggers):
            classpath, kwargs = trigger.serialize()
            # The runner imports the class by its path; a class made at run time is handed over.
            cls = type(trigger)
            if classpath == f"{cls.__module__}.{cls.__qualname__}":
                self.trigger_cache[classpath] = cls
            self._pending.append(
                workloads.RunTrigger(
                    id=index, classpath=classpath, encrypted_kwargs=Trigger.encrypt_kwargs(kwargs)
                )
            )
        self.expected = len(triggers)
        self.received = 0
        self.failures: list[Any] = []
        self._on_event = on_event
        self.events = _TimedEvents(self._event)

    def _event(self, trigger_id: int, event: Any, at: float) -> None:
        self.received += 1
        self._on_event(trigger_id, event, at)

    async def init_comms(self) -> None:
        """Connect to the in-process supervisor instead of the socket on stdin."""
        self.comms_decoder = _Comms(self)

    def exchange(self, msg: messages.TriggerStateChanges) -> messages.TriggerStateSync:
        """Answer the runner's periodic sync: all triggers at the first, nothing later."""
        if msg.failures:
            self.failures.extend(msg.failures)
        to_create, self._pending = self._pending, []
        if self.received + len(self.failures) >= self.expected and not to_create:
            self.stop = True
        return messages.TriggerStateSync(to_create=to_create, to_cancel=[])

    def finish(self) -> None:
        """Stop the runner's loop at its next turn."""
        self.stop = True
        if self._stop_event is not None:
            self._stop_event.set()


async def run_in_triggerer(runner: InProcessTriggerer, *, give_up_after: float = 600) -> InProcessTriggerer:
    """Run the runner until each of its triggers has fired or failed; return it.

    Build the runner before anything is timed: encrypting the kwargs is the supervisor's (and the
    database's) work, done in another process in a real triggerer.
    """
    task = asyncio.get_running_loop().create_task(runner.arun(), name="trigger runner")
    deadline = time.monotonic() + give_up_after
    try:
        while runner.received + len(runner.failures) < runner.expected and not task.done():
            if time.monotonic() > deadline:
                fired = f"{runner.received} of {runner.expected} triggers fired"
                raise TimeoutError(f"{fired} in {give_up_after:g} s")
            await asyncio.sleep(0.05)
    finally:
        runner.finish()
        await task
    if runner.failures:
        raise RuntimeError(f"{len(runner.failures)} triggers failed in the runner: {runner.failures[:3]}")
    return runner
