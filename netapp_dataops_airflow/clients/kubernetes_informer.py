"""A shared informer: one LIST+WATCH per (cluster, resource, namespace) feeds every waiter in a loop.

A triggerer runs all its triggers in one event loop. If each of 1,000 snapshot waits opened its own
watch (or polled), the API server would carry 1,000 connections and decode every change 1,000 times.
Here the first waiter of a namespace starts an informer, later waiters join it, and it stops a short
while after the last one leaves.

The loop follows client-go's reflector: LIST (resourceVersion unset, a consistent read), replace the
cache and tell waiters what changed, WATCH from the list's resourceVersion, apply events, re-watch from
the last version seen when the server ends the stream, and relist after a 410 (never reuse a version
the server called too old). If watching is forbidden but listing is not, it polls with LIST instead.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from netapp_dataops_airflow.clients.kubernetes import (
    JSON,
    ClusterConfig,
    KubernetesClient,
    Resource,
    shared_client,
)
from netapp_dataops_airflow.exceptions import ApiError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Decide from an object's current state (``None``: it does not exist) whether the wait is over:
#: return the outcome, or ``None`` to keep waiting. Checks must be cheap: they run in the loop.
Check = Callable[["JSON | None"], "T | None"]

_FATAL = frozenset({401, 403, 404})


@dataclass
class InformerStats:
    """Counters that show how much the informer costs the API server."""

    lists: int = 0
    watches: int = 0
    events: int = 0
    relists_after_expiry: int = 0


@dataclass(eq=False)
class _Waiter(Generic[T]):
    name: str
    uid: str | None
    check: Check[T]
    future: asyncio.Future[T] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def offer(self, obj: JSON | None) -> None:
        """Show the waiter the object's state; resolve it if its check says the wait is over."""
        if self.future.done():
            return
        if obj is not None and self.uid is not None and obj.get("metadata", {}).get("uid") != self.uid:
            obj = None  # same name, another incarnation: the object waited for is gone
        try:
            outcome = self.check(obj)
        except Exception as exc:  # a failing check ends its own wait, not the informer
            self.future.set_exception(exc)
            return
        if outcome is not None:
            self.future.set_result(outcome)


class Informer:
    """Cache and watch one resource in one namespace (or cluster-wide for cluster-scoped kinds)."""

    def __init__(
        self,
        client: KubernetesClient,
        resource: Resource,
        namespace: str | None,
        *,
        watch_timeout: int = 300,
        poll_interval: float = 10.0,
        max_backoff: float = 30.0,
    ) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.cache: dict[str, JSON] = {}
        self.stats = InformerStats()
        self._watch_timeout = watch_timeout
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._waiters: dict[str, set[_Waiter[Any]]] = {}
        # Set once the first LIST succeeded, or once it failed in a way retrying will not fix.
        self._ready = asyncio.Event()
        self._failure: ApiError | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def where(self) -> str:
        """What the informer watches, for log lines."""
        scope = f"namespace {self.namespace!r}" if self.namespace else "the cluster"
        return f"{self.resource.plural} in {scope} at {self.client.host}"

    def start(self) -> None:
        """Start listing and watching in the background."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"informer {self.where}")

    async def stop(self) -> None:
        """Stop watching; waiters still registered are cancelled."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.future.cancel()

    async def wait_for(self, name: str, check: Check[T], *, uid: str | None = None) -> T:
        """Wait until ``check`` returns an outcome for the object called ``name``, and return it.

        :param uid: the object's uid from its creation; an object of the same name with another uid
            counts as this one being gone (deleted and recreated meanwhile).
        """
        waiter: _Waiter[T] = _Waiter(name, uid, check)
        # Register before reading anything: a change that lands in between still reaches us.
        self._waiters.setdefault(name, set()).add(waiter)
        try:
            await self._ready.wait()
            if self._failure is not None:
                if not waiter.future.done():
                    waiter.future.set_exception(self._failure)
            elif name in self.cache:
                waiter.offer(self.cache[name])
            else:
                # Not in the cache may mean "not seen yet" (created after the last event we read);
                # one GET tells that apart from "does not exist".
                await self._offer_fresh_read(waiter)
            return await waiter.future
        finally:
            waiters = self._waiters.get(name)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[name]

    async def _offer_fresh_read(self, waiter: _Waiter[T]) -> None:
        try:
            obj = await self.client.get(self.resource, waiter.name, self.namespace)
        except ApiError as exc:
            if exc.status == 404:
                if waiter.name not in self.cache:
                    waiter.offer(None)
                return
            if not waiter.future.done():
                waiter.future.set_exception(exc)
            return
        waiter.offer(obj)

    def _notify(self, name: str, obj: JSON | None) -> None:
        for waiter in list(self._waiters.get(name, ())):
            waiter.offer(obj)

    def _fail_all(self, exc: Exception) -> None:
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.future.done():
                    waiter.future.set_exception(exc)

    def _replace(self, items: list[JSON]) -> None:
        """Swap in a fresh LIST, telling waiters about what changed or vanished during a gap."""
        fresh = {item["metadata"]["name"]: item for item in items}
        vanished = self.cache.keys() - fresh.keys()
        changed = [
            name
            for name, obj in fresh.items()
            if self.cache.get(name, {}).get("metadata", {}).get("resourceVersion")
            != obj["metadata"].get("resourceVersion")
        ]
        self.cache = fresh
        for name in vanished:
            self._notify(name, None)
        for name in changed:
            self._notify(name, fresh[name])

    async def _list(self) -> str:
        listed = await self.client.list_objects(self.resource, self.namespace)
        self.stats.lists += 1
        self._replace(listed.items)
        self._failure = None
        self._ready.set()
        return listed.resource_version

    async def _watch(self, resource_version: str) -> str | None:
        """Apply one watch stream; return the version to resume from, or ``None`` to relist."""
        self.stats.watches += 1
        # Spread reconnects of many informers, as client-go does.
        timeout = int(self._watch_timeout * (1 + random.random()))
        async for event in self.client.watch(
            self.resource, self.namespace, resource_version=resource_version, timeout_seconds=timeout
        ):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                if obj.get("code") == 410:
                    self.stats.relists_after_expiry += 1
                    log.info("Watch of %s expired (%s); relisting", self.where, obj.get("message"))
                    return None
                raise ApiError(
                    f"watching {self.resource.plural} failed: {obj.get('message')}",
                    status=obj.get("code"),
                    reason=obj.get("reason"),
                )
            resource_version = obj.get("metadata", {}).get("resourceVersion", resource_version)
            if kind == "BOOKMARK":
                continue
            self.stats.events += 1
            name = obj["metadata"]["name"]
            if kind == "DELETED":
                self.cache.pop(name, None)
                self._notify(name, None)
            else:
                self.cache[name] = obj
                self._notify(name, obj)
        return resource_version

    async def _run(self) -> None:
        failures = 0
        resource_version: str | None = None
        polling = False
        while True:
            try:
                if resource_version is None or polling:
                    if polling:
                        await asyncio.sleep(self._poll_interval)
                    resource_version = await self._list()
                if not polling:
                    resource_version = await self._watch(resource_version)
                failures = 0
            except ApiError as exc:
                synced = self._ready.is_set() and self._failure is None
                if exc.status == 403 and synced and not polling:
                    log.warning("Watching %s is forbidden; polling with LIST instead: %s", self.where, exc)
                    polling = True
                    continue
                if exc.status in _FATAL and not synced:
                    # Retrying soon will not help (bad credentials, RBAC, a resource the cluster
                    # does not serve): tell the waiters now instead of at their deadlines.
                    self._failure = exc
                    self._ready.set()
                    self._fail_all(exc)
                failures += 1
                delay = min(self._max_backoff, 0.5 * 2 ** min(failures, 10)) * (0.5 + random.random() / 2)
                log.warning("%s; retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)


_registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Registry] = weakref.WeakKeyDictionary()


class _Registry:
    """The informers of one event loop, reference-counted by their waiters."""

    def __init__(self, idle_grace: float) -> None:
        self.idle_grace = idle_grace
        self.informers: dict[tuple[str, str, str | None], Informer] = {}
        self.users: dict[tuple[str, str, str | None], int] = {}
        self.stoppers: dict[tuple[str, str, str | None], asyncio.TimerHandle] = {}

    def acquire(self, key: tuple[str, str, str | None], make: Callable[[], Informer]) -> Informer:
        stopper = self.stoppers.pop(key, None)
        if stopper is not None:
            stopper.cancel()
        informer = self.informers.get(key)
        if informer is None:
            informer = self.informers[key] = make()
            informer.start()
        self.users[key] = self.users.get(key, 0) + 1
        return informer

    def release(self, key: tuple[str, str, str | None]) -> None:
        self.users[key] -= 1
        if self.users[key] == 0:
            loop = asyncio.get_running_loop()
            self.stoppers[key] = loop.call_later(self.idle_grace, lambda: loop.create_task(self._stop(key)))

    async def _stop(self, key: tuple[str, str, str | None]) -> None:
        self.stoppers.pop(key, None)
        if self.users.get(key) == 0:
            del self.users[key]
            await self.informers.pop(key).stop()

    async def stop_all(self) -> None:
        for stopper in self.stoppers.values():
            stopper.cancel()
        informers = list(self.informers.values())
        self.informers.clear()
        self.users.clear()
        self.stoppers.clear()
        for informer in informers:
            await informer.stop()


def _registry(idle_grace: float = 60.0) -> _Registry:
    loop = asyncio.get_running_loop()
    if loop not in _registries:
        _registries[loop] = _Registry(idle_grace)
    return _registries[loop]


@asynccontextmanager
async def shared_informer(
    cluster: ClusterConfig, resource: Resource, namespace: str | None
) -> AsyncIterator[Informer]:
    """Join (or start) this loop's informer for ``resource`` in ``namespace`` of ``cluster``.

    The informer outlives the block by an idle grace period, so back-to-back waits reuse its cache
    and its watch connection.
    """
    client = await shared_client(cluster)
    key = (cluster.key, resource.plural, namespace)
    registry = _registry()
    informer = registry.acquire(key, lambda: Informer(client, resource, namespace))
    try:
        yield informer
    finally:
        registry.release(key)


async def stop_shared_informers() -> None:
    """Stop every informer of the running loop (a triggerer's or a test's end)."""
    registry = _registries.pop(asyncio.get_running_loop(), None)
    if registry is not None:
        await registry.stop_all()
