"""Cloud Sync domain helpers shared by the operator and the trigger; no Airflow.

- **Which activity is ours**: :func:`is_ours`. Right after ``PUT .../sync`` the relationship can
  still show the previous activity as ``DONE``; an activity counts as this task's sync only if it
  was seen pending or running, or started later than the activity shown before the request.
  Both times come from the service, so the worker's clock never enters the comparison.
- **Words and results**: :func:`sync_result` (the task's XCom), :func:`failure_reason`,
  :func:`progress`.
- **Aborting** a sync that may have ended meanwhile: :func:`abort_sync`.
- **One poll per account**: every wait on an account in an event loop subscribes to one
  :class:`~._poller.BatchedPoller` (:func:`watch_relationship`), keyed by API URL, token URL, TLS
  and account (no secret) and versioned by a hash of the refresh token. A tick is one
  ``GET /relationships-v2`` for every relationship waited on there, plus a direct read of any the
  listing lacked (a 404 ends that wait alone). The load on the service grows with the number of
  accounts, not with the number of waiting tasks.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Collection, Hashable
from typing import Any, Protocol

from netapp_dataops_airflow.clients import _poller
from netapp_dataops_airflow.clients._http import TlsSettings, TransientFailures, default_transient_status
from netapp_dataops_airflow.clients._poller import BatchedPoller, PollTrouble, Subscription
from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.clients._shared import registry
from netapp_dataops_airflow.clients.cloud_sync import Activity, CloudSyncClient, Relationship
from netapp_dataops_airflow.exceptions import ApiError, CloudSyncError, NetAppDataOpsError

log = logging.getLogger(__name__)

#: The shortest ``poll_interval`` accepted, in seconds. One poll serves every wait on an account,
#: so this bounds the load: at most one listing a second per account and triggerer. NetApp's own
#: clients poll every 10 to 60 seconds.
MIN_POLL_INTERVAL = 1.0
_NOTHING_TO_ABORT = re.compile(r"no (running|active)|not running|nothing to abort", re.IGNORECASE)


class CloudSyncTarget(Protocol):
    """An account and the identity used on it (``hooks.cloud_sync.CloudSyncConnection`` is one)."""

    @property
    def api_url(self) -> str:
        """The API's base URL."""

    @property
    def token_url(self) -> str:
        """The token endpoint."""

    @property
    def account_id(self) -> str | None:
        """The account, or ``None`` for the user's only one."""

    @property
    def refresh_token(self) -> str:
        """The refresh token (never logged)."""

    @property
    def tls(self) -> TlsSettings:
        """How the service's certificate is verified."""

    def client(self, *, retry: RetryPolicy | None = None) -> CloudSyncClient:
        """Return a client of the account."""


def check_poll_interval(value: Any) -> float:
    """Return ``value`` as seconds between polls; below :data:`MIN_POLL_INTERVAL` it is an input error."""
    return _poller.check_poll_interval(value, MIN_POLL_INTERVAL)


def is_ours(activity: Activity | None, after: datetime.datetime | None, *, seen_active: bool) -> bool:
    """Whether a finished ``activity`` is the sync this task waits for.

    :param after: when the activity shown before the sync request had started (``None``: none was
        shown, or it had no start time); a finished activity that started (or, never started,
        ended) later is ours.
    :param seen_active: an activity was seen pending or running since the request (or the task
        adopted a running one): the next finished one is ours.
    """
    if activity is None or not activity.terminal:
        return False
    if seen_active:
        return True
    # A sync that failed before it started may carry only an end time: it is as telling.
    moment = activity.start_time or activity.end_time
    if moment is None:
        return False
    return after is None or moment > after


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def sync_result(relationship: Relationship, activity: Activity) -> dict[str, Any]:
    """Describe a finished sync in plain JSON (the task's XCom, less ``adopted``)."""
    start, end = activity.start_time, activity.end_time
    return {
        "relationship_id": relationship.id,
        "source": relationship.source.as_dict(),
        "target": relationship.target.as_dict(),
        "status": activity.status,
        **{_snake(name): value for name, value in activity.counters.items()},
        "start_time": start.isoformat() if start is not None else None,
        "end_time": end.isoformat() if end is not None else None,
        "duration_seconds": (end - start).total_seconds() if start is not None and end is not None else None,
        "failure_message": activity.failure_message or None,
        "top_errors": list(activity.top_errors),
    }


def failure_reason(activity: Activity) -> str:
    """Cloud Sync's own words for a failed sync: its message and its most common errors."""
    reason = activity.failure_message or f"Cloud Sync reports the sync {activity.status}"
    errors = [
        f"{e.get('description') or e.get('errorCode')} (x{e.get('counter', '?')})"
        for e in activity.top_errors
        if e.get("description") or e.get("errorCode")
    ]
    return reason + ("; most common errors: " + "; ".join(errors) if errors else "")


def progress(activity: Activity) -> str:
    """Describe an activity's progress: ``RUNNING 42%: 1.2 GiB, 420 files copied of 1000 marked``."""
    counters = activity.counters
    percent = f" {activity.progress}%" if activity.progress is not None else ""
    copied = counters.get("bytesCopied")
    amount = f"{_size(copied)}, " if copied is not None else ""
    return (
        f"{activity.status}{percent}: {amount}{counters.get('filesCopied', '?')} files copied of "
        f"{counters.get('filesMarkedForCopy', '?')} marked, {counters.get('filesFailed', 0)} failed"
    )


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


async def abort_sync(client: CloudSyncClient, relationship_id: str) -> str:
    """Abort the running sync; return what happened, in a sentence (nothing running is no error)."""
    try:
        await client.abort_sync(relationship_id)
    except CloudSyncError as exc:
        if exc.status == 400 and _NOTHING_TO_ABORT.search(str(exc)):
            return (
                f"the sync of Cloud Sync relationship {relationship_id} had already ended; nothing to abort"
            )
        raise
    return f"Aborted the sync of Cloud Sync relationship {relationship_id}"


def retry_policy(interval: float) -> RetryPolicy:
    """Retries within one poll, paced by the poll interval: the next poll is the real retry."""
    return RetryPolicy(attempts=3, initial_wait=min(0.5, interval / 10), max_wait=interval)


def _answer_of(exc: BaseException) -> ApiError | None:
    return exc if isinstance(exc, ApiError) and exc.status is not None else None


#: Whether a failed read may succeed at a later poll: 429, 5xx, or no answer for a reason other than TLS.
is_transient = TransientFailures(_answer_of, default_transient_status)


async def read_relationships(
    client: CloudSyncClient, ids: Collection[str]
) -> dict[str, Relationship | BaseException]:
    """Read relationships: one listing of the account, then each one it lacked, alone (404: gone)."""
    wanted = set(ids)
    found: dict[str, Relationship | BaseException] = {
        r.id: r for r in await client.list_relationships() if r.id in wanted
    }
    for relationship_id in sorted(wanted - found.keys()):
        try:
            found[relationship_id] = await client.get_relationship(relationship_id)
        except CloudSyncError as exc:
            found[relationship_id] = (
                CloudSyncError(f"Cloud Sync relationship {relationship_id} no longer exists", status=404)
                if exc.status == 404
                else exc
            )
    return found


class AccountPoll:
    """The relationship poll of one account in one event loop; shared, see :func:`watch_relationship`."""

    def __init__(self, target: CloudSyncTarget) -> None:
        self._target = target  # holds the refresh token: never log or show it
        self.name = f"Cloud Sync account {target.account_id or '(the only one)'} at {target.api_url}"
        self._client: tuple[float, CloudSyncClient] | None = None
        self.poller: BatchedPoller[str, Relationship] = BatchedPoller(
            self.name, self._fetch, is_transient=is_transient, min_interval=MIN_POLL_INTERVAL
        )

    def client(self) -> CloudSyncClient:
        """Return a client on the poll's session and tokens, retries paced by the poll interval."""
        interval = self.poller.interval or self.poller.min_interval
        if self._client is None or self._client[0] != interval:
            self._client = (interval, self._target.client(retry=retry_policy(interval)))
        return self._client[1]

    async def _fetch(self, ids: frozenset[str]) -> dict[str, Relationship | BaseException]:
        try:
            return await read_relationships(self.client(), ids)
        except ApiError:
            raise
        except NetAppDataOpsError:
            raise
        except Exception as exc:  # an answer the client could not read, or a bug: end every wait, say why
            log.warning("Polling %s failed", self.name, exc_info=True)
            raise NetAppDataOpsError(
                f"polling {self.name} failed: unexpected {type(exc).__name__}: {exc}"
            ) from exc

    async def close(self) -> None:
        """Stop polling."""
        await self.poller.close()


class RelationshipWatch:
    """One wait's view of its account's poll: each tick's record of its relationship."""

    def __init__(self, poll: AccountPoll, subscription: Subscription[str, Relationship]) -> None:
        self._poll = poll
        self._subscription = subscription

    @property
    def name(self) -> str:
        """The account polled, for messages."""
        return self._poll.name

    async def next(self) -> Relationship | PollTrouble:
        """Wait for the next poll; raise the error that ends the wait (bad token, relationship deleted)."""
        update = await self._subscription.next()
        if update is None:
            return PollTrouble(f"the poll of {self.name} did not return the relationship; trying again")
        return update


def _poll_key(target: CloudSyncTarget) -> Hashable:
    return ("cloud sync poll", target.api_url, target.token_url, target.tls, target.account_id)


def _fingerprint(target: CloudSyncTarget) -> str:
    return hashlib.sha256(target.refresh_token.encode()).hexdigest()


@contextlib.asynccontextmanager
async def watch_relationship(
    target: CloudSyncTarget, relationship_id: str, interval: float
) -> AsyncIterator[RelationshipWatch]:
    """Subscribe to the shared poll of ``relationship_id`` on the target's account.

    :raises InvalidInputError: ``interval`` is below :data:`MIN_POLL_INTERVAL`.
    """
    shared = await registry()

    async def make() -> AccountPoll:
        return AccountPoll(target)

    lease = await shared.acquire(_poll_key(target), make, version=_fingerprint(target))
    try:
        async with lease.value.poller.watch(relationship_id, interval) as subscription:
            yield RelationshipWatch(lease.value, subscription)
    finally:
        await lease.release()
