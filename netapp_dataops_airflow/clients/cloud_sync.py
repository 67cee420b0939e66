"""Async Cloud Sync (BlueXP copy and sync) API client: accounts, relationships, sync, abort. No Airflow.

Every request carries ``Authorization: Bearer <access token>`` (from :mod:`.cloud_sync_tokens`,
shared per refresh token in the event loop) and, except ``/accounts``, ``x-account-id``. A 401
renews the token once and repeats the request; 429, 5xx and dropped connections are retried by the
shared policy. The account is the connection's, or the only one ``/accounts`` lists (several and
none chosen is an error naming them).

Starting a sync is only the start: a 202 means accepted, and right after it the relationship can
still show the *previous* activity as ``DONE``. Callers compare the activity's start time with the
request time (see :mod:`.cloud_sync_watch`).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from netapp_dataops_airflow.clients._http import DEFAULT_TIMEOUT, HttpEndpoint, HttpResult, TlsSettings
from netapp_dataops_airflow.clients._json import dig
from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.clients.cloud_sync_tokens import (
    DEFAULT_TOKEN_URL,
    TokenSource,
    split_url,
    tokens,
)
from netapp_dataops_airflow.exceptions import CloudSyncError, InvalidInputError, SyncInProgressError

DEFAULT_API_URL = "https://api.cloudsync.netapp.com/api"
ACTIVE_STATUSES = frozenset({"PENDING", "RUNNING"})
FAILED_STATUSES = frozenset({"FAILED", "ABORTED", "CANCELED", "CANCELLED", "TIMEOUT"})
TERMINAL_STATUSES = FAILED_STATUSES | {"DONE"}
SYNC_RUNNING_TEXT = "sync action is running"
_ID = re.compile(r"^[0-9a-fA-F]{24}$")
#: The activity counters reported in results, as the API names them.
COUNTERS = (
    "bytesScanned",
    "filesScanned",
    "dirsScanned",
    "bytesMarkedForCopy",
    "filesMarkedForCopy",
    "dirsMarkedForCopy",
    "bytesCopied",
    "filesCopied",
    "dirsCopied",
    "bytesFailed",
    "filesFailed",
    "dirsFailed",
    "bytesMarkedForRemove",
    "filesMarkedForRemove",
    "bytesRemoved",
    "filesRemoved",
    "filesRemovedFailed",
)


def check_relationship_id(value: Any) -> str:
    """Return ``value`` if it is a relationship id (24 hex digits); otherwise raise."""
    if not isinstance(value, str) or not _ID.match(value.strip()):
        raise InvalidInputError(
            f"the Cloud Sync relationship id {value!r} is not valid (expected 24 hex digits, as "
            "`python -m netapp_dataops_airflow relationships` or the Cloud Sync UI shows)"
        )
    return value.strip().lower()


def parse_time(value: Any) -> datetime.datetime | None:
    """Parse an ISO 8601 time or epoch milliseconds (both are seen); ``None`` if absent or bad."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and value > 0:
        return datetime.datetime.fromtimestamp(value / 1000, datetime.timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


@dataclass(frozen=True)
class Endpoint:
    """One side of a relationship: protocol and where (NFS host and export path, or S3 bucket)."""

    protocol: str
    host: str | None
    path: str | None

    @classmethod
    def from_record(cls, record: Any) -> Endpoint:
        """Read ``source`` / ``target``: ``{"protocol": p, p: {...}}``."""
        protocol = str(dig(record, "protocol") or "unknown")
        details = dig(record, protocol)
        details = details if isinstance(details, dict) else {}
        if "bucket" in details:
            host, path = details.get("bucket"), details.get("prefix")
        elif "container" in details:
            host, path = details.get("storageAccountName"), details.get("container")
        else:
            host = details.get("host")
            path = "/".join(str(p).strip("/") for p in (details.get("export"), details.get("path")) if p)
            path = "/" + path if path else None
        return cls(protocol=protocol, host=str(host) if host else None, path=str(path) if path else None)

    def describe(self) -> str:
        """``nfs://10.0.0.5/data/in``, ``s3://bucket/prefix``."""
        path = self.path or ""
        return f"{self.protocol}://{self.host or '?'}{'' if path.startswith('/') else '/'}{path}"

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON for results."""
        return {"protocol": self.protocol, "host": self.host, "path": self.path}


@dataclass(frozen=True)
class Activity:
    """A relationship's latest activity (the running sync, or the last one)."""

    type: str | None
    status: str
    progress: int | None
    start_time: datetime.datetime | None
    end_time: datetime.datetime | None
    failure_message: str
    top_errors: tuple[dict[str, Any], ...]
    counters: dict[str, int] = field(compare=False)

    @property
    def active(self) -> bool:
        """Pending or running."""
        return self.status in ACTIVE_STATUSES

    @property
    def terminal(self) -> bool:
        """Done, failed or aborted; unknown statuses count as still in progress."""
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Activity:
        """Read an ``activity``; every field is optional."""
        counters = {
            name: int(record[name])
            for name in COUNTERS
            if isinstance(record.get(name), (int, float)) and not isinstance(record.get(name), bool)
        }
        progress = record.get("progress")
        errors = record.get("topFiveMostCommonRelationshipErrors")
        return cls(
            type=record.get("type"),
            status=str(record.get("status") or "UNKNOWN").upper(),
            progress=int(progress)
            if isinstance(progress, (int, float)) and not isinstance(progress, bool)
            else None,
            start_time=parse_time(record.get("startTime")),
            end_time=parse_time(record.get("endTime")),
            failure_message=str(record.get("failureMessage") or ""),
            top_errors=tuple(e for e in errors if isinstance(e, dict)) if isinstance(errors, list) else (),
            counters=counters,
        )


@dataclass(frozen=True)
class Relationship:
    """A Cloud Sync relationship and its latest activity."""

    id: str
    source: Endpoint
    target: Endpoint
    activity: Activity | None
    record: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Relationship:
        """Read a ``relationships-v2`` record."""
        activity = record.get("activity")
        return cls(
            id=str(record.get("id") or record.get("relationshipId")),
            source=Endpoint.from_record(record.get("source")),
            target=Endpoint.from_record(record.get("target")),
            activity=Activity.from_record(activity) if isinstance(activity, dict) else None,
            record=record,
        )


def _message(result: HttpResult) -> str:
    message = dig(result.json, "message")
    if isinstance(message, str) and message:
        return message
    text = result.text.strip()
    return repr(text[:80]) if text else "no details"


def _error(result: HttpResult, what: str) -> CloudSyncError:
    message = _message(result)
    hint = ""
    if result.status == 401:
        hint = "; the access token was refused even after renewing it: check the refresh token"
    elif result.status == 403:
        hint = "; the user has no access to this account: check the connection's account_id"
    elif result.status == 404:
        hint = "; check the relationship id and the account"
    text = f"{what} failed (HTTP {result.status}): {message}{hint}"
    if result.status == 400 and SYNC_RUNNING_TEXT in message.lower():
        return SyncInProgressError(text, status=400, headers=result.headers)
    return CloudSyncError(text, status=result.status, headers=result.headers)


def _json(result: HttpResult, what: str, kind: type) -> Any:
    body = result.json
    if isinstance(body, kind):
        return body
    text = result.text.strip()
    shown = repr(text[:80]) if text else "an empty body"
    raise CloudSyncError(
        f"{what}: Cloud Sync answered HTTP {result.status} with something other than a JSON "
        f"{'list' if kind is list else 'object'}: {shown}",
        status=result.status,
    )


class CloudSyncClient:
    """Cloud Sync operations of one user (refresh token) in one account.

    :param refresh_token: the user's refresh token (kept out of every message and repr).
    :param account_id: the account; ``None``: the only one ``/accounts`` lists.
    :param api_url: the API's base URL (default: the real service).
    :param token_url: the token endpoint (default: NetApp's Auth0 tenant).
    :param ca_pem: a CA to trust instead of the system's, as PEM text (test systems, proxies).
    :param verify: ``False`` turns TLS verification off; only if asked.
    :param timeout: aiohttp timeouts.
    :param retry: the retry policy for transient failures.
    """

    def __init__(
        self,
        refresh_token: str,
        *,
        account_id: str | None = None,
        api_url: str = DEFAULT_API_URL,
        token_url: str = DEFAULT_TOKEN_URL,
        ca_pem: str | None = None,
        verify: bool = True,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not refresh_token or not refresh_token.strip():
            raise InvalidInputError("a Cloud Sync refresh token is required")
        tls = TlsSettings(verify=verify, ca_pem=ca_pem)
        api_origin, self._prefix = split_url(api_url, "Cloud Sync API URL")
        token_origin, token_path = split_url(token_url, "Cloud Sync token URL")
        retry = retry or RetryPolicy()
        self._api = HttpEndpoint(base_url=api_origin, tls=tls, timeout=timeout, retry=retry)
        self._tokens = TokenSource(
            HttpEndpoint(base_url=token_origin, tls=tls, timeout=timeout, retry=retry),
            token_path or "/",
            refresh_token.strip(),
        )
        self._account_id = account_id
        self.api_url = api_origin + self._prefix

    def __repr__(self) -> str:
        return f"CloudSyncClient({self.api_url!r}, account_id={self._account_id!r})"

    async def _call(
        self, method: str, path: str, what: str, *, account: bool = True, expect: Iterable[int] = (200,)
    ) -> HttpResult:
        headers = {"Accept": "application/json"}
        if account:
            headers["x-account-id"] = await self.account_id()
        async with tokens(self._tokens) as holder:
            token = await holder.get()
            result = await self._api.request(
                method, self._prefix + path, headers={**headers, "Authorization": f"Bearer {token}"}
            )
            if result.status == 401:  # expired or revoked: renew once, whoever else saw it too
                token = await holder.renew(token)
                result = await self._api.request(
                    method, self._prefix + path, headers={**headers, "Authorization": f"Bearer {token}"}
                )
        if result.status not in tuple(expect):
            raise _error(result, what)
        return result

    async def list_accounts(self) -> list[dict[str, Any]]:
        """List the accounts the user can use (``accountId``, ``name``)."""
        what = "listing Cloud Sync accounts"
        body = _json(await self._call("GET", "/accounts", what, account=False), what, list)
        return [a for a in body if isinstance(a, dict)]

    async def account_id(self) -> str:
        """Return the account: the one given, or the only one the user has."""
        if self._account_id is None:
            accounts = [str(a.get("accountId")) for a in await self.list_accounts() if a.get("accountId")]
            if not accounts:
                raise CloudSyncError("the Cloud Sync user has no account; create one in BlueXP first")
            if len(accounts) > 1:
                raise InvalidInputError(
                    f"the Cloud Sync user has several accounts ({', '.join(accounts)}); set 'account_id' "
                    "in the connection's extras to the one holding the relationships"
                )
            self._account_id = accounts[0]
        return self._account_id

    async def list_relationships(self) -> list[Relationship]:
        """List the account's relationships, each with its latest activity (one request)."""
        what = "listing Cloud Sync relationships"
        body = _json(await self._call("GET", "/relationships-v2", what), what, list)
        return [Relationship.from_record(r) for r in body if isinstance(r, dict)]

    async def get_relationship(self, relationship_id: str) -> Relationship:
        """Read one relationship and its latest activity."""
        rel = check_relationship_id(relationship_id)
        what = f"reading Cloud Sync relationship {rel}"
        return Relationship.from_record(
            _json(await self._call("GET", f"/relationships-v2/{rel}", what), what, dict)
        )

    async def start_sync(self, relationship_id: str) -> None:
        """Ask for a sync (202: accepted); poll the relationship for its progress.

        :raises SyncInProgressError: a sync already runs on the relationship.
        """
        rel = check_relationship_id(relationship_id)
        what = f"starting a sync of Cloud Sync relationship {rel}"
        await self._call("PUT", f"/relationships/{rel}/sync", what, expect=(200, 202))

    async def abort_sync(self, relationship_id: str) -> None:
        """Abort the running sync of a relationship."""
        rel = check_relationship_id(relationship_id)
        what = f"aborting the sync of Cloud Sync relationship {rel}"
        await self._call("PUT", f"/relationships/{rel}/abort", what, expect=(200, 202, 204))

    async def token_exchanges(self) -> int:
        """How many times this loop exchanged the refresh token (for tests and benchmarks)."""
        async with tokens(self._tokens) as holder:
            return holder.exchanges
