"""The one batched poller: every wait on an endpoint is answered by one fetch per tick.

Backends without a watch API (ONTAP, Cloud Sync, XCP over SSH) are polled. Polling each operation
separately would send one request per waiting task per interval; a :class:`BatchedPoller` instead
asks once per tick for every key its waiters registered (``uuid=a|b|c`` for ONTAP, one listing per
account for Cloud Sync, one status command per host for XCP) and hands each waiter its record. The
load on a backend grows with the number of endpoints, not with the number of waiting tasks.

- A waiter registers a key and an interval with :meth:`BatchedPoller.watch` and receives each
  poll's view of its key: the record, ``None`` when the fetch did not return the key, a
  :class:`PollTrouble` when the poll failed in a way that may pass (the next tick tries again), or
  the exception when it will not pass (bad credentials, a bug): the wait must end then.
- The poller ticks at the smallest interval among its waiters, at least :attr:`min_interval`
  apart. The first poll comes one interval after the first waiter registered (the operator has
  just read the state), so waits that start together share it. A waiter with a shorter interval
  than the current one wakes the poller at once instead of waiting out the longer sleep.
- Its task runs in an empty ``contextvars`` context: Airflow routes a triggerer's log lines to a
  task's log by context, and the poller belongs to no single task. Waiters log their own progress.
- It is shared through the loop registry (:mod:`._shared`), which closes it when its last waiter
  leaves and when the loop ends.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from netapp_dataops_airflow.clients._values import number

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: Fetch the current records of the given keys, in one request (or as few as the API allows).
#: A key may map to an exception (that key alone failed) or be absent (not found in this poll).
Fetch = Callable[[frozenset[K]], Awaitable[Mapping[K, "V | BaseException"]]]


@dataclass(frozen=True)
class PollTrouble:
    """A poll failed in a way that may pass; the poller tries again at the next tick."""

    message: str


def check_poll_interval(value: Any, minimum: float) -> float:
    """Return ``value`` as seconds between polls, at least ``minimum``; otherwise raise."""
    return number(value, "poll_interval", minimum=minimum, unit="seconds")


class Subscription(Generic[K, V]):
    """One waiter's view of the poll: the latest result for its key."""

    def __init__(self, key: K, interval: float) -> None:
        self.key = key
        self.interval = interval
        self._latest: V | PollTrouble | BaseException | None = None
        self._ready = asyncio.Event()

    def deliver(self, update: V | PollTrouble | BaseException | None) -> None:
        """Hand over a poll result; only the latest one counts."""
        self._latest = update
        self._ready.set()

    async def next(self) -> V | PollTrouble | None:
        """Wait for the next poll's result; raise the error that ends the wait, if one came."""
        await self._ready.wait()
        self._ready.clear()
        update, self._latest = self._latest, None
        if isinstance(update, BaseException):
            raise update
        return update


class BatchedPoller(Generic[K, V]):
    """Poll the keys of one endpoint's waiters, one :data:`Fetch` per tick.

    :param name: what is polled, for log lines (no secrets).
    :param fetch: reads the records of a set of keys.
    :param is_transient: whether a failure may pass by itself (5xx, a dropped connection).
    :param min_interval: the shortest interval a waiter may ask for.
    """

    def __init__(
        self,
        name: str,
        fetch: Fetch[K, V],
        *,
        is_transient: Callable[[BaseException], bool],
        min_interval: float,
    ) -> None:
        self.name = name
        self.min_interval = min_interval
        self.polls = 0
        self._fetch = fetch
        self._is_transient = is_transient
        self._subscriptions: set[Subscription[K, V]] = set()
        # How many waiters asked for each interval: the shortest is found among the few distinct
        # intervals, not by scanning a thousand waiters at each registration.
        self._intervals: collections.Counter[float] = collections.Counter()
        self._changed = asyncio.Event()
        self._last_poll = asyncio.get_running_loop().time()
        self._task = contextvars.Context().run(
            asyncio.get_running_loop().create_task, self._run(), name=f"poller {name}"
        )

    @property
    def waiting(self) -> int:
        """How many waits the poller serves."""
        return len(self._subscriptions)

    @property
    def interval(self) -> float | None:
        """Seconds between polls now: the shortest interval among the waiters (``None`` without any)."""
        return self._interval()

    @contextlib.asynccontextmanager
    async def watch(self, key: K, interval: float) -> AsyncIterator[Subscription[K, V]]:
        """Receive every poll's result for ``key`` while inside the block.

        :raises InvalidInputError: ``interval`` is below :attr:`min_interval`.
        """
        interval = check_poll_interval(interval, self.min_interval)
        if self._task.done():
            raise RuntimeError(f"the poller of {self.name} has stopped")
        subscription: Subscription[K, V] = Subscription(key, interval)
        if not self._subscriptions:
            self._last_poll = asyncio.get_running_loop().time()  # first poll one interval from now
        shortest = self._interval()
        self._subscriptions.add(subscription)
        self._intervals[interval] += 1
        if shortest is None or interval < shortest:
            self._changed.set()
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)
            self._intervals[interval] -= 1
            if not self._intervals[interval]:
                del self._intervals[interval]

    def _interval(self) -> float | None:
        return min(self._intervals, default=None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                self._changed.clear()
                interval = self._interval()
                delay = None if interval is None else self._last_poll + interval - loop.time()
                if delay is None or delay > 0:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), delay)
                    continue  # waiters or intervals changed, or the time has come: look again
                self._last_poll = loop.time()
                await self.poll()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a bug here must end the waits, not leave them hanging
            log.exception("The poller of %s failed", self.name)
            for subscription in list(self._subscriptions):
                subscription.deliver(exc)

    async def poll(self) -> None:
        """Fetch every waited-on key once and hand each waiter its result."""
        subscriptions = list(self._subscriptions)
        if not subscriptions:
            return
        self.polls += 1
        try:
            found = await self._fetch(frozenset(s.key for s in subscriptions))
        except Exception as exc:
            update = self._classify(exc, f"polling {self.name}")
            for subscription in subscriptions:
                subscription.deliver(update)
            return
        for subscription in subscriptions:
            result = found.get(subscription.key)
            if isinstance(result, BaseException):
                subscription.deliver(self._classify(result, f"reading {subscription.key} on {self.name}"))
            else:
                subscription.deliver(result)

    def _classify(self, exc: BaseException, what: str) -> PollTrouble | BaseException:
        if self._is_transient(exc):
            return PollTrouble(f"{what} failed ({exc}); trying again at the next poll")
        return exc

    async def close(self) -> None:
        """Stop polling; waiters still registered get no further results."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
