"""The one registry of what the triggers of an event loop share: sessions, clients, informers, pollers.

A triggerer runs all its triggers in one event loop, so a thousand waits on one cluster should cost
one HTTP session, one API client, one watch or one poll, not a thousand. Every shared thing goes
through :class:`LoopRegistry`:

- **acquire by key, release when done.** The first user makes the thing (in a task of its own, so a
  cancelled first user does not cancel the making for the others); later users get the same one.
- **a version per key.** A key names *what* is shared (a cluster, an endpoint); the version says
  *with which credentials or settings*. A different version replaces the entry instead of adding
  one beside it: a rotated token retires the client made with the old one (closed when its last
  user leaves), so keys never grow without bound.
- **idle grace.** When the last user leaves, the thing is closed after ``idle_grace`` seconds unless
  someone acquires it again, so back-to-back waits reuse a warm watch or connection pool.
- **closed when the loop ends.** A triggerer's loop lives as long as the process, but ``dag.test()``,
  scripts and tests run each wait in ``asyncio.run()``, which cancels what is left and then closes
  every suspended async generator inside the loop (``loop.shutdown_asyncgens()``). One generator per
  loop, parked at its ``yield``, is therefore a shutdown hook that can still await: it closes every
  entry, so nothing needs closing by hand and no "unclosed session" outlives its loop.

Things shared here only need an idempotent ``async close()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger(__name__)


class Closeable(Protocol):
    """Anything shared: closing it twice must be harmless."""

    async def close(self) -> None:
        """Release what it holds (connections, tasks)."""


T = TypeVar("T", bound=Closeable)


@dataclass(eq=False)
class _Entry:
    key: Hashable
    version: Hashable
    making: asyncio.Task[Any]
    users: int = 0
    retired: bool = False
    idle_timer: asyncio.TimerHandle | None = field(default=None, repr=False)


@dataclass(eq=False)
class Lease(Generic[T]):
    """One user's hold on a shared thing; :meth:`release` it exactly once."""

    value: T
    _registry: LoopRegistry = field(repr=False)
    _entry: _Entry = field(repr=False)
    _released: bool = field(default=False, repr=False)

    async def retire(self) -> None:
        """Take the thing out of service: later acquires make a new one; it closes once unused.

        For a thing that broke for good (an informer that gave up). This lease stays valid until
        released, as do the other users' leases.
        """
        if not self._entry.retired:
            await self._registry._retire(self._entry)

    async def release(self, *, idle_grace: float = 0.0) -> None:
        """Give the thing back; the last user's release closes it after ``idle_grace`` seconds."""
        if not self._released:
            self._released = True
            await self._registry._release(self._entry, idle_grace)


class LoopRegistry:
    """The shared things of one event loop, by key. Get it with :func:`registry`."""

    def __init__(self) -> None:
        # No reference to the loop: the registry is stored weakly by its loop and must not pin it.
        self._entries: dict[Hashable, _Entry] = {}
        self._retired: set[_Entry] = set()
        self._hook: AsyncGenerator[None, None] | None = None

    def keys(self) -> list[Hashable]:
        """Return the keys in use now (for tests and statistics; keys may hold secrets: never log them)."""
        return list(self._entries)

    def users(self, key: Hashable) -> int:
        """Return how many users hold the thing under ``key`` (0 when there is none)."""
        entry = self._entries.get(key)
        return entry.users if entry is not None else 0

    async def acquire(
        self, key: Hashable, make: Callable[[], Coroutine[Any, Any, T]], *, version: Hashable = None
    ) -> Lease[T]:
        """Return a lease on the thing under ``key``, making it with ``make()`` if there is none.

        :param version: what the thing was made with (e.g. a hash of the credentials); an entry of
            another version is retired and replaced.
        :raises: whatever ``make()`` raised; the failed entry is dropped, the next acquire retries.
        """
        entry = self._entries.get(key)
        if entry is not None and entry.version != version:
            await self._retire(entry)
            entry = None
        if entry is None:
            # An empty context: the making must not carry the first user's log routing (Airflow
            # sends a triggerer's log lines to a task's log by context variables).
            making: asyncio.Task[T] = contextvars.Context().run(
                asyncio.get_running_loop().create_task, make()
            )
            entry = self._entries[key] = _Entry(key, version, making)
        entry.users += 1
        if entry.idle_timer is not None:
            entry.idle_timer.cancel()
            entry.idle_timer = None
        try:
            value = await asyncio.shield(entry.making)
        except BaseException:
            if entry.making.done() and not entry.making.cancelled() and entry.making.exception() is not None:
                self._forget(entry)
            await self._release(entry, 0.0)
            raise
        return Lease(value, self, entry)

    @contextlib.asynccontextmanager
    async def use(
        self,
        key: Hashable,
        make: Callable[[], Coroutine[Any, Any, T]],
        *,
        version: Hashable = None,
        idle_grace: float = 0.0,
    ) -> AsyncIterator[T]:
        """:meth:`acquire` for the length of a block, then release with ``idle_grace``."""
        lease = await self.acquire(key, make, version=version)
        try:
            yield lease.value
        finally:
            await lease.release(idle_grace=idle_grace)

    def _forget(self, entry: _Entry) -> None:
        if self._entries.get(entry.key) is entry:
            del self._entries[entry.key]

    async def _retire(self, entry: _Entry) -> None:
        """Take ``entry`` out of service: new users get a new one; close it once unused."""
        self._forget(entry)
        entry.retired = True
        if entry.users == 0:
            await self._close(entry)
        else:
            self._retired.add(entry)

    async def _release(self, entry: _Entry, idle_grace: float) -> None:
        entry.users -= 1
        if entry.users > 0:
            return
        if entry.retired or idle_grace <= 0:
            self._forget(entry)
            await self._close(entry)
        else:
            entry.idle_timer = asyncio.get_running_loop().call_later(idle_grace, self._expire, entry)

    def _expire(self, entry: _Entry) -> None:
        entry.idle_timer = None
        if entry.users == 0 and self._entries.get(entry.key) is entry:
            self._forget(entry)
            # Kept among the retired until closed, so a loop ending meanwhile still closes it.
            self._retired.add(entry)
            contextvars.Context().run(asyncio.get_running_loop().create_task, self._close(entry))

    async def _close(self, entry: _Entry) -> None:
        self._retired.discard(entry)
        if entry.idle_timer is not None:
            entry.idle_timer.cancel()
            entry.idle_timer = None
        try:
            value = await entry.making
        except BaseException:  # never made: nothing to close
            return
        try:
            await value.close()
        except Exception:
            log.warning("Closing a shared %s failed", type(value).__name__, exc_info=True)

    async def close_all(self) -> None:
        """Close everything, in use or not (the loop is ending)."""
        entries = [*self._entries.values(), *self._retired]
        self._entries.clear()
        for entry in entries:
            await self._close(entry)


_ATTRIBUTE = "_netapp_dataops_airflow_registry"
# For loops that take no attributes (C implementations): these are pinned for the process's life.
_PINNED: dict[asyncio.AbstractEventLoop, LoopRegistry] = {}


async def _close_at_loop_end(shared: LoopRegistry) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await shared.close_all()


async def registry() -> LoopRegistry:
    """Return the running loop's registry, creating it (and its shutdown hook) on first use.

    The registry hangs on the loop itself: a generator remembers its loop's finalizer, so a
    module-level map from loops to registries would keep every ended loop alive.
    """
    loop = asyncio.get_running_loop()
    found: LoopRegistry | None = getattr(loop, _ATTRIBUTE, None) or _PINNED.get(loop)
    if found is None:
        found = LoopRegistry()
        # Referenced by the registry, so it is finalized with the loop, not while the loop runs.
        found._hook = _close_at_loop_end(found)
        await found._hook.asend(None)
        try:
            setattr(loop, _ATTRIBUTE, found)
        except AttributeError:
            _PINNED[loop] = found
    return found
