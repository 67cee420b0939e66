"""The control loop that runs the simulated cluster's controllers against the store.

Each pass runs every reconciler once; a reconciler moves each object at most one step and reports
how long until a step it is waiting for becomes due. A pass runs after every change to the store
(the reconcilers' own writes included) and when a step comes due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from .models import KubernetesBackend

logger = logging.getLogger(__name__)


class Gates:
    """Per-step "not before" times: a step waits its delay, a failed step waits the retry delay."""

    def __init__(self) -> None:
        self._not_before: dict[tuple[str, str], float] = {}
        self.next_due: float | None = None

    def ready(self, step: str, uid: str, delay: float) -> bool:
        """Whether ``step`` for object ``uid`` may run now (its delay starts the first time asked)."""
        now = time.monotonic()
        due = self._not_before.setdefault((step, uid), now + delay)
        if due <= now:
            return True
        self._wake_in(due - now)
        return False

    def done(self, step: str, uid: str) -> None:
        """Forget the timer of a step that succeeded."""
        self._not_before.pop((step, uid), None)

    def retry(self, step: str, uid: str, delay: float) -> None:
        """Schedule a failed step to run again after ``delay``."""
        self._not_before[(step, uid)] = time.monotonic() + delay
        self._wake_in(delay)

    def forget_except(self, uids: set[str]) -> None:
        """Drop timers of objects that no longer exist."""
        self._not_before = {k: v for k, v in self._not_before.items() if k[1] in uids}

    def _wake_in(self, seconds: float) -> None:
        self.next_due = seconds if self.next_due is None else min(self.next_due, seconds)


Reconciler = Callable[[KubernetesBackend, Gates], None]


class ControllerLoop:
    """Runs reconcilers in an asyncio task, woken by store changes and due steps."""

    def __init__(self, backend: KubernetesBackend, reconcilers: list[Reconciler]) -> None:
        self._backend = backend
        self._reconcilers = reconcilers
        self._gates = Gates()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

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
        """Run every reconciler once; return seconds until the next due step (None: nothing waits)."""
        self._gates.next_due = None
        for reconcile in self._reconcilers:
            try:
                reconcile(self._backend, self._gates)
            except Exception:  # a simulator bug must not stop the other controllers
                logger.exception("simulated controller %s failed", reconcile.__name__)
        self._gates.forget_except(self._backend.uids())
        return self._gates.next_due

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            next_due = self.run_once()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), next_due)
