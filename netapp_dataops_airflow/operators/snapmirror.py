"""Update an existing SnapMirror relationship over ONTAP REST and defer until the transfer ends.

Starting follows the library's deferral contract:

1. The relationship (a UUID or a destination path ``svm:volume``), ``throttle``, ``source_snapshot``
   and the connection are checked before any request; the relationship is read and refused before
   anything starts when it cannot be updated (broken off, quiesced, synchronous policy).
2. ``POST .../transfers`` starts the update (on an uninitialized relationship ONTAP makes it the
   baseline initialize). When a transfer already runs, it is adopted rather than duplicated, and the
   result says so. The new transfer is followed by the UUID in ``Location``, so the previous
   transfer's success is never taken for this one.
3. The transfer UUID goes to ``task_state_store`` at once, with the try number and whether it was
   adopted. A later try that finds it still running reattaches instead of starting another; one
   that finds the try which started it never reported back (a lost worker) and the transfer
   succeeded takes that result. Once a try has reported the transfer's end (success, failure,
   abort), the next try (a retry, or a user's clear and re-run) starts a new transfer:
   ``task_state_store`` survives a clear, and a clear must not turn into "already done". An
   ``error`` event reports nothing: the next try reattaches to the transfer.
4. A transfer already over is returned without deferring; otherwise the task defers to
   :class:`~netapp_dataops_airflow.triggers.snapmirror.SnapMirrorTransferTrigger`.

A transfer this task started is aborted when the deadline passes or the task is marked failed
while it waits (``cancel_on_kill``), unless it has ended: one that succeeded just after the
deadline is the task's result. An adopted one belongs to someone else and is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from airflow.sdk import Context

from netapp_dataops_airflow.clients._blocking import run_blocking
from netapp_dataops_airflow.clients._values import whole_number
from netapp_dataops_airflow.clients.ontap import OntapClient, Relationship, Transfer, check_uuid
from netapp_dataops_airflow.clients.snapmirror import (
    abort_transfer,
    check_poll_interval,
    failure_reason,
    transfer_result,
)
from netapp_dataops_airflow.exceptions import (
    InvalidInputError,
    OntapError,
    OperationFailedError,
    TransferInProgressError,
)
from netapp_dataops_airflow.hooks.ontap import OntapConnection, OntapHook
from netapp_dataops_airflow.operators import lineage
from netapp_dataops_airflow.operators.base import NetAppOperator
from netapp_dataops_airflow.triggers.snapmirror import DEFAULT_POLL_INTERVAL, SnapMirrorTransferTrigger

STATE_KEY = "snapmirror_transfer"
# A stand-in transfer UUID for checking the trigger's kwargs before one exists.
_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
# svm:volume. SVM names allow letters, digits, '.', '-', '_'; volume names letters, digits, '_'.
_DESTINATION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*:[A-Za-z_][A-Za-z0-9_]*$")
# ONTAP's limits: throttle is an unsigned 32-bit number of KB/s, snapshot names at most 255 characters.
_MAX_THROTTLE = 2**32 - 1
_MAX_SNAPSHOT_NAME = 255
# How often a POST may meet a transfer that ends before it can be adopted.
_START_ATTEMPTS = 3


@dataclass(frozen=True)
class UpdateRequest:
    """What to update, validated: the relationship (by UUID or destination path) and POST options."""

    relationship_uuid: str | None
    destination_path: str | None
    source_snapshot: str | None
    throttle: int | None

    @classmethod
    def parse(cls, relationship: Any, source_snapshot: Any, throttle: Any) -> UpdateRequest:
        """Validate the operator's parameters; raise :class:`InvalidInputError` naming the problem."""
        text = relationship.strip() if isinstance(relationship, str) else relationship
        uuid = _uuid_or_none(text)
        if uuid is None and not (isinstance(text, str) and _DESTINATION.match(text)):
            raise InvalidInputError(
                f"relationship {relationship!r} is neither a SnapMirror relationship UUID "
                "(8-4-4-4-12 hex digits) nor a destination path 'svm:volume'"
            )
        return cls(
            relationship_uuid=uuid,
            destination_path=None if uuid is not None else text,
            source_snapshot=_snapshot_name(source_snapshot),
            throttle=_throttle(throttle),
        )


def _uuid_or_none(value: Any) -> str | None:
    try:
        return check_uuid(value)
    except InvalidInputError:
        return None


def _snapshot_name(value: Any) -> str | None:
    """Accept a snapshot name as ONTAP takes it: 1 to 255 characters, no blanks or control characters."""
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not value
        or len(value) > _MAX_SNAPSHOT_NAME
        or any(character.isspace() or not character.isprintable() for character in value)
    ):
        raise InvalidInputError(
            f"source_snapshot must be a snapshot name of the source volume (1 to {_MAX_SNAPSHOT_NAME} "
            f"characters, no blanks), got {value!r}"
        )
    return value


def _throttle(value: Any) -> int | None:
    """Accept KB/s as a whole number (or templated text of one) in ONTAP's range; 0 means unlimited."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return whole_number(value, "throttle", minimum=0, maximum=_MAX_THROTTLE, unit="KB/s (0: unlimited)")


@dataclass(frozen=True)
class StoredTransfer:
    """The transfer a try started or adopted, as kept in ``task_state_store``."""

    relationship_uuid: str
    transfer_uuid: str
    adopted: bool
    try_number: int
    completed: bool = False

    @classmethod
    def load(cls, value: Any) -> StoredTransfer | None:
        """Read a stored record; anything unreadable counts as none."""
        if not isinstance(value, Mapping):
            return None
        try:
            return cls(
                relationship_uuid=str(value["relationship_uuid"]),
                transfer_uuid=str(value["transfer_uuid"]),
                adopted=bool(value["adopted"]),
                try_number=int(value["try_number"]),
                completed=bool(value.get("completed", False)),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Started:
    """The outcome of starting: the transfer to follow, and its end if it already ended."""

    relationship: Relationship
    transfer_uuid: str
    adopted: bool
    finished: Transfer | None = None
    # When the transfer before ours had ended, as read before the POST (see the trigger).
    previous_end_time: str | None = None


class SnapMirrorUpdateOperator(NetAppOperator):
    """Update a SnapMirror relationship (ONTAP REST ``POST .../transfers``) and wait for the transfer.

    The task's XCom is a dict: ``relationship_uuid``, ``transfer_uuid``, ``state``,
    ``bytes_transferred``, ``end_time`` (ISO 8601), ``duration_seconds``, ``snapshot``,
    ``source_path``, ``destination_path`` and ``adopted`` (true when a transfer that was already
    running was followed instead of starting one).

    :param relationship: the relationship's UUID, or its destination path ``svm:volume`` (templated).
    :param ontap_conn_id: a ``netapp_ontap`` connection to the destination cluster (templated).
    :param source_snapshot: transfer this snapshot of the source instead of a new one (templated).
    :param throttle: KB/s for this transfer, overriding the relationship's; 0 is unlimited (templated).
    :param poll_interval: seconds between status polls in the triggerer (one poll per cluster
        serves every waiting task).

    See :class:`~netapp_dataops_airflow.operators.base.NetAppOperator` for ``deadline`` and
    ``cancel_on_kill``.
    """

    template_fields: Sequence[str] = ("relationship", "ontap_conn_id", "source_snapshot", "throttle")

    def __init__(
        self,
        *,
        relationship: str,
        ontap_conn_id: str = OntapHook.default_conn_name,
        source_snapshot: str | None = None,
        throttle: int | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.relationship = relationship
        self.ontap_conn_id = ontap_conn_id
        self.source_snapshot = source_snapshot
        self.throttle = throttle
        self.poll_interval = poll_interval

    def execute(self, context: Context) -> Any:
        """Validate, start or adopt (or reattach to) a transfer, remember it, then return or defer."""
        request = UpdateRequest.parse(self.relationship, self.source_snapshot, self.throttle)
        poll_interval = check_poll_interval(self.poll_interval)
        settings = OntapHook(self.ontap_conn_id).get_connection_settings()
        deadline = self.absolute_deadline()
        provisional = request.relationship_uuid or _PLACEHOLDER
        self.check_trigger(self._trigger(provisional, _PLACEHOLDER, poll_interval, deadline, adopted=False))

        store = context.get("task_state_store")
        earlier = StoredTransfer.load(store.get(STATE_KEY)) if store is not None else None
        try_number = int(getattr(context.get("ti"), "try_number", 0) or 0)

        def remember(relationship_uuid: str, transfer_uuid: str, adopted: bool) -> None:
            if store is not None:
                record = StoredTransfer(relationship_uuid, transfer_uuid, adopted, try_number)
                store.set(STATE_KEY, asdict(record))

        started = run_blocking(lambda: self._start(settings.client(), settings, request, earlier, remember))
        if started.finished is not None:
            return self._report(context, started.relationship, started.finished, started)
        self.defer_to(
            self._trigger(
                started.relationship.uuid,
                started.transfer_uuid,
                poll_interval,
                deadline,
                started.adopted,
                started.previous_end_time,
            )
        )

    def _trigger(
        self,
        relationship_uuid: str,
        transfer_uuid: str,
        poll_interval: float,
        deadline: float | None,
        adopted: bool,
        previous_end_time: str | None = None,
    ) -> SnapMirrorTransferTrigger:
        return SnapMirrorTransferTrigger(
            self.ontap_conn_id,
            relationship_uuid,
            transfer_uuid,
            poll_interval,
            deadline=deadline,
            # An adopted transfer belongs to someone else: killing this task must not abort it.
            cancel_on_kill=self.cancel_on_kill and not adopted,
            previous_end_time=previous_end_time,
        )

    async def _start(
        self,
        client: OntapClient,
        settings: OntapConnection,
        request: UpdateRequest,
        earlier: StoredTransfer | None,
        remember: Callable[[str, str, bool], None],
    ) -> Started:
        relationship = await self._resolve(client, settings, request)
        if earlier is not None and not earlier.completed and earlier.relationship_uuid == relationship.uuid:
            resumed = await self._resume(client, relationship, earlier)
            if resumed is not None:
                return resumed
        self._check_usable(relationship)
        for _ in range(_START_ATTEMPTS):
            running = relationship.transfer
            if running is not None and running.active and running.uuid is not None:
                await self._check_adoptable(client, relationship, running.uuid, request)
                remember(relationship.uuid, running.uuid, True)
                self.log.info(
                    "A transfer (%s) already runs on %s; following it instead of starting another",
                    running.uuid,
                    _name(relationship),
                )
                return Started(relationship, running.uuid, adopted=True)
            try:
                transfer_uuid = await client.start_transfer(
                    relationship.uuid, source_snapshot=request.source_snapshot, throttle=request.throttle
                )
            except TransferInProgressError:
                relationship = await client.get_relationship(relationship.uuid)
                continue  # adopt the transfer that runs now (or start again if it just ended)
            remember(relationship.uuid, transfer_uuid, False)
            kind = "initialize (baseline)" if relationship.state == "uninitialized" else "update"
            self.log.info("Started SnapMirror %s %s on %s", kind, transfer_uuid, _name(relationship))
            return await self._started(client, relationship, transfer_uuid)
        raise OntapError(
            f"could not start or adopt a transfer on {_name(relationship)}: transfers kept starting and "
            "ending under this task; try again",
            status=None,
        )

    async def _resolve(
        self, client: OntapClient, settings: OntapConnection, request: UpdateRequest
    ) -> Relationship:
        where = f"on {settings.host} (connection {settings.conn_id!r})"
        if request.relationship_uuid is not None:
            try:
                return await client.get_relationship(request.relationship_uuid)
            except OntapError as exc:
                if exc.status == 404:
                    raise InvalidInputError(
                        f"no SnapMirror relationship {request.relationship_uuid} {where}; the connection "
                        "must point at the destination cluster"
                    ) from None
                raise
        assert request.destination_path is not None
        matches = await client.list_relationships(destination_path=request.destination_path)
        if len(matches) != 1:
            found = "none" if not matches else f"{len(matches)}; give the relationship's UUID instead"
            raise InvalidInputError(
                f"SnapMirror relationships with destination {request.destination_path!r} {where}: {found}"
            )
        return matches[0]

    async def _resume(
        self, client: OntapClient, relationship: Relationship, earlier: StoredTransfer
    ) -> Started | None:
        """Reattach to the transfer an earlier try started, if it runs; take its success if it ended so."""
        transfer = relationship.transfer
        if transfer is None or transfer.uuid != earlier.transfer_uuid:
            try:
                transfer = await client.get_transfer(relationship.uuid, earlier.transfer_uuid)
            except OntapError as exc:
                if exc.status != 404:
                    raise
                return None
        which = f"transfer {earlier.transfer_uuid} (from try {earlier.try_number})"
        if transfer.active:
            self.log.info("Reattaching to %s, still %s", which, transfer.state)
            return Started(relationship, earlier.transfer_uuid, earlier.adopted)
        if transfer.state == "success":
            self.log.info("%s succeeded while no try was watching it", which)
            return Started(relationship, earlier.transfer_uuid, earlier.adopted, transfer)
        self.log.info("%s ended %s; starting a new transfer", which, transfer.state)
        return None

    def _check_usable(self, relationship: Relationship) -> None:
        """Refuse, before anything starts, a relationship ONTAP would not update."""
        name = _name(relationship)
        if relationship.policy_type not in (None, "async"):
            raise InvalidInputError(
                f"{name} has a {relationship.policy_type} policy: ONTAP keeps synchronous relationships "
                "in sync by itself; SnapMirror updates apply to asynchronous relationships only"
            )
        if relationship.state == "broken_off":
            raise InvalidInputError(
                f"{name} is broken off; resync it (snapmirror resync, or PATCH state=snapmirrored) "
                "before updating it"
            )
        if relationship.state == "paused":
            raise InvalidInputError(f"{name} is quiesced; resume it (snapmirror resume) before updating it")
        if relationship.healthy is False:
            self.log.warning(
                "%s is unhealthy (%s); updating it", name, " / ".join(relationship.unhealthy_reasons)
            )
        if relationship.state == "uninitialized":
            self.log.info("%s is uninitialized: this transfer is its baseline initialize", name)

    async def _check_adoptable(
        self, client: OntapClient, relationship: Relationship, transfer_uuid: str, request: UpdateRequest
    ) -> None:
        """Adopt a running transfer only if it does what was asked; a different snapshot is not it."""
        if request.throttle is not None:
            self.log.warning(
                "throttle=%s is not applied: the running transfer keeps its own", request.throttle
            )
        if request.source_snapshot is None:
            return
        running = await client.get_transfer(relationship.uuid, transfer_uuid)
        if running.snapshot != request.source_snapshot:
            raise InvalidInputError(
                f"a transfer of snapshot {running.snapshot!r} already runs on {_name(relationship)}; "
                f"it cannot transfer source_snapshot {request.source_snapshot!r}; retry when it has ended"
            )

    async def _started(self, client: OntapClient, relationship: Relationship, transfer_uuid: str) -> Started:
        """Read the new transfer once: a fast one may be over already (no need to defer then).

        ``relationship`` is as read before the POST: its last transfer is the one before ours.
        """
        previous = relationship.transfer
        before = previous.end_time if previous is not None and previous.terminal else None
        previous_end_time = before.isoformat() if before is not None else None
        try:
            transfer = await client.get_transfer(relationship.uuid, transfer_uuid)
        except OntapError as exc:
            if exc.status != 404:  # ONTAP may not list a queued transfer yet: the trigger will
                raise
            return Started(relationship, transfer_uuid, adopted=False, previous_end_time=previous_end_time)
        finished = transfer if transfer.terminal else None
        return Started(relationship, transfer_uuid, False, finished, previous_end_time)

    def _report(
        self, context: Context, relationship: Relationship, transfer: Transfer, started: Started
    ) -> Any:
        """Turn a transfer that ended before deferring into the result, as the trigger would."""
        self._mark_completed(context, started.transfer_uuid)
        if transfer.state != "success":
            raise OperationFailedError(
                f"SnapMirror transfer {started.transfer_uuid} to {relationship.destination_path} "
                f"{transfer.state}: {failure_reason(relationship, transfer)}"
            )
        self.log.info("SnapMirror transfer %s is already over: %s", started.transfer_uuid, transfer.state)
        result = {
            **transfer_result(relationship, transfer, started.transfer_uuid),
            "adopted": started.adopted,
        }
        return self.report(context, result)

    def execute_complete(self, context: Context, event: Mapping[str, Any] | None = None) -> Any:
        """Return the transfer's result (with ``adopted``) or raise.

        Only an ended transfer counts as reported (success, failed, aborted, or ended by the time
        the deadline's abort came): the next try then starts a new one. After an ``error`` event
        (say a 401 while polling), or a timeout that left the transfer running, the next try
        reattaches to the same transfer, as its owner if this task started it.
        """
        transfer_uuid = event.get("transfer_uuid") if isinstance(event, Mapping) else None
        stored = self._stored(context)
        try:
            result = super().execute_complete(context, event)
        except OperationFailedError:
            self._mark_completed(context, transfer_uuid)
            raise
        self._mark_completed(context, transfer_uuid)
        adopted = stored is not None and stored.transfer_uuid == transfer_uuid and stored.adopted
        return self.report(context, {**(result or {}), "adopted": adopted})

    def lineage_of(self, result: Mapping[str, Any]) -> lineage.Lineage | None:
        """Read the source volume, write the destination (both named as the destination cluster sees them)."""
        host = OntapHook(self.ontap_conn_id).get_connection_settings().host
        source = lineage.ontap_dataset(host, result.get("source_path"))
        destination = lineage.ontap_dataset(host, result.get("destination_path"))
        if destination is None:
            return None
        inputs = [source] if source is not None else []
        return lineage.Lineage("snapmirror_update", inputs, [destination], [destination], result)

    def on_deadline(self, context: Context, event: Mapping[str, Any]) -> Any:
        """Abort the transfer this task started, then read it: a success by then is the result.

        ONTAP refuses to abort an ended transfer, so aborting first and reading after cannot lose
        a success. An adopted transfer (someone else's) is only read, never aborted.
        """
        relationship_uuid, transfer_uuid = event.get("relationship_uuid"), event.get("transfer_uuid")
        if not relationship_uuid or not transfer_uuid:
            return None
        stored = self._stored(context)
        adopted = stored is not None and stored.transfer_uuid == transfer_uuid and stored.adopted
        abort = self.cancel_on_kill and not adopted

        async def settle(client: OntapClient) -> tuple[str | None, Relationship, Transfer | None]:
            note = await abort_transfer(client, relationship_uuid, transfer_uuid) if abort else None
            relationship = await client.get_relationship(relationship_uuid)
            try:
                return note, relationship, await client.get_transfer(relationship_uuid, transfer_uuid)
            except OntapError as exc:
                if exc.status != 404:  # ONTAP before 9.10 forgets ended transfers
                    raise
                return note, relationship, None

        settings = OntapHook(self.ontap_conn_id).get_connection_settings()
        note, relationship, transfer = run_blocking(lambda: settle(settings.client()))
        if note is not None:
            self.log.info("%s after the deadline", note)
        elif not abort:
            self.log.info("Not aborting transfer %s: it was adopted, or cancel_on_kill=False", transfer_uuid)
        if transfer is None or transfer.terminal:
            self._mark_completed(context, transfer_uuid)
        if transfer is None or transfer.state != "success":
            return None
        self.log.info("SnapMirror transfer %s succeeded just after the deadline", transfer_uuid)
        return {**transfer_result(relationship, transfer, transfer_uuid), "adopted": adopted}

    def _stored(self, context: Context) -> StoredTransfer | None:
        store = context.get("task_state_store")
        return StoredTransfer.load(store.get(STATE_KEY)) if store is not None else None

    def _mark_completed(self, context: Context, transfer_uuid: Any) -> None:
        """Record that this try reported the transfer's outcome: the next try starts afresh."""
        store = context.get("task_state_store")
        stored = self._stored(context)
        if store is not None and stored is not None and stored.transfer_uuid == transfer_uuid:
            store.set(STATE_KEY, asdict(replace(stored, completed=True)))


def _name(relationship: Relationship) -> str:
    paths = f"{relationship.source_path} -> {relationship.destination_path}"
    return f"SnapMirror relationship {relationship.uuid} ({paths})"
