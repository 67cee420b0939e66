"""The control loop that runs the simulated cluster's controllers against the store.

Each pass runs every reconciler; a reconciler moves each object at most one step and reports how
long until a step it is waiting for becomes due. A pass runs after every change to the store (the
reconcilers' own writes included) and when a step comes due.

A *full* pass looks at every object, as the first design did for every change. With thousands of
snapshots that made the simulator, not the client under test, the slow part of every benchmark,
so a pass woken only by changes a reconciler can follow on its own (see :data:`INCREMENTAL`) asks
such a reconciler, through its ``incremental`` attribute, to look only at the changed objects and
those that depend on them. Every other wake-up (a step come due, a created or deleted object, a
change of another kind, a history too short to say what changed) is a full pass, so what the
cluster does never depends on which kind of pass ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import astuple

from . import kinds
from .models import Change, KubernetesBackend

logger = logging.getLogger(__name__)

#: Kinds whose changes an incremental pass can follow. Events change no controller's input.
INCREMENTAL = frozenset({kinds.SNAPSHOTS, kinds.CONTENTS, kinds.EVENTS})


class Gates:
    """Per-step "not before" times: a step waits its delay, a failed step waits the retry delay.

    A step's delay counts from the first time it was asked about and is read anew on every ask,
    so a changed :class:`~.timing.Timing` applies to steps already waiting (a benchmark holds
    every clone with a day-long delay, then ends them all at once by setting it to 0).
    """

    def __init__(self) -> None:
        self._asked: dict[tuple[str, str], float] = {}
        self._retry_at: dict[tuple[str, str], float] = {}
        #: Monotonic time of the earliest step asked about that was not due yet (a full pass then).
        self.wake_at: float | None = None

    def ready(self, step: str, uid: str, delay: float) -> bool:
        """Whether ``step`` for object ``uid`` may run now (its delay starts the first time asked)."""
        now, key = time.monotonic(), (step, uid)
        due = self._retry_at.get(key)
        if due is None:
            due = self._asked.setdefault(key, now) + delay
        if due <= now:
            return True
        self._wake_at(due)
        return False

    def done(self, step: str, uid: str) -> None:
        """Forget the timer of a step that succeeded."""
        self._asked.pop((step, uid), None)
        self._retry_at.pop((step, uid), None)

    def retry(self, step: str, uid: str, delay: float) -> None:
        """Schedule a failed step to run again after ``delay``."""
        due = time.monotonic() + delay
        self._retry_at[(step, uid)] = due
        self._wake_at(due)

    def forget_except(self, uids: set[str]) -> None:
        """Drop timers of objects that no longer exist."""
        self._asked = {k: v for k, v in self._asked.items() if k[1] in uids}
        self._retry_at = {k: v for k, v in self._retry_at.items() if k[1] in uids}

    def _wake_at(self, due: float) -> None:
        self.wake_at = due if self.wake_at is None else min(self.wake_at, due)


Reconciler = Callable[[KubernetesBackend, Gates], None]
#: A reconciler's ``incremental`` form: the same steps for the objects ``changes`` touch.
IncrementalReconciler = Callable[[KubernetesBackend, Gates, list[Change]], None]


class ControllerLoop:
    """Runs reconcilers in an asyncio task, woken by store changes and due steps."""

    def __init__(self, backend: KubernetesBackend, reconcilers: list[Reconciler]) -> None:
        self._backend = backend
        self._reconcilers = reconcilers
        self._gates = Gates()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # The resourceVersion the last pass started from; None: the next pass is a full one.
        self._seen: int | None = None
        # The timing the last pass ran with: a change makes the next pass a full one.
        self._timing: tuple[float, ...] = ()
        #: Passes run, full and incremental (for tests and benchmarks).
        self.passes = {"full": 0, "incremental": 0}

    def start(self) -> None:
        """Start the loop in the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._backend.add_listener(self._kick)
        self._task = self._loop.create_task(self._run())

    async def stop(self) -> None:
        """Stop the loop and wait for it to end."""
        self._backend.remove_listener(self._kick)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _kick(self) -> None:
        # Called by the store from whichever thread wrote.
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def run_once(self) -> float | None:
        """Run every reconciler once over every object; return seconds until the next due step."""
        return self._pass(None)

    def run_changes(self) -> float | None:
        """Run a pass over what changed since the last pass (a full pass when that cannot be told)."""
        changes = None if self._seen is None else self._backend.changes_since(self._seen)
        return self._pass(changes)

    def _pass(self, changes: list[Change] | None) -> float | None:
        started = self._backend.resource_version
        now = time.monotonic()
        due = self._gates.wake_at is not None and self._gates.wake_at <= now
        timing, self._timing = self._timing, astuple(self._backend.timing)
        retimed = timing != self._timing  # waiting steps' delays changed: ask every one again
        incremental = (
            changes is not None and not due and not retimed and all(c.kind in INCREMENTAL for c in changes)
        )
        if not incremental:
            self._gates.wake_at = None  # every waiting step is asked again, and sets it anew
        self.passes["incremental" if incremental else "full"] += 1
        for reconcile in self._reconcilers:
            try:
                follow: IncrementalReconciler | None = getattr(reconcile, "incremental", None)
                if incremental and follow is not None:
                    assert changes is not None
                    follow(self._backend, self._gates, changes)
                else:
                    reconcile(self._backend, self._gates)
            except Exception:  # a simulator bug must not stop the other controllers
                logger.exception("simulated controller %s failed", reconcile.__name__)
        if not incremental:
            self._gates.forget_except(self._backend.uids())
        self._seen = started
        if self._gates.wake_at is None:
            return None
        return max(0.0, self._gates.wake_at - time.monotonic())

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            next_due = self.run_changes()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), next_due)
