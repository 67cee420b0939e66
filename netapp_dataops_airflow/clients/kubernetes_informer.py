"""A shared informer: one LIST+WATCH per (cluster, resource, namespace) feeds every waiter in a loop.

A triggerer runs all its triggers in one event loop. If each of 1,000 snapshot waits opened its own
watch (or polled), the API server would carry 1,000 connections and decode every change 1,000 times.
Here the first waiter of a namespace starts an informer, later waiters join it, and it stops
:data:`IDLE_GRACE` seconds after the last one leaves. Informers live in the loop registry
(:mod:`._shared`), keyed by cluster identity, resource and namespace and versioned by the
credentials, so a rotated token brings a new informer; each holds a lease on its cluster's shared
API client while it runs, and the registry closes whatever is left when the loop ends.

The loop follows client-go's reflector: LIST (resourceVersion unset, a consistent read), replace the
cache and tell waiters what changed, WATCH from the list's resourceVersion, apply events, re-watch from
the last version seen when the server ends the stream, and relist after a 410 (never reuse a version
the server called too old). If watching is forbidden but listing is not, it polls with LIST instead.

An informer gives up, failing every waiter with the reason, when

- the API answers 401, 403 or 404 before the first LIST succeeded (credentials, RBAC or the resource
  are wrong: waiting will not fix them);
- such an answer persists for :data:`FATAL_ATTEMPTS` attempts with backoff after that (a revoked
  or rotated token, a changed role);
- anything unexpected happens in its task (an event it cannot parse, a bug).

The next waiter then starts a fresh informer. Other failures (5xx, an unreachable server) are
retried with backoff for as long as waiters wait: their deadlines decide.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from netapp_dataops_airflow.clients._shared import Lease, registry
from netapp_dataops_airflow.clients.kubernetes import (
    CLIENT_IDLE_GRACE,
    JSON,
    ClusterConfig,
    KubernetesClient,
    Resource,
    acquire_client,
)
from netapp_dataops_airflow.exceptions import ApiError, NetAppDataOpsError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Decide from an object's current state (``None``: it does not exist) whether the wait is over:
#: return the outcome, or ``None`` to keep waiting. Checks must be cheap: they run in the loop.
Check = Callable[["JSON | None"], "T | None"]

_FATAL = frozenset({401, 403, 404})
#: Attempts, with backoff, before a 401/403/404 that came after a successful LIST ends the waits.
FATAL_ATTEMPTS = 3
#: Seconds an informer without waiters keeps watching, for the next wait on its namespace.
IDLE_GRACE = 60.0
#: Waiters let through per loop turn once the first LIST is in. A thousand waits that joined
#: before it would otherwise all run their check (and log a line) in one turn of the loop.
ADMIT_PER_TURN = 100


@dataclass
class InformerStats:
    """Counters that show how much the informer costs the API server."""

    lists: int = 0
    watches: int = 0
    events: int = 0
    relists_after_expiry: int = 0
    reads: int = 0  # GETs of one object a waiter not in the cache made (answered, whatever the answer)


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
        client_lease: Lease[KubernetesClient] | None = None,
    ) -> None:
        """Prepare the informer; :meth:`start` starts it.

        :param client_lease: the lease on ``client`` that :meth:`close` releases, if it holds one.
        """
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.cache: dict[str, JSON] = {}
        self.stats = InformerStats()
        self._watch_timeout = watch_timeout
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._waiters: dict[str, set[_Waiter[Any]]] = {}
        # Set once the first LIST succeeded, or once the informer gave up.
        self._ready = asyncio.Event()
        self._failure: NetAppDataOpsError | None = None
        self._task: asyncio.Task[None] | None = None
        self._client_lease = client_lease
        # Admission after the first LIST: how many passed this turn, who waits for a later one.
        self._admitted = 0
        self._queue: collections.deque[asyncio.Future[None]] = collections.deque()
        self._turn_scheduled = False

    @property
    def where(self) -> str:
        """What the informer watches, for log lines."""
        scope = f"namespace {self.namespace!r}" if self.namespace else "the cluster"
        return f"{self.resource.plural} in {scope} at {self.client.host}"

    @property
    def given_up(self) -> bool:
        """Whether the informer stopped for good (every waiter got the reason)."""
        return self._failure is not None

    def start(self) -> None:
        """Start listing and watching in the background."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"informer {self.where}")

    async def close(self) -> None:
        """Stop watching, cancel the waiters still registered, release what it holds (twice is harmless)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.future.cancel()
        if self._client_lease is not None:
            await self._client_lease.release(idle_grace=CLIENT_IDLE_GRACE)

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
            await self._admission()
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

    async def _admission(self) -> None:
        """Wait for a turn of the loop with room: at most :data:`ADMIT_PER_TURN` waiters per turn."""
        if self._admitted < ADMIT_PER_TURN and not self._queue:
            self._admitted += 1
            self._schedule_turn()
            return
        turn = asyncio.get_running_loop().create_future()
        self._queue.append(turn)
        self._schedule_turn()
        await turn

    def _schedule_turn(self) -> None:
        if not self._turn_scheduled:
            self._turn_scheduled = True
            asyncio.get_running_loop().call_soon(self._next_turn)

    def _next_turn(self) -> None:
        self._turn_scheduled = False
        self._admitted = 0
        while self._queue and self._admitted < ADMIT_PER_TURN:
            turn = self._queue.popleft()
            if not turn.done():  # a waiter cancelled meanwhile needs no turn
                turn.set_result(None)
                self._admitted += 1
        if self._queue:
            self._schedule_turn()

    async def _offer_fresh_read(self, waiter: _Waiter[T]) -> None:
        try:
            obj = await self.client.get(self.resource, waiter.name, self.namespace)
        except ApiError as exc:
            self.stats.reads += 1
            if exc.status == 404:
                if waiter.name not in self.cache:
                    waiter.offer(None)
                return
            if not waiter.future.done():
                waiter.future.set_exception(exc)
            return
        self.stats.reads += 1
        waiter.offer(obj)

    def _notify(self, name: str, obj: JSON | None) -> None:
        for waiter in list(self._waiters.get(name, ())):
            waiter.offer(obj)

    def _give_up(self, failure: NetAppDataOpsError) -> None:
        """Fail every waiter, present and future, with ``failure``."""
        log.warning("%s", failure)
        self._failure = failure
        self._ready.set()
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.future.done():
                    waiter.future.set_exception(failure)

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
        if not self._ready.is_set():
            return  # the first LIST: each waiter reads the cache itself, in its turn (see _admission)
        for name in vanished:
            self._notify(name, None)
        for name in changed:
            self._notify(name, fresh[name])

    async def _list(self) -> str:
        listed = await self.client.list_objects(self.resource, self.namespace)
        self.stats.lists += 1
        self._replace(listed.items)
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
        failure: NetAppDataOpsError
        try:
            failure = await self._reflect()
        except Exception as exc:  # a bug or an unreadable answer must end the waits, not hang them
            log.exception("The informer for %s failed", self.where)
            failure = NetAppDataOpsError(
                f"watching {self.where} stopped on an unexpected {type(exc).__name__}: {exc}"
            )
            failure.__cause__ = exc
        self._give_up(failure)

    async def _reflect(self) -> ApiError:
        """List and watch until an error says to give up; return that error."""
        failures = fatal = 0
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
                failures = fatal = 0
            except ApiError as exc:
                synced = self._ready.is_set()
                if exc.status == 403 and synced and not polling:
                    log.warning("Watching %s is forbidden; polling with LIST instead: %s", self.where, exc)
                    polling = True
                    continue
                if exc.status in _FATAL:
                    # Before the first LIST nothing ever worked: say so now. After it, a token may be
                    # mid-rotation or a role re-applied: give it a few tries first.
                    fatal += 1
                    if not synced or fatal >= FATAL_ATTEMPTS:
                        tries = f" (tried {fatal} times)" if fatal > 1 else ""
                        return ApiError(
                            f"stopped watching {self.where}: HTTP {exc.status}{tries}: {exc}",
                            status=exc.status,
                            reason=exc.reason,
                        )
                failures += 1
                delay = min(self._max_backoff, 0.5 * 2 ** min(failures, 10)) * (0.5 + random.random() / 2)
                log.warning("%s; retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)


def informer_key(cluster: ClusterConfig, resource: Resource, namespace: str | None) -> tuple[str, ...]:
    """Return the registry key of the informer for ``resource`` in ``namespace`` of ``cluster``."""
    return ("kubernetes-informer", *cluster.identity, resource.plural, namespace or "")


async def _open_informer(cluster: ClusterConfig, resource: Resource, namespace: str | None) -> Informer:
    lease = await acquire_client(cluster)
    informer = Informer(lease.value, resource, namespace, client_lease=lease)
    informer.start()
    return informer


@asynccontextmanager
async def shared_informer(
    cluster: ClusterConfig, resource: Resource, namespace: str | None
) -> AsyncIterator[Informer]:
    """Join (or start) this loop's informer for ``resource`` in ``namespace`` of ``cluster``.

    The informer outlives the block by :data:`IDLE_GRACE` seconds, so back-to-back waits reuse its
    cache and its watch connection. One that gave up is replaced: the next block gets a fresh one.
    """
    shared = await registry()
    key = informer_key(cluster, resource, namespace)
    make = functools.partial(_open_informer, cluster, resource, namespace)
    lease = await shared.acquire(key, make, version=cluster.key)
    if lease.value.given_up:  # it gave up while nobody waited
        await lease.retire()
        await lease.release()
        lease = await shared.acquire(key, make, version=cluster.key)
    try:
        yield lease.value
    finally:
        if lease.value.given_up:
            await lease.retire()
        await lease.release(idle_grace=IDLE_GRACE)
