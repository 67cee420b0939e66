"""What every deferrable operator here shares: the deadline, kill behaviour and the event contract.

A subclass's ``execute`` validates its input, builds its trigger (:meth:`NetAppOperator.check_trigger`
before anything changes remotely), starts or adopts the operation, and then either returns the
result (already done) or calls :meth:`NetAppOperator.defer_to`. :meth:`execute_complete` turns the
trigger's one event into the task's XCom or into an exception naming what went wrong; at the
deadline, :meth:`NetAppOperator.on_deadline` cancels what the task started, unless it finished in
the meantime. docs/semantics.md describes this for users.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import AssetAlias, BaseOperator, Context

from netapp_dataops_airflow.clients._values import flag, number
from netapp_dataops_airflow.exceptions import (
    DeadlineExceededError,
    InvalidInputError,
    NetAppDataOpsError,
    OperationFailedError,
)
from netapp_dataops_airflow.operators import lineage
from netapp_dataops_airflow.triggers.base import NetAppTrigger, deadline_after

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage


class NetAppOperator(BaseOperator):
    """Base of the deferrable operators: start the operation, defer, turn the event into a result.

    :param deadline: how long to wait for the operation (a ``timedelta`` or seconds) before the task
        fails with a timeout; ``None`` waits as long as it takes. It is enforced by the trigger, because
        Airflow does not enforce ``execution_timeout`` while a task is deferred.
    :param cancel_on_kill: cancel the operation (delete what this task created, abort the transfer)
        when the task is marked failed while it waits, or when the deadline passes; a finished
        result (a ready snapshot, a succeeded transfer) is never destroyed.
    :param asset_events: when the operation succeeds, add an Airflow asset event for each dataset
        whose data it changed (the PVC snapshotted or cloned, the SnapMirror destination, the Cloud
        Sync target, the XCP copy's target), with the task's result as the event's ``extra``, to
        every ``AssetAlias`` among the task's ``outlets``. Without ``outlets`` the task gets one
        alias, ``netapp-dataops:<dag_id>.<task_id>``. ``False``: no events and no default alias.
        docs/lineage.md names the assets' URIs.
    """

    ui_color = "#0067c5"  # NetApp blue

    def __init__(
        self,
        *,
        deadline: datetime.timedelta | float | None = None,
        cancel_on_kill: bool = True,
        asset_events: bool = True,
        **kwargs: Any,
    ) -> None:
        # Empty counts as none: a mapped task is built from partial kwargs that hold outlets=[].
        outlets_given = bool(kwargs.get("outlets"))
        super().__init__(**kwargs)
        self.deadline = deadline
        self.cancel_on_kill = cancel_on_kill
        self.asset_events = flag(asset_events, "asset_events", default=True)
        if self.asset_events and not outlets_given:
            dag_id = self.dag.dag_id if self.has_dag() else None  # type: ignore[no-untyped-call]
            self.outlets = [AssetAlias(name=lineage.alias_name(dag_id, self.task_id))]
        self._lineage: lineage.Lineage | None = None

    def absolute_deadline(self) -> float | None:
        """Return this try's deadline as a POSIX timestamp (``None``: no limit)."""
        wait = self.deadline
        try:
            # Text (templated), finite, never a boolean; a timedelta as it is.
            seconds = (
                wait if isinstance(wait, datetime.timedelta) or wait is None else number(wait, "deadline")
            )
            return deadline_after(seconds)
        except (TypeError, ValueError):  # InvalidInputError is a ValueError
            raise InvalidInputError(
                f"{self.task_id}: deadline must be a positive timedelta or number of seconds, "
                f"got {self.deadline!r}"
            ) from None

    def check_trigger(self, trigger: NetAppTrigger) -> NetAppTrigger:
        """Fail now, before the operation starts, if the trigger's kwargs are not plain JSON.

        Airflow serializes them only when the task defers, which is after the operation started.
        """
        classpath, kwargs = trigger.serialize()
        try:
            json.dumps(kwargs, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"{self.task_id}: {classpath} kwargs are not plain JSON: {exc}") from None
        return trigger

    def defer_to(self, trigger: NetAppTrigger) -> NoReturn:
        """Hand the wait to the triggerer; the deadline is inside the trigger, so no defer timeout."""
        self.defer(trigger=self.check_trigger(trigger), method_name="execute_complete", timeout=None)

    def execute_complete(self, context: Context, event: Mapping[str, Any] | None = None) -> Any:
        """Return the event's result (the task's XCom), or raise the error it reports."""
        if not isinstance(event, Mapping) or "status" not in event:
            raise NetAppDataOpsError(f"{self.task_id}: resumed without a trigger event (got {event!r})")
        status, message = event["status"], str(event.get("message", ""))
        if status == "success":
            self.log.info("%s", message)
            return event.get("result")
        if status == "timeout":
            return self._after_deadline(context, event, message)
        if status == "failed":
            raise OperationFailedError(message)
        raise NetAppDataOpsError(message)

    def _after_deadline(self, context: Context, event: Mapping[str, Any], message: str) -> Any:
        """Clean up after the deadline; the operation may have finished since, which is a success."""
        try:
            result = self.on_deadline(context, event)
        except DeadlineExceededError:
            raise
        except NetAppDataOpsError as exc:
            raise DeadlineExceededError(
                f"{message}; cancelling it was not confirmed, so it may still be running ({exc})"
            ) from exc
        if result is None:
            raise DeadlineExceededError(message)
        self.log.info("%s; it finished before it could be cancelled: keeping its result", message)
        return result

    def lineage_of(self, result: Mapping[str, Any]) -> lineage.Lineage | None:
        """Say what the finished operation read and wrote (``None``: nothing to tell)."""
        return None

    def report(self, context: Context, result: Any) -> Any:
        """Record a succeeded operation's lineage (asset events now, OpenLineage when asked); return it.

        Lineage never fails a task whose operation succeeded: a problem is logged as a warning.
        """
        if not isinstance(result, Mapping):
            return result
        try:
            self._lineage = self.lineage_of(result)
            if self._lineage is not None and self.asset_events:
                added = lineage.emit_asset_events(self.outlets, context, self._lineage)
                self.log.debug("Recorded %d asset events", added)
        except Exception as exc:  # lineage is a side note to the result, never its failure
            self.log.warning("Could not record the lineage of %s: %s", self.task_id, exc)
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Any, Any]:
        """Tell the OpenLineage provider what the task read and wrote, and the operation's facts."""
        return lineage.operator_lineage(self._lineage)

    def on_deadline(self, context: Context, event: Mapping[str, Any]) -> Any:
        """Cancel the operation the deadline cut short, unless it finished in the meantime.

        Return the result if it finished successfully (the task then succeeds with it), else
        ``None`` (the task fails with :class:`DeadlineExceededError`). Let an error escape when the
        cancel could not be sent: the task then fails saying the cancel was not confirmed.
        """
        return None
