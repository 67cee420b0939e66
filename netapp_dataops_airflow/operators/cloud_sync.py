"""Sync a Cloud Sync (BlueXP copy and sync) relationship and defer until the sync ends.

Starting follows the library's deferral contract:

1. The relationship id (24 hex digits), ``poll_interval``, ``on_failed_files``, ``adopt_running``
   and the connection are checked before any request; the relationship is read (an unknown one is
   an error, nothing started).
2. A sync already running is, by default, waited for and then followed by a fresh sync, so the data
   copied is at least as new as the task's start (``adopt_running=True`` takes the running one as
   this task's sync instead). Otherwise ``PUT .../sync`` starts one; a "sync already running" answer
   (someone was faster) is handled the same way.
3. What identifies the sync goes to ``task_state_store`` at once: the relationship, the start time
   of the activity shown before the request (Cloud Sync names no sync id; only a later activity is
   ours, never the previous ``DONE`` still shown just after the request), whether it was adopted,
   and the try. A later try that finds that sync still running reattaches; one that finds it ended
   while no try was watching takes its outcome. Once a try has reported the end, the next try
   starts a new sync.
4. The task defers to :class:`~netapp_dataops_airflow.triggers.cloud_sync.CloudSyncTrigger`.

A sync this task started is aborted when the deadline passes or the task is marked failed while it
waits (``cancel_on_kill``), unless it has ended. An adopted sync, or the one waited for before
starting ours, belongs to someone else and is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from airflow.sdk import Context

from netapp_dataops_airflow.clients._blocking import run_blocking
from netapp_dataops_airflow.clients._values import flag
from netapp_dataops_airflow.clients.cloud_sync import (
    CloudSyncClient,
    Relationship,
    check_relationship_id,
    parse_time,
)
from netapp_dataops_airflow.clients.cloud_sync_watch import (
    abort_sync,
    check_poll_interval,
    is_ours,
    sync_result,
)
from netapp_dataops_airflow.exceptions import (
    CloudSyncError,
    InvalidInputError,
    NetAppDataOpsError,
    SyncInProgressError,
)
from netapp_dataops_airflow.hooks.cloud_sync import CloudSyncConnection, CloudSyncHook
from netapp_dataops_airflow.operators import lineage
from netapp_dataops_airflow.operators.base import NetAppOperator
from netapp_dataops_airflow.triggers.cloud_sync import (
    DEFAULT_POLL_INTERVAL,
    CloudSyncTrigger,
    check_on_failed_files,
)

STATE_KEY = "cloud_sync_sync"
_PLACEHOLDER_ID = "0" * 24


@dataclass(frozen=True)
class StoredSync:
    """The sync a try started, adopted or waits for first, as kept in ``task_state_store``."""

    relationship_id: str
    started_after: str | None
    adopted: bool
    prior: bool
    try_number: int
    completed: bool = False

    @classmethod
    def load(cls, value: Any) -> StoredSync | None:
        """Read a stored record; anything unreadable counts as none."""
        if not isinstance(value, Mapping):
            return None
        try:
            return cls(
                relationship_id=str(value["relationship_id"]),
                started_after=value.get("started_after"),
                adopted=bool(value["adopted"]),
                prior=bool(value.get("prior", False)),
                try_number=int(value["try_number"]),
                completed=bool(value.get("completed", False)),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Plan:
    """What to wait for next: a sync (ours, adopted, or someone else's first), or an ended one."""

    record: StoredSync
    relationship: Relationship
    finished: bool = False


class CloudSyncOperator(NetAppOperator):
    """Sync a Cloud Sync relationship (``PUT /relationships/{id}/sync``) and wait for the sync.

    The task's XCom is a dict: ``relationship_id``, ``source`` and ``target`` (``protocol``,
    ``host`` (NFS host or bucket), ``path``), ``status``, every counter (``bytes_copied``,
    ``files_copied``, ``files_failed``, ``files_scanned``, ``bytes_marked_for_copy``, ...),
    ``start_time``, ``end_time``, ``duration_seconds``, ``failure_message``, ``top_errors`` and
    ``adopted``.

    :param relationship_id: the relationship (24 hex digits; templated).
    :param cloud_sync_conn_id: a ``netapp_cloud_sync`` (or ``http``) connection (templated).
    :param adopt_running: take a sync already running as this task's sync instead of waiting for it
        to end and starting a fresh one.
    :param on_failed_files: ``"fail"`` (default) or ``"warn"`` when the sync is ``DONE`` but some
        files failed to copy.
    :param poll_interval: seconds between status polls in the triggerer (one poll per account
        serves every waiting task).

    See :class:`~netapp_dataops_airflow.operators.base.NetAppOperator` for ``deadline`` and
    ``cancel_on_kill``.
    """

    template_fields: Sequence[str] = ("relationship_id", "cloud_sync_conn_id")

    def __init__(
        self,
        *,
        relationship_id: str,
        cloud_sync_conn_id: str = CloudSyncHook.default_conn_name,
        adopt_running: bool = False,
        on_failed_files: str = "fail",
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.relationship_id = relationship_id
        self.cloud_sync_conn_id = cloud_sync_conn_id
        self.adopt_running = adopt_running
        self.on_failed_files = on_failed_files
        self.poll_interval = poll_interval

    def execute(self, context: Context) -> Any:
        """Validate, start or adopt (or reattach to) a sync, remember it, then defer."""
        return self._start(context, self.absolute_deadline())

    def _start(self, context: Context, deadline: float | None) -> Any:
        relationship_id = check_relationship_id(self.relationship_id)
        check_poll_interval(self.poll_interval)
        check_on_failed_files(self.on_failed_files)
        flag(self.adopt_running, "adopt_running", default=False)
        settings = CloudSyncHook(self.cloud_sync_conn_id).get_connection_settings()
        self._deadline = deadline
        placeholder = StoredSync(relationship_id, None, False, False, 0)
        self.check_trigger(self._trigger(placeholder))
        earlier = self._stored(context)
        plan = run_blocking(lambda: self._plan(context, settings, relationship_id, earlier))
        return self._follow(context, plan)

    def _follow(self, context: Context, plan: Plan) -> Any:
        if plan.finished:
            activity = plan.relationship.activity
            assert activity is not None
            self.log.info("The sync of %s ended while no try was watching it", plan.record.relationship_id)
            return self.execute_complete(
                context, self._trigger(plan.record).outcome(plan.relationship, activity)
            )
        self.defer_to(self._trigger(plan.record))

    _deadline: float | None = None

    def _trigger(self, record: StoredSync) -> CloudSyncTrigger:
        return CloudSyncTrigger(
            self.cloud_sync_conn_id,
            record.relationship_id,
            check_poll_interval(self.poll_interval),
            started_after=record.started_after,
            seen_active=_seen_active(record),
            prior=record.prior,
            on_failed_files=check_on_failed_files(self.on_failed_files),
            deadline=self._deadline,
            # An adopted sync, or the one before ours, is someone else's: killing this task keeps it.
            cancel_on_kill=self.cancel_on_kill and not (record.adopted or record.prior),
        )

    async def _plan(
        self,
        context: Context,
        settings: CloudSyncConnection,
        relationship_id: str,
        earlier: StoredSync | None,
    ) -> Plan:
        client = settings.client()
        relationship = await self._read(client, settings, relationship_id)
        pending = None
        if (
            earlier is not None
            and not earlier.completed
            and not earlier.prior
            and earlier.relationship_id == relationship_id
        ):
            resumed = self._resume(relationship, earlier)
            if resumed is not None:
                return resumed
            pending = earlier  # requested by a lost try, maybe not shown yet (see below)
        try_number = int(getattr(context.get("ti"), "try_number", 0) or 0)
        adopt = flag(self.adopt_running, "adopt_running", default=False)
        activity = relationship.activity
        if activity is not None and not activity.terminal:
            return self._running(context, relationship, None, adopt, try_number)
        start = activity.start_time if activity is not None else None
        shown = start.isoformat() if start is not None else None
        record = StoredSync(relationship_id, shown, False, False, try_number)
        # Remembered before the request: a worker lost right after it still leaves the mark.
        self._remember(context, record)
        try:
            await client.start_sync(relationship_id)
        except SyncInProgressError:
            # A sync runs that the service does not show yet (it shows the previous activity for a
            # moment after a request). If a lost try asked for it, it is ours; else someone else's.
            if pending is not None:
                self._remember(context, pending)
                self.log.info("Reattaching to the sync requested by try %s", pending.try_number)
                return Plan(pending, relationship)
            return self._running(context, relationship, shown, adopt, try_number)
        self.log.info(
            "Started a sync of Cloud Sync relationship %s (%s -> %s)",
            relationship_id,
            relationship.source.describe(),
            relationship.target.describe(),
        )
        return Plan(record, relationship)

    def _running(
        self,
        context: Context,
        relationship: Relationship,
        shown: str | None,
        adopt: bool,
        try_number: int,
    ) -> Plan:
        """Follow (``adopt``) or wait out a sync someone else started.

        :param shown: ``None`` when the running sync is shown; else the start of the activity shown
            instead, which the running sync must be newer than.
        """
        record = StoredSync(relationship.id, shown, adopt, not adopt, try_number)
        self._remember(context, record)
        if adopt:
            self.log.info("A sync already runs on %s; following it (adopt_running)", relationship.id)
        else:
            self.log.info(
                "A sync already runs on %s; waiting for it to end, then starting a fresh one", relationship.id
            )
        return Plan(record, relationship)

    async def _read(
        self, client: CloudSyncClient, settings: CloudSyncConnection, relationship_id: str
    ) -> Relationship:
        try:
            return await client.get_relationship(relationship_id)
        except CloudSyncError as exc:
            if exc.status == 404:
                account = settings.account_id or await client.account_id()
                raise InvalidInputError(
                    f"no Cloud Sync relationship {relationship_id} in account {account} (connection "
                    f"{settings.conn_id!r}); list them with `python -m netapp_dataops_airflow relationships "
                    f"--conn-id {settings.conn_id}`"
                ) from None
            raise

    def _resume(self, relationship: Relationship, earlier: StoredSync) -> Plan | None:
        """Reattach to the sync an earlier try started, if it runs; take its outcome if it ended."""
        activity = relationship.activity
        which = f"the sync of {earlier.relationship_id} (from try {earlier.try_number})"
        if activity is not None and not activity.terminal:
            self.log.info("Reattaching to %s, still %s", which, activity.status)
            return Plan(earlier, relationship)
        if is_ours(activity, parse_time(earlier.started_after), seen_active=_seen_active(earlier)):
            return Plan(earlier, relationship, finished=True)
        return None  # it never started, or the shown activity is the one before it: start again

    def execute_complete(self, context: Context, event: Mapping[str, Any] | None = None) -> Any:
        """Return the sync's result (with ``adopted``), raise, or start ours after someone else's ended."""
        if isinstance(event, Mapping) and event.get("prior") and event.get("status") in ("success", "failed"):
            self.log.info("%s", event.get("message"))
            deadline = (event.get("result") or {}).get("deadline")
            return self._start(context, float(deadline) if deadline is not None else None)
        stored = self._stored(context)
        try:
            result = super().execute_complete(context, event)
        except NetAppDataOpsError:
            if isinstance(event, Mapping) and event.get("status") == "failed":
                self._mark_completed(context)
            raise
        self._mark_completed(context)
        return self.report(
            context, {**(result or {}), "adopted": bool(stored is not None and stored.adopted)}
        )

    def lineage_of(self, result: Mapping[str, Any]) -> lineage.Lineage | None:
        """Read the relationship's source, write its target (``nfs://host/path``, ``s3://bucket/prefix``)."""
        source, target = (
            lineage.endpoint_dataset(**(result.get(side) or {})) for side in ("source", "target")
        )
        if target is None:
            return None
        return lineage.Lineage("cloud_sync", [source] if source else [], [target], [target], result)

    def on_deadline(self, context: Context, event: Mapping[str, Any]) -> Any:
        """Abort the sync this task started, unless it ended; a DONE by then is the result."""
        stored = self._stored(context)
        relationship_id = event.get("relationship_id")
        if stored is None or stored.prior or not relationship_id:
            return None
        abort = self.cancel_on_kill and not stored.adopted
        after = parse_time(stored.started_after)
        settings = CloudSyncHook(self.cloud_sync_conn_id).get_connection_settings()

        async def settle(client: CloudSyncClient) -> tuple[str | None, Relationship]:
            relationship = await client.get_relationship(relationship_id)
            activity = relationship.activity
            if abort and activity is not None and not activity.terminal:
                note = await abort_sync(client, relationship_id)
                return note, await client.get_relationship(relationship_id)
            return None, relationship

        note, relationship = run_blocking(lambda: settle(settings.client()))
        if note is not None:
            self.log.info("%s after the deadline", note)
        activity = relationship.activity
        if activity is None or not is_ours(activity, after, seen_active=_seen_active(stored)):
            return None
        self._mark_completed(context)
        if activity.status != "DONE":
            return None
        self.log.info("The sync of %s ended DONE just after the deadline", relationship_id)
        return {**sync_result(relationship, activity), "adopted": stored.adopted}

    def _stored(self, context: Context) -> StoredSync | None:
        store = context.get("task_state_store")
        return StoredSync.load(store.get(STATE_KEY)) if store is not None else None

    def _remember(self, context: Context, record: StoredSync) -> None:
        store = context.get("task_state_store")
        if store is not None:
            store.set(STATE_KEY, asdict(record))

    def _mark_completed(self, context: Context) -> None:
        """Record that this try reported the sync's outcome: the next try starts afresh."""
        stored = self._stored(context)
        if stored is not None:
            self._remember(context, replace(stored, completed=True))


def _seen_active(record: StoredSync) -> bool:
    """Whether the sync followed was seen running (adopted or waited out while shown running)."""
    return (record.adopted or record.prior) and record.started_after is None
