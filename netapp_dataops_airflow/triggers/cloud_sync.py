"""Wait in the triggerer for a Cloud Sync sync to end.

:class:`CloudSyncTrigger` follows the relationship's latest activity through the account's shared
poll (:func:`~netapp_dataops_airflow.clients.cloud_sync_watch.watch_relationship`: one listing per
account per interval for every wait there). Cloud Sync names no sync id, so the trigger knows its
sync by time: the previous activity may still be shown as ``DONE`` right after the request, and only
an activity seen running, or one that started after the activity shown before the request, is
ours (:func:`~netapp_dataops_airflow.clients.cloud_sync_watch.is_ours`).
"""

from __future__ import annotations

import time
from typing import Any

from netapp_dataops_airflow.clients._poller import PollTrouble
from netapp_dataops_airflow.clients.cloud_sync import (
    Activity,
    Relationship,
    check_relationship_id,
    parse_time,
)
from netapp_dataops_airflow.clients.cloud_sync_watch import (
    abort_sync,
    check_poll_interval,
    failure_reason,
    is_ours,
    progress,
    sync_result,
    watch_relationship,
)
from netapp_dataops_airflow.exceptions import InvalidInputError
from netapp_dataops_airflow.hooks.cloud_sync import CloudSyncHook
from netapp_dataops_airflow.triggers.base import Event, NetAppTrigger

DEFAULT_POLL_INTERVAL = 30.0
ON_FAILED_FILES = ("fail", "warn")
# Progress lines per wait at most this often (status changes are logged at once).
PROGRESS_EVERY = 60.0


def check_on_failed_files(value: Any) -> str:
    """Return ``"fail"`` or ``"warn"``; anything else is an input error."""
    if value not in ON_FAILED_FILES:
        raise InvalidInputError(f"on_failed_files must be 'fail' or 'warn', got {value!r}")
    return str(value)


class CloudSyncTrigger(NetAppTrigger):
    """Wait for a Cloud Sync relationship's sync to end.

    Yields one event: ``success`` with the result (status, every counter, start and end time,
    duration, source and target), ``failed`` with Cloud Sync's failure message and top errors
    (``FAILED``, aborted, or ``DONE`` with failed files when ``on_failed_files="fail"``),
    ``timeout`` at the deadline, or ``error`` when the wait cannot go on (refused refresh token,
    relationship deleted). Passing poll failures (429, 5xx, drops) are retried at the next poll; an
    unknown status counts as in progress.

    :param cloud_sync_conn_id: the Cloud Sync connection.
    :param relationship_id: the relationship.
    :param poll_interval: seconds between polls; waits on one account share the shortest.
    :param started_after: start time (ISO 8601, as Cloud Sync reported it) of the activity shown
        before the sync request; a finished activity that started later is ours. ``None``: none.
    :param seen_active: the sync waited for was already seen running (an adopted sync).
    :param prior: wait for a sync someone else started; the task starts its own once it ends.
    :param on_failed_files: ``"fail"`` or ``"warn"`` when the sync is ``DONE`` with failed files.
    :param deadline: POSIX timestamp after which the trigger yields ``timeout``.
    :param cancel_on_kill: abort the sync when the user marks the task failed while it waits.
    """

    def __init__(
        self,
        cloud_sync_conn_id: str,
        relationship_id: str,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        *,
        started_after: str | None = None,
        seen_active: bool = False,
        prior: bool = False,
        on_failed_files: str = "fail",
        deadline: float | None = None,
        cancel_on_kill: bool = True,
    ) -> None:
        super().__init__(deadline=deadline, cancel_on_kill=cancel_on_kill)
        self.cloud_sync_conn_id = cloud_sync_conn_id
        self.relationship_id = check_relationship_id(relationship_id)
        self.poll_interval = check_poll_interval(poll_interval)
        self.started_after = started_after
        self._after = parse_time(started_after)
        if started_after is not None and self._after is None:
            raise InvalidInputError(
                f"started_after must be an ISO 8601 time such as 2024-05-01T12:00:00Z, got {started_after!r}"
            )
        self.seen_active = bool(seen_active)
        self.prior = bool(prior)
        self.on_failed_files = check_on_failed_files(on_failed_files)
        self._logged: tuple[str, int | None] | None = None
        self._logged_at = 0.0

    def ids(self) -> dict[str, Any]:
        """Return the relationship id (and whether this was the wait for someone else's sync)."""
        return {"relationship_id": self.relationship_id, "prior": self.prior}

    def describe(self) -> str:
        """Name the sync for log lines and messages."""
        whose = "the running sync" if self.prior else "the sync"
        return f"{whose} of Cloud Sync relationship {self.relationship_id}"

    def connection_id(self) -> str:
        """Return the Cloud Sync connection, named in error messages."""
        return self.cloud_sync_conn_id

    async def wait(self) -> Event:
        """Follow the relationship's activity through the account's shared poll until ours ends."""
        settings = await CloudSyncHook(self.cloud_sync_conn_id).aget_connection_settings()
        seen_active = self.seen_active
        async with watch_relationship(settings, self.relationship_id, self.poll_interval) as watch:
            while True:
                update = await watch.next()
                if isinstance(update, PollTrouble):
                    self.log.warning("%s", update.message)
                    continue
                activity = update.activity
                if activity is not None and not activity.terminal:
                    # The activity shown before the request had ended: a running one is newer.
                    seen_active = True
                    self._log_progress(activity)
                    continue
                if is_ours(activity, self._after, seen_active=seen_active):
                    assert activity is not None
                    return self.outcome(update, activity)

    def _log_progress(self, activity: Activity) -> None:
        observed = (activity.status, activity.progress)
        if observed == self._logged:
            return
        now = time.monotonic()
        same_status = self._logged is not None and self._logged[0] == activity.status
        if same_status and now - self._logged_at < PROGRESS_EVERY:
            return
        self.log.info("Cloud Sync relationship %s: %s", self.relationship_id, progress(activity))
        self._logged, self._logged_at = observed, now

    def outcome(self, relationship: Relationship, activity: Activity) -> Event:
        """Build the event for our finished sync (also used by the operator for one that ended unwatched)."""
        result = sync_result(relationship, activity)
        target = f"Cloud Sync sync of {relationship.source.describe()} -> {relationship.target.describe()}"
        if self.prior:
            # The deadline travels with the event: the task's own sync must keep the original one.
            message = f"the sync that was running ended {activity.status}; starting a new one"
            return self.success(message, {**result, "deadline": self.deadline})
        if activity.status != "DONE":
            verb = "was aborted" if activity.status == "ABORTED" else f"ended {activity.status}"
            return self.failure(f"{target} {verb}: {failure_reason(activity)}", result)
        failed = activity.counters.get("filesFailed", 0)
        summary = f"{target} done: {progress(activity)}"
        if failed and self.on_failed_files == "fail":
            return self.failure(
                f"{target} is DONE but {failed} files failed to copy: {failure_reason(activity)} "
                "(on_failed_files='warn' accepts it)",
                result,
            )
        if failed:
            self.log.warning("%s files failed to copy: %s", failed, failure_reason(activity))
        return self.success(summary, result)

    async def cancel(self) -> None:
        """Abort the sync (the task was marked failed), unless it has ended or is not ours."""
        settings = await CloudSyncHook(self.cloud_sync_conn_id).aget_connection_settings()
        client = settings.client()
        activity = (await client.get_relationship(self.relationship_id)).activity
        if activity is None or activity.terminal:
            self.log.info("%s has ended; nothing to abort", self.describe())
            return
        self.log.info("%s", await abort_sync(client, self.relationship_id))
