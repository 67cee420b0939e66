"""The simulated cluster's state and SnapMirror rules, with no HTTP in sight.

One :class:`OntapBackend` is one cluster: its SVMs, the SnapMirror relationships whose destination
it holds, their transfers, and the jobs that relationship changes run as. Transfers move
``queued -> transferring -> success | failed`` (or ``aborted`` / ``hard_aborted`` by request) as the
backend's :class:`~.clock.Clock` advances; progress is computed when state is read, so there is no
background task. Every public method takes the backend's ``lock`` (re-entrant): tests call it from
their own thread while the server thread answers requests.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import threading
import uuid as uuid_module
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from netapp_dataops_airflow.simulators._clock import Clock
from netapp_dataops_airflow.simulators._faults import Fault, FaultPlan
from netapp_dataops_airflow.simulators._requests import RequestLog
from netapp_dataops_airflow.simulators.ontap import errors
from netapp_dataops_airflow.simulators.ontap.errors import OntapApiError

ACTIVE_TRANSFER_STATES = ("queued", "transferring")
TRANSFER_OUTCOMES = ("success", "failed")
ABORT_STATES = ("aborted", "hard_aborted")
ASYNC_MIRROR_STATES = ("snapmirrored", "uninitialized", "broken_off", "paused")
SYNC_MIRROR_STATES = ("in_sync", "out_of_sync", "synchronizing", "uninitialized", "broken_off", "paused")
# Finished transfers stay listed this long (ONTAP 9.10+); finished jobs are deleted after 300 s.
TRANSFER_RETENTION_SECONDS = 24 * 3600
# Before this release ONTAP lists active transfers only: a finished one is gone (404) at once.
KEEPS_FINISHED_TRANSFERS_FROM = (9, 10)
JOB_RETENTION_SECONDS = 300.0
ANOTHER_TRANSFER = "Another transfer is in progress."

F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    @functools.wraps(method)
    def wrapper(self: OntapBackend, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return cast(F, wrapper)


def new_uuid() -> str:
    """Return a fresh object identifier in ONTAP's format."""
    return str(uuid_module.uuid4())


@dataclass
class Cluster:
    """A cluster: the simulated one, or a peer that holds relationship sources."""

    name: str
    uuid: str = field(default_factory=new_uuid)
    version: str = "9.14.1"

    @property
    def keeps_finished_transfers(self) -> bool:
        """Whether finished transfers stay readable (9.10 and later) or are forgotten at once."""
        return _release(self.version) >= KEEPS_FINISHED_TRANSFERS_FROM


@dataclass
class Svm:
    """A storage VM, on the simulated cluster or on a peer."""

    name: str
    cluster: Cluster
    uuid: str = field(default_factory=new_uuid)


@dataclass
class TransferSettings:
    """How the next transfers behave: seconds queued, seconds transferring, and the outcome."""

    duration: float = 5.0
    queue_seconds: float = 0.0
    outcome: str = "success"

    def __post_init__(self) -> None:
        if self.outcome not in TRANSFER_OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(TRANSFER_OUTCOMES)}")
        if self.duration < 0 or self.queue_seconds < 0:
            raise ValueError("durations cannot be negative")


@dataclass
class Transfer:
    """One transfer on a relationship; settings are fixed when it starts."""

    uuid: str
    relationship_uuid: str
    type: str
    snapshot: str
    size: int
    settings: TransferSettings
    started: float
    started_at: datetime.datetime
    throttle: int | None = None
    state: str = "queued"
    bytes_transferred: int = 0
    checkpoint_size: int = 0
    last_updated_time: datetime.datetime | None = None
    end_time: datetime.datetime | None = None
    error_info: dict[str, Any] | None = None

    @property
    def active(self) -> bool:
        """Whether the transfer is still queued or transferring."""
        return self.state in ACTIVE_TRANSFER_STATES

    def progress(self, clock: Clock) -> bool:
        """Bring state and bytes up to the clock; return True if the transfer just finished."""
        if not self.active:
            return False
        elapsed = clock.monotonic() - self.started - self.settings.queue_seconds
        if elapsed < 0:
            return False
        if elapsed < self.settings.duration:
            self.state = "transferring"
            self.bytes_transferred = int(self.size * elapsed / self.settings.duration)
            self.checkpoint_size = self.bytes_transferred
            self.last_updated_time = clock.now()
            return False
        finished_at = self.started_at + datetime.timedelta(
            seconds=self.settings.queue_seconds + self.settings.duration
        )
        self.last_updated_time = self.end_time = finished_at
        if self.settings.outcome == "success":
            self.state, self.bytes_transferred, self.checkpoint_size = "success", self.size, 0
        else:
            self.state = "failed"
            self.bytes_transferred = self.size // 2
            self.checkpoint_size = self.bytes_transferred
            self.error_info = {"code": int(_operation_code(self.type)), "message": "Transfer failed."}
        return True

    def abort(self, state: str, clock: Clock) -> None:
        """Stop the transfer; ``hard_aborted`` also discards the restart checkpoint."""
        self.state = state
        self.end_time = self.last_updated_time = clock.now()
        self.error_info = {"code": errors.TRANSFER_ABORTED, "message": "Transfer aborted"}
        if state == "hard_aborted":
            self.checkpoint_size = 0


@dataclass
class Relationship:
    """A SnapMirror relationship whose destination is on the simulated cluster."""

    uuid: str
    source_path: str
    destination_path: str
    source_svm: Svm
    destination_svm: Svm
    policy_name: str
    policy_type: str
    state: str
    size_bytes: int
    healthy: bool = True
    unhealthy_reason: list[dict[str, Any]] = field(default_factory=list)
    policy_uuid: str = field(default_factory=new_uuid)
    transfers: dict[str, Transfer] = field(default_factory=dict)
    exported_snapshot: str | None = None
    # Creation time of the newest snapshot on the destination; lag_time counts from here.
    last_snapshot_time: datetime.datetime | None = None
    last_transfer_type: str | None = None
    total_transfer_bytes: int = 0
    total_transfer_duration: float = 0.0

    @property
    def latest_transfer(self) -> Transfer | None:
        """The current transfer, or the last one when none is active."""
        return next(reversed(self.transfers.values()), None)

    @property
    def active_transfer(self) -> Transfer | None:
        """The transfer still queued or transferring, if any."""
        latest = self.latest_transfer
        return latest if latest is not None and latest.active else None

    @property
    def is_sync(self) -> bool:
        """Whether the policy is synchronous (only initialize may be started by hand)."""
        return self.policy_type != "async"

    def finish(self, transfer: Transfer) -> None:
        """Apply a finished transfer's result to the relationship."""
        if transfer.state == "success":
            if self.state == "uninitialized":
                self.state = "in_sync" if self.is_sync else "snapmirrored"
            self.healthy, self.unhealthy_reason = True, []
            self.exported_snapshot = transfer.snapshot
            self.last_snapshot_time = transfer.started_at
            self.last_transfer_type = transfer.type
            self.total_transfer_bytes += transfer.bytes_transferred
            if transfer.end_time is not None:
                self.total_transfer_duration += (transfer.end_time - transfer.started_at).total_seconds()
        elif transfer.state == "failed":
            self.healthy = False
            self.unhealthy_reason = [
                {
                    "code": _operation_code(transfer.type),
                    "message": f"{transfer.type.capitalize()} operation failed. Reason: Transfer failed.",
                    "arguments": [],
                }
            ]


@dataclass
class Job:
    """A background job, as ONTAP runs relationship modifications."""

    uuid: str
    description: str
    started: float
    start_time: datetime.datetime
    duration: float
    apply: Callable[[], str | None]
    state: str = "queued"
    message: str = "Queued"
    code: int = 0
    end_time: datetime.datetime | None = None
    ended: float | None = None

    def progress(self, clock: Clock) -> None:
        """Run the job's effect once its time has come; record success or failure."""
        if self.state in ("success", "failure"):
            return
        if clock.monotonic() - self.started < self.duration:
            self.state, self.message = "running", "Running"
            return
        failure = self.apply()
        self.end_time, self.ended = clock.now(), clock.monotonic()
        if failure is None:
            self.state, self.message = "success", "Complete: Successful [0]"
        else:
            self.state, self.message, self.code = "failure", failure, int(errors.INVALID_ARGUMENTS)


def _operation_code(transfer_type: str) -> str:
    return errors.INITIALIZE_FAILED if transfer_type == "initialize" else errors.UPDATE_FAILED


class OntapBackend:
    """One simulated ONTAP cluster: control methods for tests, API methods for the HTTP layer."""

    def __init__(self, cluster_name: str = "sim-cluster", version: str = "9.14.1") -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self._initial = (cluster_name, version)
        self.reset()

    # ---- control ---------------------------------------------------------------------------

    @_locked
    def reset(self) -> None:
        """Forget every object, setting and fault; keep the cluster name and version."""
        name, version = self._initial
        self.cluster = Cluster(name=name, version=version)
        self.peers: dict[str, Cluster] = {}
        self.svms: dict[str, Svm] = {}
        self.relationships: dict[str, Relationship] = {}
        self.jobs: dict[str, Job] = {}
        self.transfer_settings = TransferSettings()
        self.job_seconds = 0.0
        self.page_size: int | None = None
        self.faults = FaultPlan()
        self.requests = RequestLog()

    @_locked
    def set_cluster(self, *, name: str | None = None, version: str | None = None) -> Cluster:
        """Rename the simulated cluster or change the version it reports."""
        if name is not None:
            self.cluster.name = name
        if version is not None:
            self.cluster.version = version
        return self.cluster

    @_locked
    def add_svm(self, name: str, *, cluster: str | None = None, uuid: str | None = None) -> Svm:
        """Create an SVM on the simulated cluster, or on peer ``cluster`` (created on first use)."""
        owner = self.cluster if cluster in (None, self.cluster.name) else self._peer(cluster)
        key = f"{owner.name}/{name}"
        if key not in self.svms:
            self.svms[key] = Svm(name=name, cluster=owner, uuid=uuid or new_uuid())
        return self.svms[key]

    def _peer(self, name: str | None) -> Cluster:
        assert name is not None
        return self.peers.setdefault(name, Cluster(name=name))

    @_locked
    def add_relationship(
        self,
        source_path: str,
        destination_path: str,
        *,
        uuid: str | None = None,
        state: str = "snapmirrored",
        policy_type: str = "async",
        policy_name: str | None = None,
        source_cluster: str | None = None,
        healthy: bool = True,
        unhealthy_reason: str | None = None,
        size_bytes: int = 1 << 30,
        lag_seconds: float = 3600.0,
    ) -> Relationship:
        """Seed a relationship; SVMs named in the paths are created as needed.

        :param state: the mirror state: ``snapmirrored`` (``in_sync`` for sync policies),
            ``uninitialized`` (the next transfer initializes), ``broken_off`` or ``paused``.
        :param source_cluster: a peer cluster holding the source; ``None`` for a local source.
        :param unhealthy_reason: a message; implies ``healthy=False``.
        :param size_bytes: the bytes each transfer moves.
        :param lag_seconds: the age of the newest snapshot on the destination (initialized only).
        """
        allowed = ASYNC_MIRROR_STATES if policy_type == "async" else SYNC_MIRROR_STATES
        if policy_type not in ("async", "sync"):
            raise ValueError("policy_type must be 'async' or 'sync'")
        if state not in allowed:
            raise ValueError(f"state must be one of {', '.join(allowed)} for a {policy_type} policy")
        relationship = Relationship(
            uuid=uuid or new_uuid(),
            source_path=source_path,
            destination_path=destination_path,
            source_svm=self.add_svm(_svm_of(source_path), cluster=source_cluster),
            destination_svm=self.add_svm(_svm_of(destination_path)),
            policy_name=policy_name or ("MirrorAllSnapshots" if policy_type == "async" else "Sync"),
            policy_type=policy_type,
            state=state,
            size_bytes=size_bytes,
        )
        if unhealthy_reason is not None or not healthy:
            relationship.healthy = False
            message = unhealthy_reason or "Transfer failed."
            relationship.unhealthy_reason = [
                {"code": errors.UPDATE_FAILED, "message": message, "arguments": []}
            ]
        if state != "uninitialized":
            relationship.last_snapshot_time = self.clock.now() - datetime.timedelta(seconds=lag_seconds)
            relationship.exported_snapshot = f"snapmirror.{relationship.uuid}_0.seed"
            relationship.last_transfer_type = "initialize"
        self.relationships[relationship.uuid] = relationship
        return relationship

    @_locked
    def delete_relationship(self, uuid: str) -> None:
        """Delete a relationship (as ``snapmirror delete`` would); 404 if unknown."""
        if self.relationships.pop(uuid, None) is None:
            raise errors.not_found()

    @_locked
    def set_transfer_settings(
        self, *, duration: float | None = None, queue_seconds: float | None = None, outcome: str | None = None
    ) -> TransferSettings:
        """Change how transfers started from now on behave (running ones keep theirs)."""
        current = self.transfer_settings
        self.transfer_settings = TransferSettings(
            duration=current.duration if duration is None else duration,
            queue_seconds=current.queue_seconds if queue_seconds is None else queue_seconds,
            outcome=current.outcome if outcome is None else outcome,
        )
        return self.transfer_settings

    @_locked
    def set_job_seconds(self, seconds: float) -> None:
        """How long relationship-modification jobs run before they succeed or fail."""
        if seconds < 0:
            raise ValueError("durations cannot be negative")
        self.job_seconds = seconds

    @_locked
    def set_page_size(self, records: int | None) -> None:
        """Cut collections into pages of ``records`` even when the client asked for all.

        A real ONTAP does this when ``return_timeout`` runs out; clients must follow ``_links.next``.
        """
        if records is not None and records < 1:
            raise ValueError("a page holds at least one record")
        self.page_size = records

    @_locked
    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward: transfers and jobs progress, jobs expire."""
        self.clock.advance(seconds)

    @_locked
    def inject_fault(self, kind: str, **options: Any) -> Fault:
        """Queue a fault for the HTTP layer; see :class:`~.faults.Fault` for the options."""
        fault = Fault(kind=kind, **options)
        self.faults.add(fault)
        return fault

    @_locked
    def inject_wait_and_retry(
        self, code: str = "13303816", *, status: int = 400, method: str | None = None, times: int = 1
    ) -> Fault:
        """Answer the next matching requests with one of ONTAP's "wait and retry" error codes."""
        if code not in errors.WAIT_AND_RETRY_CODES:
            raise ValueError(f"code must be one of {', '.join(errors.WAIT_AND_RETRY_CODES)}")
        message = errors.WAIT_AND_RETRY_MESSAGES[code]
        return self.inject_fault(
            "error", status=status, code=code, message=message, method=method, path="/api/", times=times
        )

    @_locked
    def record_request(self, method: str, path_qs: str) -> None:
        """Note an API request as it arrived (``"GET /api/...?..."``), faults and bad credentials included."""
        self.requests.record(method, path_qs)

    @_locked
    def requests_matching(self, method: str | None = None, path: str = "") -> list[str]:
        """Return the logged requests with ``method`` (any if ``None``) whose path starts with ``path``."""
        return self.requests.matching(method, path)

    @_locked
    def take_fault(self, method: str, path: str) -> Fault | None:
        """Consume the fault that applies to a request, if any (called by the HTTP layer)."""
        return self.faults.take(method, path)

    # ---- API -------------------------------------------------------------------------------

    @_locked
    def list_svms(self) -> list[Svm]:
        """Return the SVMs of the simulated cluster."""
        return [svm for svm in self.svms.values() if svm.cluster is self.cluster]

    @_locked
    def list_relationships(self) -> list[Relationship]:
        """Every relationship, progressed to now."""
        for relationship in self.relationships.values():
            self._progress(relationship)
        return list(self.relationships.values())

    @_locked
    def get_relationship(self, uuid: str) -> Relationship:
        """One relationship, progressed to now; 404 if unknown."""
        relationship = self.relationships.get(uuid)
        if relationship is None:
            raise errors.not_found()
        self._progress(relationship)
        return relationship

    def _progress(self, relationship: Relationship) -> None:
        latest = relationship.latest_transfer
        if latest is not None and latest.progress(self.clock):
            relationship.finish(latest)

    @_locked
    def start_transfer(
        self, relationship_uuid: str, *, source_snapshot: str | None = None, throttle: int | None = None
    ) -> Transfer:
        """Start an initialize (uninitialized relationship) or an update, as ONTAP decides."""
        relationship = self.get_relationship(relationship_uuid)
        operation = "initialize" if relationship.state == "uninitialized" else "update"
        code = _operation_code(operation)
        label = f"{operation.capitalize()} operation failed. Reason:"
        if relationship.active_transfer is not None:
            raise OntapApiError(400, code, f"{label} {ANOTHER_TRANSFER}", "uuid")
        if relationship.state == "broken_off":
            raise OntapApiError(400, code, f"{label} The relationship is broken off; resync it first.")
        if relationship.state == "paused":
            raise OntapApiError(400, code, f"{label} The relationship is quiesced; resume it first.")
        if relationship.is_sync and operation != "initialize":
            raise OntapApiError(
                400, code, f"{label} Only initialize is supported for Synchronous SnapMirror relationships."
            )
        if relationship.is_sync and throttle is not None:
            raise OntapApiError(
                400,
                errors.SYNC_THROTTLE_NOT_SUPPORTED,
                "Throttle is not supported for Synchronous SnapMirror relationships.",
                "throttle",
            )
        now = self.clock.now()
        transfer = Transfer(
            uuid=new_uuid(),
            relationship_uuid=relationship.uuid,
            type=operation,
            snapshot=source_snapshot
            or f"snapmirror.{relationship.uuid}_{len(relationship.transfers) + 1}.{now:%Y-%m-%d_%H%M%S}",
            size=relationship.size_bytes,
            settings=self.transfer_settings,
            started=self.clock.monotonic(),
            started_at=now,
            throttle=throttle,
        )
        relationship.transfers[transfer.uuid] = transfer
        self._progress(relationship)
        return transfer

    @_locked
    def list_transfers(self, relationship_uuid: str) -> list[Transfer]:
        """Active transfers and those that ended within the retention window (queued excluded).

        Before ONTAP 9.10 the window is empty: only active transfers are listed.
        """
        relationship = self.get_relationship(relationship_uuid)
        cutoff = self.clock.now() - datetime.timedelta(seconds=TRANSFER_RETENTION_SECONDS)
        return [
            transfer
            for transfer in relationship.transfers.values()
            if transfer.state != "queued"
            and (transfer.end_time is None or transfer.end_time >= cutoff)
            and (transfer.active or self.cluster.keeps_finished_transfers)
        ]

    @_locked
    def get_transfer(self, relationship_uuid: str, transfer_uuid: str) -> Transfer:
        """One transfer of a relationship; 404 if either is unknown, or it ended before ONTAP 9.10."""
        transfer = self.get_relationship(relationship_uuid).transfers.get(transfer_uuid)
        if transfer is None or not (transfer.active or self.cluster.keeps_finished_transfers):
            raise errors.not_found()
        return transfer

    @_locked
    def abort_transfer(self, relationship_uuid: str, transfer_uuid: str, state: str) -> Transfer:
        """Abort a queued or running transfer; the relationship keeps its mirror state."""
        if state not in ABORT_STATES:
            raise errors.invalid_value("state", 'must be "aborted" or "hard_aborted".')
        relationship = self.get_relationship(relationship_uuid)
        transfer = self.get_transfer(relationship_uuid, transfer_uuid)
        if relationship.is_sync:
            raise OntapApiError(
                400, errors.SYNC_ABORT_NOT_ALLOWED, "Abort of Synchronous SnapMirror transfer is not allowed."
            )
        if not transfer.active:
            raise OntapApiError(
                400,
                errors.TRANSFER_STATE_INVALID,
                f'SnapMirror transfer state is invalid: the transfer is already "{transfer.state}".',
                "state",
            )
        transfer.abort(state, self.clock)
        return transfer

    @_locked
    def modify_relationship(self, relationship_uuid: str, state: str) -> Job:
        """Quiesce (``paused``), resume or resync (``snapmirrored``), or break (``broken_off``).

        ONTAP runs the change as a job; an impossible transition makes the job fail.
        """
        relationship = self.get_relationship(relationship_uuid)
        allowed = SYNC_MIRROR_STATES if relationship.is_sync else ASYNC_MIRROR_STATES
        if state not in allowed or state == "uninitialized":
            raise errors.invalid_value("state", f'"{state}" cannot be requested.')

        def apply() -> str | None:
            if state == "broken_off" and relationship.active_transfer is not None:
                return f"Transition to broken_off state failed. Reason: {ANOTHER_TRANSFER}"
            if relationship.state == "uninitialized" and state != "paused":
                return f'Cannot change the state of an uninitialized relationship to "{state}".'
            relationship.state = state
            return None

        job = Job(
            uuid=new_uuid(),
            description=f"PATCH /api/snapmirror/relationships/{relationship.uuid}",
            started=self.clock.monotonic(),
            start_time=self.clock.now(),
            duration=self.job_seconds,
            apply=apply,
        )
        self.jobs[job.uuid] = job
        return job

    @_locked
    def get_job(self, job_uuid: str) -> Job:
        """Return a job, progressed to now; 404 once 300 s have passed since it ended."""
        job = self.jobs.get(job_uuid)
        if job is not None:
            job.progress(self.clock)
            if job.ended is not None and self.clock.monotonic() - job.ended > JOB_RETENTION_SECONDS:
                del self.jobs[job_uuid]
                job = None
        if job is None:
            raise errors.not_found()
        return job


def _release(version: str) -> tuple[int, ...]:
    """``"9.8"`` or ``"9.14.1P3"`` as comparable numbers: ``(9, 8)``, ``(9, 14, 1)``."""
    numbers = []
    for part in version.split("."):
        digits = "".join(itertools.takewhile(str.isdigit, part))
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)


def _svm_of(path: str) -> str:
    svm, separator, _ = path.partition(":")
    if not separator or not svm:
        raise ValueError(f"path {path!r} must look like 'svm:volume' or 'svm:'")
    return svm
