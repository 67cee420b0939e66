"""The simulated Cloud Sync service's state and rules, with no HTTP in sight.

One :class:`CloudSyncBackend` is the service for one user: refresh tokens (and a password) that the
token endpoint exchanges for expiring access tokens, accounts, and the relationships of each account.
A relationship's ``activity`` is its latest one and moves ``PENDING -> RUNNING -> DONE | FAILED`` (or
``ABORTED`` by request) as the backend's clock advances; counters are computed when state is read,
so there is no background task. Right after a sync request the previous activity is still served for
``SyncSettings.stale_seconds``, as the real service does. Every public method takes ``lock``
(re-entrant): tests call it from their own thread while the server thread answers requests.
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from netapp_dataops_airflow.simulators._clock import Clock
from netapp_dataops_airflow.simulators._faults import Fault, FaultPlan
from netapp_dataops_airflow.simulators._requests import RequestLog
from netapp_dataops_airflow.simulators.cloud_sync import errors
from netapp_dataops_airflow.simulators.cloud_sync.errors import CloudSyncApiError

ACTIVE_STATUSES = ("PENDING", "RUNNING")
OUTCOMES = ("DONE", "FAILED")
PROTOCOLS = ("nfs", "s3")
# The client id NetApp's clients send with the refresh-token grant (any other is refused).
REFRESH_CLIENT_ID = "Mu0V1ywgYteI6w1MbD15fKfVIUrNXGWC"
PASSWORD_CLIENT_IDS = ("UaVhOIXMWQs5i1WdDxauXe5Mqkb34NJQ", "QC3AgHk6qdbmC7Yyr82ApBwaaJLwRrNO")
RELATIONSHIP_ID = re.compile(r"^[0-9a-f]{24}$")
DEFAULT_ACCOUNT = "account-Sim00001"

F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    @functools.wraps(method)
    def wrapper(self: CloudSyncBackend, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


def _iso(moment: datetime.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@dataclass
class Endpoint:
    """One side of a relationship: an NFS export (host, export, path) or an S3 bucket (and prefix)."""

    protocol: str
    host: str = ""
    export: str = ""
    path: str = ""
    bucket: str = ""
    prefix: str = ""
    provider: str = ""

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {self.protocol!r}")
        if self.protocol == "nfs" and not (self.host and self.export):
            raise ValueError("an nfs endpoint needs host and export")
        if self.protocol == "s3" and not self.bucket:
            raise ValueError("an s3 endpoint needs bucket")

    def record(self) -> dict[str, Any]:
        """Render the endpoint as ``relationships-v2`` does."""
        if self.protocol == "nfs":
            details: dict[str, Any] = {
                "host": self.host,
                "export": self.export,
                "path": self.path,
                "version": "3",
                "provider": self.provider or "nfs",
            }
        else:
            details = {
                "bucket": self.bucket,
                "prefix": self.prefix,
                "host": self.host,
                "port": "",
                "provider": self.provider or "sgws",
                "tags": [],
            }
        return {"protocol": self.protocol, self.protocol: details}


@dataclass
class SyncSettings:
    """How the next syncs behave; fixed for a sync when it is requested.

    :param pending_seconds: seconds ``PENDING`` before ``RUNNING``.
    :param duration: seconds ``RUNNING``; counters grow linearly over it.
    :param outcome: ``DONE`` or ``FAILED`` (a failed sync stops half-way).
    :param failed_files: files that fail to copy (a ``DONE`` sync with them still says ``DONE``).
    :param stale_seconds: seconds after the request during which reads still show the previous activity.
    :param failure_message: ``failureMessage`` of a ``FAILED`` sync.
    """

    pending_seconds: float = 0.5
    duration: float = 5.0
    outcome: str = "DONE"
    failed_files: int = 0
    stale_seconds: float = 0.5
    failure_message: str = "Data broker lost connection to the source"

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {self.outcome!r}")
        if min(self.pending_seconds, self.duration, self.stale_seconds, self.failed_files) < 0:
            raise ValueError("durations and failed_files cannot be negative")


@dataclass
class Activity:
    """One sync of a relationship; ``files``/``bytes`` are what it will scan, ``settings`` its course."""

    type: str
    files: int
    bytes: int
    settings: SyncSettings
    requested: float
    requested_at: datetime.datetime
    status: str = "PENDING"
    fraction: float = 0.0
    start_time: datetime.datetime | None = None
    end_time: datetime.datetime | None = None
    failure_message: str = ""

    @property
    def active(self) -> bool:
        """Whether the sync is still pending or running."""
        return self.status in ACTIVE_STATUSES

    def progress(self, clock: Clock) -> None:
        """Bring status and counters up to the clock."""
        if not self.active:
            return
        settings = self.settings
        elapsed = clock.monotonic() - self.requested - settings.pending_seconds
        if elapsed < 0:
            return
        self.start_time = self.requested_at + datetime.timedelta(seconds=settings.pending_seconds)
        if elapsed < settings.duration:
            self.status, self.fraction = "RUNNING", elapsed / settings.duration
            return
        self.end_time = self.start_time + datetime.timedelta(seconds=settings.duration)
        if settings.outcome == "DONE":
            self.status, self.fraction = "DONE", 1.0
        else:
            self.status, self.fraction = "FAILED", 0.5
            self.failure_message = settings.failure_message

    def abort(self, clock: Clock) -> None:
        """Stop the sync where it is."""
        self.progress(clock)
        self.status = "ABORTED"
        self.start_time = self.start_time or clock.now()
        self.end_time = clock.now()
        self.failure_message = "Sync was aborted by the user"

    def record(self, clock: Clock) -> dict[str, Any]:
        """Render the activity as ``relationships-v2`` does; counters grow with progress."""
        f = self.fraction
        failed = min(self.settings.failed_files, self.files)
        files_to_copy = self.files
        bytes_per_file = self.bytes // max(self.files, 1)
        copied = int((files_to_copy - failed) * f)
        files_failed = int(failed * f)
        ended = self.end_time or (clock.now() if self.start_time else None)
        execution = None
        if self.start_time is not None and ended is not None:
            execution = int((ended - self.start_time).total_seconds() * 1000)
        top_errors = []
        if files_failed:
            top_errors.append(
                {
                    "step": "TRANSFER",
                    "errorCode": "EACCES",
                    "counter": files_failed,
                    "description": "permission denied on the target",
                }
            )
        if self.status == "FAILED":
            top_errors.append(
                {"step": "SCAN", "errorCode": "ECONNRESET", "counter": 1, "description": self.failure_message}
            )
        dirs = max(1, self.files // 100)
        return {
            "type": self.type,
            "status": self.status,
            "failureMessage": self.failure_message,
            "errors": [],
            "executionTime": execution,
            "startTime": _iso(self.start_time),
            "endTime": _iso(self.end_time),
            "lastMessageTime": _iso(ended or self.requested_at),
            "progress": int(100 * f),
            "bytesScanned": int(self.bytes * f),
            "filesScanned": int(self.files * f),
            "dirsScanned": int(dirs * f),
            "dirsFailedToScan": 0,
            "bytesMarkedForCopy": int(self.bytes * f),
            "filesMarkedForCopy": int(files_to_copy * f),
            "dirsMarkedForCopy": int(dirs * f),
            "bytesCopied": copied * bytes_per_file,
            "filesCopied": copied,
            "dirsCopied": int(dirs * f),
            "bytesFailed": files_failed * bytes_per_file,
            "filesFailed": files_failed,
            "dirsFailed": 0,
            "filesMarkedForRemove": int(self.files // 100 * f),
            "bytesMarkedForRemove": int(self.files // 100 * f) * bytes_per_file,
            "dirsMarkedForRemove": 0,
            "filesRemoved": int(self.files // 100 * f),
            "bytesRemoved": int(self.files // 100 * f) * bytes_per_file,
            "dirsRemoved": 0,
            "filesRemovedFailed": 0,
            "bytesRemovedFailed": 0,
            "filesMarkedForGrace": 0,
            "bytesMarkedForGrace": 0,
            "dirsMarkedForGrace": 0,
            "filesMarkedForIgnore": 0,
            "topFiveMostCommonRelationshipErrors": top_errors,
        }


@dataclass
class Relationship:
    """A relationship of one account; ``activities`` oldest first, the last one is the latest."""

    id: str
    account_id: str
    source: Endpoint
    target: Endpoint
    files: int
    bytes: int
    created_at: datetime.datetime
    data_broker: str = field(default_factory=lambda: secrets.token_hex(12))
    activities: list[Activity] = field(default_factory=list)

    @property
    def latest(self) -> Activity | None:
        """The latest activity (the running one, if any)."""
        return self.activities[-1] if self.activities else None

    def served_activity(self, clock: Clock) -> Activity | None:
        """Return the activity a read shows: the previous one during a new sync's stale window."""
        latest = self.latest
        if latest is None:
            return None
        latest.progress(clock)
        fresh = clock.monotonic() - latest.requested < latest.settings.stale_seconds
        if fresh and latest.active and len(self.activities) > 1:
            return self.activities[-2]
        return latest

    def record(self, clock: Clock) -> dict[str, Any]:
        """Render the relationship as ``GET /relationships-v2/{id}`` does."""
        activity = self.served_activity(clock)
        return {
            "id": self.id,
            "relationshipId": self.id,
            "account": self.account_id,
            "dataBroker": self.data_broker,
            "group": self.data_broker,
            "source": self.source.record(),
            "target": self.target.record(),
            "settings": {
                "gracePeriod": 30,
                "deleteOnSource": False,
                "deleteOnTarget": False,
                "objectTagging": True,
                "retries": 3,
                "copyAcl": False,
                "schedule": {"isEnabled": False, "syncInDays": 1, "syncInHours": 0, "syncInMinutes": 0},
            },
            "phase": "Sync" if len(self.activities) > 1 else "Initial Copy",
            "isQstack": False,
            "isCm": False,
            "tags": [],
            "createdAt": int(self.created_at.timestamp() * 1000),
            "startTime": _iso(activity.start_time) if activity else None,
            "endTime": _iso(activity.end_time) if activity else None,
            "activity": activity.record(clock) if activity else None,
        }


@dataclass
class AccessToken:
    """An access token the token endpoint issued; it is refused once ``expires`` has passed."""

    value: str
    expires: float
    revoked: bool = False


class CloudSyncBackend:
    """The simulated service: control methods for tests, API methods for the HTTP layer."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.reset()

    # ---- control ---------------------------------------------------------------------------

    @_locked
    def reset(self) -> None:
        """Forget everything: tokens, accounts, relationships, settings, faults, the request log."""
        self.refresh_tokens: dict[str, bool] = {}
        self.users: dict[str, str] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.token_lifetime = 3600.0
        self.accounts: dict[str, str] = {}
        self.relationships: dict[str, Relationship] = {}
        self.sync_settings = SyncSettings()
        self.faults = FaultPlan()
        self.requests = RequestLog()
        self.token_requests = 0

    @_locked
    def add_refresh_token(self, token: str | None = None) -> str:
        """Register a refresh token the token endpoint accepts (a random one if not given)."""
        token = token or secrets.token_urlsafe(32)
        self.refresh_tokens[token] = True
        return token

    @_locked
    def revoke_refresh_token(self, token: str) -> None:
        """Refuse ``token`` from now on; access tokens already issued for it live out their lifetime."""
        if token not in self.refresh_tokens:
            raise ValueError("unknown refresh token")
        self.refresh_tokens[token] = False

    @_locked
    def add_user(self, username: str, password: str) -> None:
        """Accept ``username`` and ``password`` in the password grant."""
        self.users[username] = password

    @_locked
    def set_token_lifetime(self, seconds: float) -> None:
        """Seconds an access token issued from now on lives (``expires_in``)."""
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        self.token_lifetime = float(seconds)

    @_locked
    def expire_access_tokens(self) -> int:
        """Expire every access token issued so far; return how many were live."""
        now = self.clock.monotonic()
        live = [t for t in self.access_tokens.values() if t.expires > now]
        for token in live:
            token.expires = now
        return len(live)

    @_locked
    def add_account(self, account_id: str | None = None, name: str = "Simulated") -> str:
        """Create an account; return its id."""
        account_id = account_id or f"account-{secrets.token_hex(4)}"
        self.accounts[account_id] = name
        return account_id

    @_locked
    def add_relationship(
        self,
        source: dict[str, Any],
        target: dict[str, Any],
        *,
        account_id: str | None = None,
        id: str | None = None,
        files: int = 1000,
        bytes: int = 1 << 30,
        synced: bool = True,
    ) -> Relationship:
        """Seed a relationship between two endpoints.

        Endpoints are ``{"protocol": "nfs", "host", "export", "path"}`` or
        ``{"protocol": "s3", "bucket", "prefix"}``.

        :param account_id: its account; the only one (created if there is none) when not given.
        :param files: files (and ``bytes``) each sync scans.
        :param synced: whether it already has a finished ``Sync`` activity (else it has never run).
        """
        if account_id is None:
            if not self.accounts:
                self.add_account(DEFAULT_ACCOUNT, "Simulated")
            if len(self.accounts) > 1:
                raise ValueError("several accounts exist: say which one with account_id")
            account_id = next(iter(self.accounts))
        elif account_id not in self.accounts:
            self.add_account(account_id)
        relationship_id = id or secrets.token_hex(12)
        if not RELATIONSHIP_ID.match(relationship_id):
            raise ValueError(f"id must be 24 lowercase hex digits, not {relationship_id!r}")
        if files < 0 or bytes < 0:
            raise ValueError("files and bytes cannot be negative")
        now = self.clock.now()
        relationship = Relationship(
            id=relationship_id,
            account_id=account_id,
            source=Endpoint(**source),
            target=Endpoint(**target),
            files=files,
            bytes=bytes,
            created_at=now - datetime.timedelta(days=1),
        )
        if synced:
            done = Activity(
                type="Sync",
                files=files,
                bytes=bytes,
                settings=SyncSettings(pending_seconds=0, duration=60, stale_seconds=0),
                requested=self.clock.monotonic() - 3600,
                requested_at=now - datetime.timedelta(hours=1),
            )
            done.progress(self.clock)
            relationship.activities.append(done)
        self.relationships[relationship_id] = relationship
        return relationship

    @_locked
    def set_sync_settings(self, **settings: Any) -> SyncSettings:
        """Change how the next syncs behave; see :class:`SyncSettings`."""
        self.sync_settings = SyncSettings(**{**self.sync_settings.__dict__, **settings})
        return self.sync_settings

    @_locked
    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward: syncs progress, access tokens age."""
        self.clock.advance(seconds)

    @_locked
    def inject_fault(self, kind: str, **options: Any) -> Fault:
        """Queue a fault for the HTTP layer: ``error`` (``status``, ``message``), ``drop``, ``stall``..."""
        options.setdefault("message", "Internal Server Error")
        fault = Fault(kind=kind, **options)
        self.faults.add(fault)
        return fault

    @_locked
    def take_fault(self, method: str, path: str) -> Fault | None:
        """Consume the fault that applies to a request, if any (called by the HTTP layer)."""
        return self.faults.take(method, path)

    @_locked
    def record_request(self, method: str, path_qs: str) -> None:
        """Note a request as it arrived (``"GET /api/..."``), faults and bad tokens included."""
        self.requests.record(method, path_qs)

    @_locked
    def requests_matching(self, method: str | None = None, path: str = "") -> list[str]:
        """Return the logged requests with ``method`` (any if ``None``) whose path starts with ``path``."""
        return self.requests.matching(method, path)

    # ---- token endpoint ----------------------------------------------------------------------

    @_locked
    def grant(self, body: dict[str, Any]) -> dict[str, Any]:
        """Answer ``POST /oauth/token`` for the refresh-token and password grants."""
        self.token_requests += 1
        grant_type = body.get("grant_type")
        if grant_type == "refresh_token":
            if body.get("client_id") != REFRESH_CLIENT_ID:
                raise errors.TokenError(401, "access_denied", "Unauthorized")
            if not self.refresh_tokens.get(str(body.get("refresh_token"))):
                raise errors.invalid_grant("Unknown or invalid refresh token.")
            subject = "refresh"
        elif grant_type == "password":
            if body.get("client_id") not in PASSWORD_CLIENT_IDS:
                raise errors.TokenError(401, "access_denied", "Unauthorized")
            username = str(body.get("username"))
            if self.users.get(username) != body.get("password") or username not in self.users:
                raise errors.invalid_grant("Wrong email or password.")
            subject = username
        else:
            raise errors.TokenError(403, "unsupported_grant_type", f"Unsupported grant type: {grant_type}")
        issued = self.clock.monotonic()
        header = _b64({"alg": "RS256", "typ": "JWT"})
        payload = _b64(
            {
                "sub": subject,
                "iat": int(issued),
                "exp": int(issued + self.token_lifetime),
                "jti": secrets.token_hex(8),
                "aud": "https://api.cloud.netapp.com",
            }
        )
        value = f"{header}.{payload}.{secrets.token_urlsafe(32)}"
        self.access_tokens[value] = AccessToken(value, issued + self.token_lifetime)
        return {
            "access_token": value,
            "expires_in": int(self.token_lifetime),
            "token_type": "Bearer",
            "scope": "profile cc:update-password",
        }

    # ---- API -------------------------------------------------------------------------------

    @_locked
    def authenticate(self, authorization: str) -> None:
        """Accept a live ``Bearer`` access token or raise the API's 401."""
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value:
            raise CloudSyncApiError(401, errors.NO_TOKEN)
        token = self.access_tokens.get(value)
        if token is None:
            raise CloudSyncApiError(401, errors.INVALID_TOKEN)
        if token.expires <= self.clock.monotonic():
            raise CloudSyncApiError(401, errors.TOKEN_EXPIRED)

    @_locked
    def list_accounts(self) -> list[dict[str, Any]]:
        """``GET /accounts``."""
        return [{"accountId": account, "name": name} for account, name in self.accounts.items()]

    def _account(self, account_id: str | None) -> str:
        if not account_id:
            raise CloudSyncApiError(400, "x-account-id header is missing")
        if account_id not in self.accounts:
            raise CloudSyncApiError(403, f"User has no access to account {account_id}")
        return account_id

    def _relationship(self, account_id: str | None, relationship_id: str) -> Relationship:
        account = self._account(account_id)
        if not RELATIONSHIP_ID.match(relationship_id):
            raise CloudSyncApiError(400, f"Invalid relationship id {relationship_id}")
        relationship = self.relationships.get(relationship_id)
        if relationship is None or relationship.account_id != account:
            raise CloudSyncApiError(404, f"Relationship {relationship_id} not found")
        return relationship

    @_locked
    def list_relationships(self, account_id: str | None) -> list[dict[str, Any]]:
        """``GET /relationships-v2``."""
        account = self._account(account_id)
        return [r.record(self.clock) for r in self.relationships.values() if r.account_id == account]

    @_locked
    def get_relationship(self, account_id: str | None, relationship_id: str) -> dict[str, Any]:
        """``GET /relationships-v2/{id}``."""
        return self._relationship(account_id, relationship_id).record(self.clock)

    @_locked
    def relationship(self, relationship_id: str) -> Relationship:
        """Return the relationship itself, progressed to now (for tests)."""
        relationship = self.relationships[relationship_id]
        if relationship.latest is not None:
            relationship.latest.progress(self.clock)
        return relationship

    @_locked
    def sync(self, account_id: str | None, relationship_id: str) -> Activity:
        """``PUT /relationships/{id}/sync``: start a sync, refused while one is pending or running."""
        relationship = self._relationship(account_id, relationship_id)
        latest = relationship.latest
        if latest is not None:
            latest.progress(self.clock)
            if latest.active:
                raise CloudSyncApiError(400, errors.SYNC_RUNNING)
        activity = Activity(
            type="Sync" if latest is not None else "Initial Copy",
            files=relationship.files,
            bytes=relationship.bytes,
            settings=self.sync_settings,
            requested=self.clock.monotonic(),
            requested_at=self.clock.now(),
        )
        activity.progress(self.clock)
        relationship.activities.append(activity)
        return activity

    @_locked
    def abort(self, account_id: str | None, relationship_id: str) -> None:
        """``PUT /relationships/{id}/abort``: stop the running sync; refused when none runs."""
        relationship = self._relationship(account_id, relationship_id)
        latest = relationship.latest
        if latest is not None:
            latest.progress(self.clock)
        if latest is None or not latest.active:
            raise CloudSyncApiError(400, "There is no running action to abort")
        latest.abort(self.clock)
