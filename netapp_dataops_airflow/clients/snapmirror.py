"""SnapMirror domain helpers shared by the operator and the trigger; no Airflow.

- **Words for people**: :func:`size`, :func:`transfer_result` (the task's XCom) and
  :func:`failure_reason` (ONTAP's own words for a failed transfer).
- **Aborting** a transfer that may have ended meanwhile: :func:`abort_transfer`.
- **One poll per cluster**: every SnapMirror wait on a cluster in an event loop subscribes to one
  :class:`~._poller.BatchedPoller` (:func:`watch_relationship`), shared through the loop registry
  and keyed by the cluster without secrets (address, user, TLS settings); its version is a
  fingerprint of the credentials, so a changed password replaces the poller instead of adding
  one. A tick reads every waited-on relationship at once (:func:`read_relationships`).
- **ONTAP before 9.10 forgets finished transfers**: :func:`summary_is_ours` says when the
  relationship's summary of its last transfer can only describe ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import logging
from collections.abc import AsyncIterator, Collection, Hashable
from typing import Any, Protocol, TypeVar

from netapp_dataops_airflow.clients import _poller
from netapp_dataops_airflow.clients._http import TlsSettings, TransientFailures, default_transient_status
from netapp_dataops_airflow.clients._poller import BatchedPoller, PollTrouble, Subscription
from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.clients._shared import registry
from netapp_dataops_airflow.clients.ontap import WAIT_AND_RETRY_CODES, OntapClient, Relationship, Transfer
from netapp_dataops_airflow.exceptions import ApiError, NetAppDataOpsError, OntapError

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The shortest ``poll_interval`` accepted, in seconds. One poll serves every wait on a cluster, so
#: this bounds the load a cluster sees from one triggerer: at most one relationship read a second.
#: ONTAP queues REST requests and rejects connections when the queue is full; the fastest real
#: client (Trident) polls once a second, NetApp's own library every 5 s.
MIN_POLL_INTERVAL = 1.0
#: Transfer reads by UUID in flight at once per cluster and loop. A thousand transfers ending in
#: one tick would otherwise open a connection each (TLS handshakes in the triggerer's loop) and
#: queue a thousand requests at the cluster; a few kept-alive connections serve them faster.
TRANSFER_READS = 8
# Answers to an abort that mean "nothing left to abort": the transfer already ended ("SnapMirror
# transfer state is invalid"), or ONTAP no longer knows it ("entry doesn't exist"; before 9.10).
_ABORT_TOO_LATE = frozenset({"13303849", "4"})


class OntapTarget(Protocol):
    """A cluster and the identity used on it (``hooks.ontap.OntapConnection`` is one)."""

    @property
    def host(self) -> str:
        """The cluster's management address."""

    @property
    def username(self) -> str:
        """The ONTAP user."""

    @property
    def password(self) -> str:
        """Its password (never logged)."""

    @property
    def tls(self) -> TlsSettings:
        """How the cluster's certificate is verified."""

    def client(self, *, retry: RetryPolicy | None = None) -> OntapClient:
        """Return a client of the cluster (its HTTP session is the event loop's shared one)."""


def check_poll_interval(value: Any) -> float:
    """Return ``value`` as seconds between polls; below :data:`MIN_POLL_INTERVAL` it is an input error."""
    return _poller.check_poll_interval(value, MIN_POLL_INTERVAL)


def size(count: int | None) -> str:
    """Format a byte count for people: ``1.5 GiB``."""
    if count is None:
        return "an unknown amount"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def transfer_result(relationship: Relationship, transfer: Transfer, transfer_uuid: str) -> dict[str, Any]:
    """Describe a finished transfer in plain JSON (the task's XCom, less ``adopted``)."""
    return {
        "relationship_uuid": relationship.uuid,
        "transfer_uuid": transfer_uuid,
        "state": transfer.state,
        "bytes_transferred": transfer.bytes_transferred,
        "end_time": transfer.end_time.isoformat() if transfer.end_time is not None else None,
        "duration_seconds": transfer.duration_seconds,
        "snapshot": transfer.snapshot,
        "source_path": relationship.source_path,
        "destination_path": relationship.destination_path,
    }


def failure_reason(relationship: Relationship, transfer: Transfer) -> str:
    """ONTAP's own words for why a transfer failed or was aborted."""
    reason = transfer.error_message or f"ONTAP reports the transfer {transfer.state}"
    if transfer.error_code:
        reason += f" (ONTAP code {transfer.error_code})"
    if relationship.unhealthy_reasons:
        reason += "; relationship unhealthy: " + " / ".join(relationship.unhealthy_reasons)
    return reason


async def abort_transfer(client: OntapClient, relationship_uuid: str, transfer_uuid: str) -> str:
    """Abort a transfer; return what happened, in a sentence (an already ended one is left alone)."""
    try:
        await client.abort_transfer(relationship_uuid, transfer_uuid)
    except OntapError as exc:
        if exc.code in _ABORT_TOO_LATE:
            return f"SnapMirror transfer {transfer_uuid} had already ended; nothing to abort"
        raise
    return f"Aborted SnapMirror transfer {transfer_uuid} of relationship {relationship_uuid}"


def summary_is_ours(
    summary: Transfer | None, previous_end: datetime.datetime | None, *, seen_running: bool
) -> bool:
    """Whether a relationship's last-transfer summary describes our transfer, which ONTAP no longer lists.

    ONTAP before 9.10 forgets a transfer once it ends, and the relationship's summary of its last
    transfer names no UUID. Right after a transfer starts, the summary may still describe the one
    before it. So the summary (finished, naming no transfer) is ours when:

    - we saw ours running and nothing runs now; or
    - it ended later than the previous transfer had ended when ours was started
      (``previous_end``; ``None``: the relationship showed no finished transfer then). ONTAP runs
      one transfer per relationship at a time, so a later end is ours, unless yet another
      transfer started and ended before we looked.

    ONTAP reports end times to the second: a transfer that ends in the same second as the one
    before it cannot be told from it, and the wait ends as "unknown to ONTAP", never with the
    other transfer's outcome. A summary without an end time (the oldest releases) counts only once
    ours was seen running.
    """
    if summary is None or summary.uuid is not None or not summary.terminal:
        return False
    if seen_running:
        return True
    if summary.end_time is None:
        return False
    if previous_end is None:
        return True
    if (summary.end_time.tzinfo is None) != (previous_end.tzinfo is None):
        return False  # one without an offset: not comparable, so not known to be ours
    return summary.end_time > previous_end


def retry_policy(interval: float) -> RetryPolicy:
    """Retries within one poll, paced by the poll interval: the next poll is the real retry."""
    return RetryPolicy(attempts=3, initial_wait=min(0.5, interval / 10), max_wait=interval)


def _answer_of(exc: BaseException) -> ApiError | None:
    return exc if isinstance(exc, ApiError) and exc.status is not None else None


def _transient_answer(answer: ApiError) -> bool:
    return default_transient_status(answer) or (
        isinstance(answer, OntapError) and answer.code in WAIT_AND_RETRY_CODES
    )


#: Whether a failed read may succeed at a later poll (after the client's own retries): 429, 5xx,
#: ONTAP's "wait and retry" codes, or no answer for a reason other than TLS.
is_transient = TransientFailures(_answer_of, _transient_answer)


async def read_relationships(
    client: OntapClient, uuids: Collection[str]
) -> dict[str, Relationship | BaseException]:
    """Read relationships by UUID: batched ``uuid=a|b|c`` queries, then each one they lacked, alone.

    Absent from a query is not yet "deleted": only a 404 of the direct read is, and it ends the wait
    on that relationship alone (as an :class:`OntapError` saying it no longer exists).
    """
    wanted = sorted(uuids)
    found: dict[str, Relationship | BaseException] = {
        relationship.uuid: relationship for relationship in await client.list_relationships(uuids=wanted)
    }
    for uuid in wanted:
        if uuid not in found:
            found[uuid] = await _lookup(client, uuid)
    return found


async def _lookup(client: OntapClient, uuid: str) -> Relationship | BaseException:
    try:
        return await client.get_relationship(uuid)
    except OntapError as exc:
        if exc.status == 404:
            return OntapError(
                f"SnapMirror relationship {uuid} no longer exists on {client.base_url}",
                status=404,
                code=exc.code,
            )
        return exc
    except ApiError as exc:
        return exc


class ClusterPoll:
    """The relationship poll of one cluster in one event loop; shared, see :func:`watch_relationship`."""

    def __init__(self, target: OntapTarget) -> None:
        self._target = target  # holds the password: never log or show it
        self.base_url = target.client().base_url
        self._client: tuple[float, OntapClient] | None = None
        self.poller: BatchedPoller[str, Relationship] = BatchedPoller(
            self.base_url, self._fetch, is_transient=is_transient, min_interval=MIN_POLL_INTERVAL
        )
        self.transfer_reads = asyncio.Semaphore(TRANSFER_READS)

    def client(self) -> OntapClient:
        """Return a client on the poll's session, its retries paced by the interval of the latest poll.

        Waits call this after every poll that ends their transfer: it must not look at every wait.
        """
        return self._client[1] if self._client is not None else self._paced()

    def _paced(self) -> OntapClient:
        interval = self.poller.interval or self.poller.min_interval
        if self._client is None or self._client[0] != interval:
            retry = retry_policy(interval)
            self._client = (interval, self._target.client(retry=retry))
        return self._client[1]

    async def _fetch(self, uuids: frozenset[str]) -> dict[str, Relationship | BaseException]:
        try:
            return await read_relationships(self._paced(), uuids)
        except ApiError:
            raise
        except Exception as exc:  # an answer the client could not read, or a bug: end every wait, say why
            log.warning("Polling SnapMirror relationships on %s failed", self.base_url, exc_info=True)
            raise NetAppDataOpsError(
                f"polling SnapMirror relationships on {self.base_url} failed: "
                f"unexpected {type(exc).__name__}: {exc}"
            ) from exc

    async def close(self) -> None:
        """Stop polling."""
        await self.poller.close()


class RelationshipWatch:
    """One wait's view of its cluster's poll: each tick's record of its relationship."""

    def __init__(self, poll: ClusterPoll, subscription: Subscription[str, Relationship]) -> None:
        self._poll = poll
        self._subscription = subscription

    @property
    def base_url(self) -> str:
        """The cluster's base URL, for messages."""
        return self._poll.base_url

    def client(self) -> OntapClient:
        """Return the poll's client, for the wait's own occasional reads (its transfer, by UUID)."""
        return self._poll.client()

    async def read_transfer(self, relationship_uuid: str, transfer_uuid: str) -> Transfer:
        """Read a transfer by UUID on the poll's session, at most :data:`TRANSFER_READS` at once."""
        async with self._poll.transfer_reads:
            return await self._poll.client().get_transfer(relationship_uuid, transfer_uuid)

    async def next(self) -> Relationship | PollTrouble:
        """Wait for the next poll; raise the error that ends the wait (bad credentials, deleted)."""
        update = await self._subscription.next()
        if update is None:  # read_relationships answers for every key; be safe all the same
            return PollTrouble(f"the poll of {self.base_url} did not return the relationship; trying again")
        return update


def _poll_key(target: OntapTarget) -> Hashable:
    return ("snapmirror poll", target.host, target.username, target.tls)


def _fingerprint(target: OntapTarget) -> str:
    return hashlib.sha256(f"{target.username}\0{target.password}".encode()).hexdigest()


@contextlib.asynccontextmanager
async def watch_relationship(
    target: OntapTarget, relationship_uuid: str, interval: float
) -> AsyncIterator[RelationshipWatch]:
    """Subscribe to the shared poll of ``relationship_uuid`` on the target's cluster.

    The cluster's poll starts with its first waiter and stops when its last one leaves.

    :raises InvalidInputError: ``interval`` is below :data:`MIN_POLL_INTERVAL`.
    """
    shared = await registry()

    async def make() -> ClusterPoll:
        return ClusterPoll(target)

    lease = await shared.acquire(_poll_key(target), make, version=_fingerprint(target))
    try:
        async with lease.value.poller.watch(relationship_uuid, interval) as subscription:
            yield RelationshipWatch(lease.value, subscription)
    finally:
        await lease.release()
