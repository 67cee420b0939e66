"""One batched relationship poll per cluster for every SnapMirror wait in a triggerer.

A triggerer runs all its triggers in one event loop. Polling each transfer separately would send
one request per waiting task per interval; instead, waits on the same cluster (same address,
user and TLS settings) share a :class:`RelationshipPoller`: one HTTP session, and per tick one
``GET /api/snapmirror/relationships?uuid=a|b|c`` (split into batches of
:data:`~netapp_dataops_airflow.clients.ontap.BATCH_SIZE`) whose records are handed to each waiter.
So the load on a cluster grows with the number of clusters, not with the number of waiting tasks.

- A waiter registers with :func:`watch_relationship` and receives every poll's view of its
  relationship, a :class:`PollTrouble` when a poll failed transiently (the next tick tries
  again), or an exception when the failure will not go away (bad credentials, the relationship
  deleted): the wait must end then.
- Each request is retried a few times within the poll, paced by the interval (:func:`retry_policy`);
  a poll that still fails is reported to the waiters and the next tick tries again.
- The poller ticks at the smallest poll interval among its waiters; the first poll comes one
  interval after the first waiter registers (the operator read the state just before deferring),
  so waits that start together share it.
- When the last waiter leaves, the poller stops; the next waiter starts a new one. Its HTTP
  session is the loop's shared one for the cluster (closed by the loop registry when idle or when
  the loop ends).
- The poller's task runs in an empty ``contextvars`` context: Airflow routes a triggerer's log
  lines to a task's log by context variables, and the poller belongs to no single task. Waiters
  log from their own trigger's task.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import weakref
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass

from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.clients.ontap import WAIT_AND_RETRY_CODES, OntapClient, Relationship
from netapp_dataops_airflow.exceptions import ApiError, OntapError
from netapp_dataops_airflow.hooks.ontap import OntapConnection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollTrouble:
    """A poll failed in a way that may pass; the poller tries again at the next tick."""

    message: str


def retry_policy(interval: float) -> RetryPolicy:
    """Retries within one poll, paced by the poll interval: the next poll is the real retry."""
    return RetryPolicy(attempts=3, initial_wait=min(0.5, interval / 10), max_wait=interval)


def is_transient(exc: BaseException) -> bool:
    """Whether a failed request may succeed later unchanged (after the client's own retries)."""
    if not isinstance(exc, ApiError):
        return False
    if exc.status is None:
        return exc.reason == "connection"  # not "tls": a certificate does not fix itself
    if isinstance(exc, OntapError) and exc.code in WAIT_AND_RETRY_CODES:
        return True
    return exc.status == 429 or exc.status >= 500


class Watch:
    """One waiter's subscription: the latest poll result for its relationship."""

    def __init__(self, poller: RelationshipPoller, relationship_uuid: str, interval: float) -> None:
        self.poller = poller
        self.relationship_uuid = relationship_uuid
        self.interval = interval
        self._latest: Relationship | PollTrouble | BaseException | None = None
        self._ready = asyncio.Event()

    @property
    def client(self) -> OntapClient:
        """The poller's client, sharing its session (for the waiter's own occasional reads)."""
        return self.poller.client

    def deliver(self, update: Relationship | PollTrouble | BaseException) -> None:
        """Hand over a poll result; only the latest one counts."""
        self._latest = update
        self._ready.set()

    async def next(self) -> Relationship | PollTrouble:
        """Wait for the next poll result; raise the error that ends the wait, if one came."""
        await self._ready.wait()
        self._ready.clear()
        update, self._latest = self._latest, None
        if isinstance(update, BaseException):
            raise update
        assert update is not None
        return update


_POLLERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, RelationshipPoller]] = (
    weakref.WeakKeyDictionary()
)


class RelationshipPoller:
    """Poll the relationships a cluster's waiters wait on, one batched request per tick."""

    def __init__(self, key: Hashable, settings: OntapConnection, interval: float) -> None:
        self.key = key
        self.client = settings.client(retry=retry_policy(interval))
        self._watches: set[Watch] = set()
        self._pollers = _POLLERS.setdefault(asyncio.get_running_loop(), {})
        self._pollers[key] = self
        # Empty context: the task must not carry the first waiter's log routing (see module doc).
        self._task = contextvars.Context().run(
            asyncio.get_running_loop().create_task, self._run(), name=f"ontap-poller {self.client.base_url}"
        )

    @property
    def waiting(self) -> int:
        """How many waits the poller serves."""
        return len(self._watches)

    def add(self, watch: Watch) -> None:
        """Start serving a waiter."""
        self._watches.add(watch)

    def remove(self, watch: Watch) -> None:
        """Stop serving a waiter; stop polling (now, not at the next tick) if it was the last."""
        self._watches.discard(watch)
        if not self._watches and self._pollers.get(self.key) is self:
            del self._pollers[self.key]  # from here on, new waiters start a new poller
            self._task.cancel()

    async def _run(self) -> None:
        try:
            while self._watches:
                await asyncio.sleep(min(watch.interval for watch in self._watches))
                await self.poll()
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # a bug must end the waits, not leave them hanging
            log.exception("SnapMirror status poller of %s failed", self.client.base_url)
            for watch in list(self._watches):
                watch.deliver(exc)
        finally:
            if self._pollers.get(self.key) is self:
                del self._pollers[self.key]

    async def poll(self) -> None:
        """Read every waited-on relationship (batched) and hand each waiter its record."""
        watches = list(self._watches)
        wanted = sorted({watch.relationship_uuid for watch in watches})
        try:
            found: dict[str, Relationship | BaseException] = {
                r.uuid: r for r in await self.client.list_relationships(uuids=wanted)
            }
        except Exception as exc:
            update: PollTrouble | BaseException = (
                PollTrouble(f"polling {self.client.base_url} failed ({exc}); trying again")
                if is_transient(exc)
                else exc
            )
            for watch in watches:
                watch.deliver(update)
            return
        for uuid in wanted:
            if uuid not in found:
                # Absent from a query is not yet "deleted": ask for it directly, once.
                found[uuid] = await self._lookup(uuid)
        for watch in watches:
            result = found[watch.relationship_uuid]
            if isinstance(result, BaseException) and is_transient(result):
                watch.deliver(PollTrouble(f"reading the relationship failed ({result}); trying again"))
            else:
                watch.deliver(result)

    async def _lookup(self, uuid: str) -> Relationship | BaseException:
        try:
            return await self.client.get_relationship(uuid)
        except OntapError as exc:
            if exc.status == 404:
                return OntapError(
                    f"SnapMirror relationship {uuid} no longer exists on {self.client.base_url}",
                    status=404,
                    code=exc.code,
                )
            return exc
        except ApiError as exc:
            return exc


@contextlib.asynccontextmanager
async def watch_relationship(
    settings: OntapConnection, relationship_uuid: str, interval: float
) -> AsyncIterator[Watch]:
    """Subscribe to the shared poll of ``relationship_uuid`` on the connection's cluster."""
    pollers = _POLLERS.setdefault(asyncio.get_running_loop(), {})
    poller = pollers.get(settings.cluster_key) or RelationshipPoller(settings.cluster_key, settings, interval)
    watch = Watch(poller, relationship_uuid, interval)
    poller.add(watch)
    try:
        yield watch
    finally:
        poller.remove(watch)
