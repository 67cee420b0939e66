"""CloudSyncOperator against the Cloud Sync simulator: start, wait-then-sync, adopt, reattach, refuse, abort.

The operator runs as a worker runs it (synchronously, its async client on a fresh loop); Airflow's
context is stood in by a dict with a memory ``task_state_store``; the trigger runs as ``dag.test()``
runs it, in an event loop of its own.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from netapp_dataops_airflow.clients.cloud_sync_watch import MIN_POLL_INTERVAL
from netapp_dataops_airflow.exceptions import (
    CloudSyncError,
    DeadlineExceededError,
    InvalidInputError,
    OperationFailedError,
)
from netapp_dataops_airflow.operators.cloud_sync import STATE_KEY, CloudSyncOperator
from netapp_dataops_airflow.simulators.cloud_sync import CloudSyncSimulator
from netapp_dataops_airflow.triggers.cloud_sync import CloudSyncTrigger
from tests.helpers.airflow import MemoryStateStore, only_event, task_context
from tests.helpers.cloud_sync import CONN_ID, NFS, S3, connection_env


def operator(relationship_id: str, **options: Any) -> CloudSyncOperator:
    options.setdefault("poll_interval", MIN_POLL_INTERVAL)
    return CloudSyncOperator(
        task_id="sync", relationship_id=relationship_id, cloud_sync_conn_id=CONN_ID, **options
    )


def deferred(op: CloudSyncOperator, context: dict[str, Any], call: Any = None) -> CloudSyncTrigger:
    """Run ``execute`` (or ``call``), which must defer; return its trigger."""
    with pytest.raises(TaskDeferred) as deferral:
        (call or op.execute)(context)
    assert deferral.value.method_name == "execute_complete"
    assert deferral.value.timeout is None
    trigger = deferral.value.trigger
    assert isinstance(trigger, CloudSyncTrigger)
    return trigger


def event_of(trigger: CloudSyncTrigger) -> dict[str, Any]:
    """Run the trigger in a loop of its own, as dag.test() does; return its event as Airflow stores it."""
    return json.loads(json.dumps(asyncio.run(only_event(trigger))))  # type: ignore[no-any-return]


def syncs(simulator: CloudSyncSimulator) -> list[str]:
    return simulator.backend.requests_matching("PUT", "/api/relationships/")


def test_a_sync_is_started_remembered_waited_for_and_reported(
    cloud_sync: CloudSyncSimulator,
) -> None:
    sim = cloud_sync
    rel = sim.backend.add_relationship(NFS, S3, files=100)
    previous = sim.backend.relationship(rel.id).activities[-1]
    store = MemoryStateStore()
    context = task_context(store)
    op = operator(rel.id.upper())
    trigger = deferred(op, context)

    assert syncs(sim) == [f"PUT /api/relationships/{rel.id}/sync"]
    assert (trigger.relationship_id, trigger.prior, trigger.seen_active, trigger.cancel_on_kill) == (
        rel.id,
        False,
        False,
        True,
    )
    stored = store.values[STATE_KEY]
    assert stored["started_after"] is not None
    assert stored["started_after"].startswith(previous.start_time.isoformat()[:19])
    assert (stored["adopted"], stored["prior"], stored["completed"], stored["try_number"]) == (
        False,
        False,
        False,
        1,
    )
    sim.backend.advance(7200)
    result = op.execute_complete(context, event_of(trigger))  # type: ignore[arg-type]

    assert (result["status"], result["files_copied"], result["adopted"]) == ("DONE", 100, False)
    assert result["relationship_id"] == rel.id
    assert store.values[STATE_KEY]["completed"] is True
    assert sim.refresh_token not in json.dumps(result) + json.dumps(trigger.serialize()[1])


def test_a_running_sync_is_waited_for_then_a_fresh_one_started(
    cloud_sync: CloudSyncSimulator,
) -> None:
    sim = cloud_sync
    rel = sim.backend.add_relationship(NFS, S3)
    sim.backend.sync(rel.account_id, rel.id)  # someone else's
    sim.backend.advance(1)  # shown running by now
    store = MemoryStateStore()
    context = task_context(store)
    op = operator(rel.id, deadline=600)
    first = deferred(op, context)
    assert (first.prior, first.cancel_on_kill) == (True, False)
    assert syncs(sim) == []
    sim.backend.advance(7200)
    event = event_of(first)
    second = deferred(op, context, lambda ctx: op.execute_complete(ctx, event))
    assert (second.prior, second.deadline) == (False, first.deadline)
    assert syncs(sim) == [f"PUT /api/relationships/{rel.id}/sync"]
    sim.backend.advance(7200)
    result = op.execute_complete(context, event_of(second))  # type: ignore[arg-type]
    assert (result["status"], result["adopted"]) == ("DONE", False)
    assert len(sim.backend.relationship(rel.id).activities) == 3


def test_adopt_running_follows_the_running_sync(cloud_sync: CloudSyncSimulator) -> None:
    sim = cloud_sync
    rel = sim.backend.add_relationship(NFS, S3)
    sim.backend.sync(rel.account_id, rel.id)
    sim.backend.advance(1)  # shown running by now
    store = MemoryStateStore()
    context = task_context(store)
    op = operator(rel.id, adopt_running="true")
    trigger = deferred(op, context)
    assert (trigger.prior, trigger.seen_active, trigger.cancel_on_kill) == (False, True, False)
    assert syncs(sim) == []
    sim.backend.advance(7200)
    result = op.execute_complete(context, event_of(trigger))  # type: ignore[arg-type]
    assert (result["status"], result["adopted"]) == ("DONE", True)


def test_a_sync_not_shown_yet_is_waited_out_by_time(cloud_sync: CloudSyncSimulator) -> None:
    """Someone's sync was just requested: the service still shows the previous DONE and refuses ours."""
    sim = cloud_sync
    rel = sim.backend.add_relationship(NFS, S3)
    shown = sim.backend.relationship(rel.id).activities[-1]
    sim.backend.sync(rel.account_id, rel.id)
    store = MemoryStateStore()
    context = task_context(store)
    op = operator(rel.id)
    first = deferred(op, context)
    assert (first.prior, first.seen_active) == (True, False)
    assert first.started_after is not None
    assert first.started_after.startswith(shown.start_time.isoformat()[:19])
    assert len(syncs(sim)) == 1  # refused: "A sync action is running right now"
    sim.backend.advance(7200)
    event = event_of(first)
    assert event["result"]["start_time"] > first.started_after  # not the DONE shown before
    second = deferred(op, context, lambda ctx: op.execute_complete(ctx, event))
    assert second.prior is False


def test_a_retry_after_a_crash_reattaches_instead_of_starting_a_second_sync(
    cloud_sync: CloudSyncSimulator,
) -> None:
    sim = cloud_sync
    rel = sim.backend.add_relationship(NFS, S3)
    store = MemoryStateStore()
    first = deferred(operator(rel.id), task_context(store, try_number=1))
    # The worker is lost; the retry finds the sync still running.
    retry = deferred(operator(rel.id), task_context(store, try_number=2))
    assert (retry.started_after, retry.prior) == (first.started_after, False)
    assert retry.cancel_on_kill is True
    assert len(sim.backend.relationship(rel.id).activities) == 2  # the previous one and ours
    # Once the service shows the sync running, a retry reattaches without asking again.
    sim.backend.advance(1)
    requested = len(syncs(sim))
    again = deferred(operator(rel.id), task_context(store, try_number=3))
    assert (again.started_after, again.prior, len(syncs(sim))) == (first.started_after, False, requested)


def test_a_retry_takes_the_outcome_no_try_reported(cloud_sync: CloudSyncSimulator) -> None:
    sim = cloud_sync
    rel = sim.backend.add_relationship(NFS, S3)
    store = MemoryStateStore()
    deferred(operator(rel.id), task_context(store, try_number=1))
    sim.backend.advance(7200)
    result = operator(rel.id).execute(task_context(store, try_number=2))  # type: ignore[arg-type]
    assert result["status"] == "DONE"
    assert len(syncs(sim)) == 1
    assert store.values[STATE_KEY]["completed"] is True


def test_after_a_reported_sync_the_next_try_starts_a_new_one(cloud_sync: CloudSyncSimulator) -> None:
    sim = cloud_sync
    sim.backend.set_sync_settings(outcome="FAILED")
    rel = sim.backend.add_relationship(NFS, S3)
    store = MemoryStateStore()
    context = task_context(store)
    op = operator(rel.id)
    trigger = deferred(op, context)
    sim.backend.advance(7200)
    with pytest.raises(OperationFailedError, match="ended FAILED"):
        op.execute_complete(context, event_of(trigger))  # type: ignore[arg-type]
    deferred(operator(rel.id), task_context(store, try_number=2))
    assert len(syncs(sim)) == 2


def test_the_deadline_aborts_only_this_tasks_sync(cloud_sync: CloudSyncSimulator) -> None:
    sim = cloud_sync
    rel = sim.backend.add_relationship(NFS, S3)
    store = MemoryStateStore()
    context = task_context(store)
    op = operator(rel.id, deadline=1.5)
    trigger = deferred(op, context)
    event = event_of(trigger)
    assert event["status"] == "timeout"
    with pytest.raises(DeadlineExceededError):
        op.execute_complete(context, event)  # type: ignore[arg-type]
    assert sim.backend.relationship(rel.id).activities[-1].status == "ABORTED"


def test_a_sync_done_just_after_the_deadline_is_the_result(cloud_sync: CloudSyncSimulator) -> None:
    sim = cloud_sync
    rel = sim.backend.add_relationship(NFS, S3)
    store = MemoryStateStore()
    context = task_context(store)
    op = operator(rel.id, deadline=1.5)
    trigger = deferred(op, context)
    event = event_of(trigger)
    sim.backend.advance(7200)
    result = op.execute_complete(context, event)  # type: ignore[arg-type]
    assert result["status"] == "DONE"
    assert PUT_ABORT not in " ".join(syncs(sim))


PUT_ABORT = "/abort"


@pytest.mark.parametrize(
    ("relationship_id", "options", "message"),
    [
        ("not-an-id", {}, "24 hex digits"),
        ("a" * 24, {"poll_interval": 0}, "poll_interval must be at least 1"),
        ("a" * 24, {"on_failed_files": "maybe"}, "on_failed_files must be 'fail' or 'warn'"),
        ("a" * 24, {"adopt_running": "perhaps"}, "adopt_running must be true or false"),
        ("a" * 24, {"deadline": -1}, "deadline must be a positive"),
        ("a" * 24, {}, "no Cloud Sync relationship a{24} in account account-[0-9a-f]{8} "),
    ],
)
def test_bad_input_is_refused_with_nothing_started(
    cloud_sync: CloudSyncSimulator, relationship_id: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        operator(relationship_id, **options).execute(task_context(MemoryStateStore()))  # type: ignore[arg-type]
    assert syncs(cloud_sync) == []


@pytest.mark.parametrize("revoke", [True, False])
def test_a_bad_or_revoked_refresh_token_is_refused_without_showing_it(
    cloud_sync: CloudSyncSimulator, monkeypatch: pytest.MonkeyPatch, revoke: bool
) -> None:
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    if revoke:
        cloud_sync.backend.revoke_refresh_token(cloud_sync.refresh_token)
    else:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_env(cloud_sync, password="bad"))
    with pytest.raises(CloudSyncError, match="invalid_grant") as refused:
        operator(rel.id).execute(task_context(MemoryStateStore()))  # type: ignore[arg-type]
    assert cloud_sync.refresh_token not in str(refused.value)
    assert syncs(cloud_sync) == []


def test_several_accounts_and_none_chosen(cloud_sync: CloudSyncSimulator) -> None:
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    cloud_sync.backend.add_account("account-Other001")
    with pytest.raises(InvalidInputError, match="several accounts"):
        operator(rel.id).execute(task_context(MemoryStateStore()))  # type: ignore[arg-type]
    assert syncs(cloud_sync) == []


def test_a_connection_of_another_type_is_refused(
    cloud_sync: CloudSyncSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_env(cloud_sync, conn_type="netapp_ontap")
    )
    with pytest.raises(InvalidInputError, match="needs a 'netapp_cloud_sync' connection"):
        operator("a" * 24).execute(task_context(MemoryStateStore()))  # type: ignore[arg-type]
    assert syncs(cloud_sync) == []
