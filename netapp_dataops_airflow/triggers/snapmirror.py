"""Wait in the triggerer for a SnapMirror transfer to end.

:class:`SnapMirrorTransferTrigger` follows one transfer, named by its UUID (from the ``Location``
of the POST that started it, or from the relationship when an already running transfer was
adopted), never by "the relationship's latest transfer": right after a POST, ONTAP may still
report the previous transfer's success.

Every wait on a cluster shares one poll
(:func:`~netapp_dataops_airflow.clients.snapmirror.watch_relationship`): the relationship record
shows the current transfer's state and bytes; once it no longer names ours, our transfer is read
by its UUID, once, for the outcome.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from netapp_dataops_airflow.clients._poller import PollTrouble
from netapp_dataops_airflow.clients.ontap import Relationship, Transfer, check_uuid, parse_time
from netapp_dataops_airflow.clients.snapmirror import (
    RelationshipWatch,
    abort_transfer,
    check_poll_interval,
    failure_reason,
    is_transient,
    size,
    summary_is_ours,
    transfer_result,
    watch_relationship,
)
from netapp_dataops_airflow.exceptions import ApiError, InvalidInputError, NetAppDataOpsError
from netapp_dataops_airflow.hooks.ontap import OntapHook
from netapp_dataops_airflow.triggers.base import Event, NetAppTrigger

DEFAULT_POLL_INTERVAL = 30.0
# Polls in a row that may fail to find our transfer before the wait ends (a stale read right
# after the POST, or an ONTAP before 9.10, which forgets finished transfers).
NOT_FOUND_LIMIT = 3


# Bytes-only progress lines per wait at most this often (state changes are logged at once).
PROGRESS_EVERY = 60.0


class SnapMirrorTransferTrigger(NetAppTrigger):
    """Wait for a SnapMirror transfer to succeed, fail or be aborted.

    Yields one event: ``success`` with the result (bytes transferred, end time, duration,
    transfer and relationship UUIDs, source and destination paths), ``failed`` with ONTAP's
    error message (failed or aborted transfers), ``timeout`` at the deadline, or ``error`` when
    the wait cannot go on (bad credentials, relationship deleted). Passing poll failures (5xx,
    dropped connections, ONTAP's "wait and retry" codes) are logged and retried at the next poll.

    :param ontap_conn_id: the ``netapp_ontap`` connection of the destination cluster.
    :param relationship_uuid: the SnapMirror relationship.
    :param transfer_uuid: the transfer to follow.
    :param poll_interval: seconds between polls; waits on one cluster share the shortest.
    :param deadline: POSIX timestamp after which the trigger yields ``timeout``; ``None``: no limit.
    :param cancel_on_kill: abort the transfer when the user marks the task failed while it waits
        (an ended transfer is left as it is: ONTAP refuses to abort it).
    :param previous_end_time: when the relationship's previous transfer had ended as ours was
        started (ISO 8601, as ONTAP reported it; ``None``: it showed none). ONTAP before 9.10
        forgets finished transfers; a last-transfer summary that ended later is then ours.
    """

    def __init__(
        self,
        ontap_conn_id: str,
        relationship_uuid: str,
        transfer_uuid: str,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        *,
        deadline: float | None = None,
        cancel_on_kill: bool = True,
        previous_end_time: str | None = None,
    ) -> None:
        super().__init__(deadline=deadline, cancel_on_kill=cancel_on_kill)
        self.ontap_conn_id = ontap_conn_id
        self.relationship_uuid = check_uuid(relationship_uuid)
        self.transfer_uuid = check_uuid(transfer_uuid, "transfer")
        self.poll_interval = check_poll_interval(poll_interval)
        self.previous_end_time = previous_end_time
        self._previous_end = parse_time(previous_end_time)
        if previous_end_time is not None and self._previous_end is None:
            raise InvalidInputError(
                f"previous_end_time must be an ISO 8601 time such as 2024-05-01T12:00:00+00:00, "
                f"got {previous_end_time!r}"
            )
        self._logged: tuple[str, int | None] | None = None
        self._logged_at = 0.0

    def ids(self) -> dict[str, Any]:
        """Return the relationship and transfer UUIDs, repeated in every event."""
        return {"relationship_uuid": self.relationship_uuid, "transfer_uuid": self.transfer_uuid}

    def describe(self) -> str:
        """Name the transfer for log lines and messages."""
        return f"SnapMirror transfer {self.transfer_uuid} of relationship {self.relationship_uuid}"

    def connection_id(self) -> str:
        """Return the ``netapp_ontap`` connection, named in error messages."""
        return self.ontap_conn_id

    async def wait(self) -> Event:
        """Follow the transfer through the cluster's shared poll until it ends."""
        settings = await OntapHook(self.ontap_conn_id).aget_connection_settings()
        seen_active = False
        missing = 0
        async with watch_relationship(settings, self.relationship_uuid, self.poll_interval) as watch:
            while True:
                update = await watch.next()
                if isinstance(update, PollTrouble):
                    self.log.warning("%s", update.message)
                    continue
                transfer = await self._our_transfer(watch, update, seen_active)
                if isinstance(transfer, PollTrouble):
                    self.log.warning("%s", transfer.message)
                    continue
                if transfer is None:
                    missing += 1
                    if missing >= NOT_FOUND_LIMIT:
                        raise NetAppDataOpsError(
                            f"{self.describe()} is unknown to ONTAP on {watch.base_url} "
                            f"(not found in {missing} polls; ONTAP before 9.10 forgets finished transfers)"
                        )
                    continue
                missing = 0
                if not transfer.terminal:
                    seen_active = True
                    self._log_progress(update, transfer)
                    continue
                return self._finished(update, transfer)

    async def _our_transfer(
        self, watch: RelationshipWatch, relationship: Relationship, seen_active: bool
    ) -> Transfer | PollTrouble | None:
        """Our transfer's state: from the relationship while it is current, else read by UUID.

        ``None`` when ONTAP does not know it (yet); :class:`PollTrouble` when the read failed in passing.
        """
        current = relationship.transfer
        if current is not None and current.uuid == self.transfer_uuid:
            return current
        try:
            return await watch.read_transfer(self.relationship_uuid, self.transfer_uuid)
        except ApiError as exc:
            if is_transient(exc):
                return PollTrouble(f"reading {self.describe()} failed ({exc}); trying again")
            if exc.status != 404:
                raise
        # ONTAP before 9.10 keeps no finished transfers: its summary of the last one may be ours.
        if current is not None and summary_is_ours(current, self._previous_end, seen_running=seen_active):
            return dataclasses.replace(current, uuid=self.transfer_uuid)
        return None

    def _log_progress(self, relationship: Relationship, transfer: Transfer) -> None:
        """Log a state change at once, and growing bytes at most every ``PROGRESS_EVERY`` seconds.

        ONTAP reports no total, so no percentage. The cap matters at scale: a thousand waits logging
        every poll cost the triggerer's loop about 150 ms per poll interval.
        """
        observed = (transfer.state, transfer.bytes_transferred)
        if observed == self._logged:
            return
        now, before = time.monotonic(), self._logged[1] if self._logged is not None else None
        same_state = self._logged is not None and self._logged[0] == transfer.state
        if same_state and now - self._logged_at < PROGRESS_EVERY:
            return
        rate = ""
        if before is not None and transfer.bytes_transferred is not None and now > self._logged_at:
            per_second = (transfer.bytes_transferred - before) / (now - self._logged_at)
            rate = f" ({size(int(per_second))}/s)" if per_second >= 0 else ""
        self.log.info(
            "SnapMirror transfer %s to %s: %s, %s transferred%s",
            self.transfer_uuid,
            relationship.destination_path,
            transfer.state,
            size(transfer.bytes_transferred),
            rate,
        )
        self._logged, self._logged_at = observed, now

    def _finished(self, relationship: Relationship, transfer: Transfer) -> Event:
        result = transfer_result(relationship, transfer, self.transfer_uuid)
        target = f"SnapMirror transfer {self.transfer_uuid} to {relationship.destination_path}"
        if transfer.state == "success":
            took = f" in {transfer.duration_seconds:g} s" if transfer.duration_seconds is not None else ""
            return self.success(f"{target} succeeded: {size(transfer.bytes_transferred)}{took}", result)
        verb = "was aborted" if "aborted" in transfer.state else "failed"
        return self.failure(f"{target} {verb}: {failure_reason(relationship, transfer)}", result)

    async def cancel(self) -> None:
        """Abort the transfer (the task was marked failed); ONTAP refuses it once the transfer ended."""
        settings = await OntapHook(self.ontap_conn_id).aget_connection_settings()
        message = await abort_transfer(settings.client(), self.relationship_uuid, self.transfer_uuid)
        self.log.info("%s", message)
