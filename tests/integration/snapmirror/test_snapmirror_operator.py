"""SnapMirrorUpdateOperator against the ONTAP simulator: start, adopt, reattach, refuse, abort.

The operator runs as a worker runs it (synchronously, its async client on a fresh loop); Airflow's
context is stood in by a dict with a memory ``task_state_store``; the trigger runs as ``dag.test()``
runs it, in an event loop of its own.
"""

from __future__ import annotations

import datetime
import json
import time
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from netapp_dataops_airflow.clients.snapmirror import MIN_POLL_INTERVAL
from netapp_dataops_airflow.exceptions import (
    ApiError,
    DeadlineExceededError,
    InvalidInputError,
    NetAppDataOpsError,
    OntapError,
    OperationFailedError,
)
from netapp_dataops_airflow.hooks.ontap import OntapHook
from netapp_dataops_airflow.operators.snapmirror import STATE_KEY, SnapMirrorUpdateOperator
from netapp_dataops_airflow.simulators.ontap import OntapSimulator
from netapp_dataops_airflow.triggers import base as trigger_base
from netapp_dataops_airflow.triggers.snapmirror import SnapMirrorTransferTrigger
from tests.helpers.airflow import MemoryStateStore, deferred, event_as_stored, task_context
from tests.helpers.connections import ontap_fields
from tests.helpers.ontap import CONN_ID, RELATIONSHIPS, transfers

pytestmark = pytest.mark.usefixtures("ontap_sim_connection")

RESULT_KEYS = {
    "relationship_uuid",
    "transfer_uuid",
    "state",
    "bytes_transferred",
    "end_time",
    "duration_seconds",
    "snapshot",
    "source_path",
    "destination_path",
    "adopted",
}


def operator(relationship: str, **options: Any) -> SnapMirrorUpdateOperator:
    options.setdefault("poll_interval", MIN_POLL_INTERVAL)
    return SnapMirrorUpdateOperator(
        task_id="update", relationship=relationship, ontap_conn_id=CONN_ID, **options
    )


def resumed(op: SnapMirrorUpdateOperator, context: dict[str, Any], trigger: SnapMirrorTransferTrigger) -> Any:
    """Run the trigger in a loop of its own, as dag.test() does, then resume the task with its event."""
    return op.execute_complete(context, event=event_as_stored(trigger))  # type: ignore[arg-type]


def test_update_by_destination_path(slow_ontap: OntapSimulator) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol1", "dst:vol1_dst", size_bytes=4096)
    store = MemoryStateStore()
    context = task_context(store)
    op = operator("dst:vol1_dst")
    trigger = deferred(op, context, SnapMirrorTransferTrigger)

    [started] = [transfer.uuid for transfer in transfers(slow_ontap)]
    assert (trigger.relationship_uuid, trigger.transfer_uuid) == (rel.uuid, started)
    assert trigger.cancel_on_kill is True
    assert store.values[STATE_KEY] == {
        "relationship_uuid": rel.uuid,
        "transfer_uuid": started,
        "adopted": False,
        "try_number": 1,
        "completed": False,
    }
    slow_ontap.backend.advance(3600)
    result = resumed(op, context, trigger)

    assert set(result) == RESULT_KEYS
    assert result["state"] == "success"
    assert (result["relationship_uuid"], result["transfer_uuid"], result["adopted"]) == (
        rel.uuid,
        started,
        False,
    )
    assert (result["source_path"], result["destination_path"]) == ("src:vol1", "dst:vol1_dst")
    assert result["bytes_transferred"] == 4096
    assert result["duration_seconds"] == 3600
    assert store.values[STATE_KEY]["completed"] is True
    assert slow_ontap.backend.requests_matching("POST") == [
        f"POST {RELATIONSHIPS}/{rel.uuid}/transfers?return_records=true"
    ]
    assert slow_ontap.password not in json.dumps(result)


def test_update_by_uuid_with_options_and_templated_strings(slow_ontap: OntapSimulator) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    op = operator(rel.uuid.upper(), source_snapshot="daily.0", throttle="2048")
    trigger = deferred(op, task_context(MemoryStateStore()), SnapMirrorTransferTrigger)
    transfer = slow_ontap.backend.get_transfer(rel.uuid, trigger.transfer_uuid)
    assert (transfer.snapshot, transfer.throttle) == ("daily.0", 2048)


def test_a_transfer_already_over_returns_without_deferring(slow_ontap: OntapSimulator) -> None:
    slow_ontap.backend.set_transfer_settings(duration=0)
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    store = MemoryStateStore()
    result = operator("dst:vol").execute(task_context(store))  # type: ignore[arg-type]
    assert (result["state"], result["relationship_uuid"], result["adopted"]) == ("success", rel.uuid, False)
    assert store.values[STATE_KEY]["completed"] is True


def test_a_transfer_that_failed_at_once_fails_the_task(slow_ontap: OntapSimulator) -> None:
    slow_ontap.backend.set_transfer_settings(duration=0, outcome="failed")
    slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    with pytest.raises(OperationFailedError, match=r"failed: Transfer failed\. \(ONTAP code 13303844\)"):
        operator("dst:vol").execute(task_context(MemoryStateStore()))  # type: ignore[arg-type]


@pytest.mark.parametrize("outcome", ["success", "failed"])
def test_ontap_9_8_a_transfer_over_before_the_first_poll_reports_its_real_outcome(
    slow_ontap: OntapSimulator, outcome: str
) -> None:
    slow_ontap.backend.set_cluster(version="9.8.0")
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol", size_bytes=8192)
    earlier = slow_ontap.backend.start_transfer(rel.uuid)  # the one before ours
    slow_ontap.backend.advance(3600)
    slow_ontap.backend.get_relationship(rel.uuid)  # bring it to its end
    slow_ontap.backend.advance(5)  # ONTAP tells transfers apart by end time, to the second
    slow_ontap.backend.set_transfer_settings(duration=0, outcome=outcome)
    context = task_context(MemoryStateStore())
    op = operator("dst:vol")
    # Over at once, and forgotten at once: the operator's read of it finds nothing, so it defers.
    trigger = deferred(op, context, SnapMirrorTransferTrigger)
    assert earlier.end_time is not None
    assert trigger.previous_end_time == earlier.end_time.replace(microsecond=0).isoformat()
    if outcome == "success":
        result = resumed(op, context, trigger)
        assert (result["state"], result["bytes_transferred"]) == ("success", 8192)
    else:
        with pytest.raises(
            OperationFailedError, match=r"Update operation failed\. Reason: Transfer failed\."
        ):
            resumed(op, context, trigger)


def test_an_uninitialized_relationship_is_initialized(slow_ontap: OntapSimulator) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol", state="uninitialized")
    context = task_context(MemoryStateStore())
    op = operator(rel.uuid)
    trigger = deferred(op, context, SnapMirrorTransferTrigger)
    assert slow_ontap.backend.get_transfer(rel.uuid, trigger.transfer_uuid).type == "initialize"
    slow_ontap.backend.advance(3600)
    assert resumed(op, context, trigger)["state"] == "success"
    assert slow_ontap.backend.get_relationship(rel.uuid).state == "snapmirrored"


def test_a_running_transfer_is_adopted_not_duplicated(slow_ontap: OntapSimulator) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    running = slow_ontap.backend.start_transfer(rel.uuid)  # e.g. the relationship's schedule
    context = task_context(MemoryStateStore())
    op = operator("dst:vol", throttle=100)
    trigger = deferred(op, context, SnapMirrorTransferTrigger)
    assert trigger.transfer_uuid == running.uuid
    assert trigger.cancel_on_kill is False  # someone else's transfer
    assert slow_ontap.backend.requests_matching("POST") == []
    slow_ontap.backend.advance(3600)
    result = resumed(op, context, trigger)
    assert (result["transfer_uuid"], result["adopted"]) == (running.uuid, True)
    assert [transfer.uuid for transfer in transfers(slow_ontap)] == [running.uuid]


def test_a_running_transfer_of_another_snapshot_is_not_adopted(slow_ontap: OntapSimulator) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    running = slow_ontap.backend.start_transfer(rel.uuid, source_snapshot="hourly.3")
    with pytest.raises(InvalidInputError, match=r"a transfer of snapshot 'hourly\.3' already runs"):
        operator("dst:vol", source_snapshot="daily.0").execute(task_context(MemoryStateStore()))  # type: ignore[arg-type]
    assert [transfer.uuid for transfer in transfers(slow_ontap)] == [running.uuid]


def test_a_post_refused_as_in_progress_looks_again(slow_ontap: OntapSimulator) -> None:
    """The relationship looked idle, yet ONTAP refused: a transfer ran in between. Look, then start."""
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    slow_ontap.backend.inject_fault(
        "error",
        method="POST",
        status=400,
        code="13303844",
        message="Update failed. Another transfer is in progress.",
    )
    trigger = deferred(operator("dst:vol"), task_context(MemoryStateStore()), SnapMirrorTransferTrigger)
    assert [transfer.uuid for transfer in transfers(slow_ontap)] == [trigger.transfer_uuid]
    assert len(slow_ontap.backend.requests_matching("POST")) == 2
    assert len(slow_ontap.backend.requests_matching("GET", f"{RELATIONSHIPS}/{rel.uuid}?")) == 1


def test_a_retry_after_a_crash_before_deferring_reattaches(slow_ontap: OntapSimulator) -> None:
    slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    store = MemoryStateStore()
    first = deferred(operator("dst:vol"), task_context(store, try_number=1), SnapMirrorTransferTrigger)
    # The worker died before Airflow recorded the deferral: try 2 runs execute again.
    op = operator("dst:vol")
    second = deferred(op, task_context(store, try_number=2), SnapMirrorTransferTrigger)
    assert second.transfer_uuid == first.transfer_uuid
    assert second.cancel_on_kill is True  # still this task's own transfer
    assert len(slow_ontap.backend.requests_matching("POST")) == 1
    slow_ontap.backend.advance(3600)
    result = resumed(op, task_context(store, try_number=2), second)
    assert (result["transfer_uuid"], result["adopted"]) == (first.transfer_uuid, False)


def test_a_retry_after_a_crash_before_remembering_adopts(slow_ontap: OntapSimulator) -> None:
    slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    first = deferred(operator("dst:vol"), task_context(MemoryStateStore()), SnapMirrorTransferTrigger)
    # The store write was lost too: the retry finds the transfer running and adopts it.
    second = deferred(
        operator("dst:vol"), task_context(MemoryStateStore(), try_number=2), SnapMirrorTransferTrigger
    )
    assert second.transfer_uuid == first.transfer_uuid
    assert len(transfers(slow_ontap)) == 1


def test_a_retry_takes_the_success_no_try_reported(slow_ontap: OntapSimulator) -> None:
    slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    store = MemoryStateStore()
    first = deferred(operator("dst:vol"), task_context(store), SnapMirrorTransferTrigger)
    slow_ontap.backend.advance(3600)  # it succeeded while the triggerer and worker were gone
    result = operator("dst:vol").execute(task_context(store, try_number=2))  # type: ignore[arg-type]
    assert (result["transfer_uuid"], result["state"]) == (first.transfer_uuid, "success")
    assert len(transfers(slow_ontap)) == 1


def test_clear_and_rerun_after_success_starts_a_new_transfer(slow_ontap: OntapSimulator) -> None:
    slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    store = MemoryStateStore()
    op = operator("dst:vol")
    first = deferred(op, task_context(store), SnapMirrorTransferTrigger)
    slow_ontap.backend.advance(3600)
    assert resumed(op, task_context(store), first)["state"] == "success"
    # task_state_store survives a clear; the finished try must not make the re-run a no-op.
    second = deferred(operator("dst:vol"), task_context(store, try_number=2), SnapMirrorTransferTrigger)
    assert second.transfer_uuid != first.transfer_uuid
    assert len(transfers(slow_ontap)) == 2


def test_a_retry_after_a_failed_transfer_starts_a_new_one(slow_ontap: OntapSimulator) -> None:
    slow_ontap.backend.set_transfer_settings(outcome="failed")
    slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    store = MemoryStateStore()
    op = operator("dst:vol")
    first = deferred(op, task_context(store), SnapMirrorTransferTrigger)
    slow_ontap.backend.advance(3600)
    with pytest.raises(OperationFailedError, match="Transfer failed"):
        resumed(op, task_context(store), first)
    slow_ontap.backend.set_transfer_settings(outcome="success")
    second = deferred(operator("dst:vol"), task_context(store, try_number=2), SnapMirrorTransferTrigger)
    assert second.transfer_uuid != first.transfer_uuid


@pytest.mark.parametrize(
    ("options", "adopt", "aborted"),
    [({}, False, True), ({"cancel_on_kill": False}, False, False), ({}, True, False)],
    ids=["own-transfer", "cancel-on-kill-off", "adopted"],
)
def test_the_deadline_aborts_only_this_tasks_transfer(
    slow_ontap: OntapSimulator, options: dict[str, Any], adopt: bool, aborted: bool
) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    if adopt:
        slow_ontap.backend.start_transfer(rel.uuid)
    context = task_context(MemoryStateStore())
    op = operator("dst:vol", deadline=0.3, **options)
    trigger = deferred(op, context, SnapMirrorTransferTrigger)
    with pytest.raises(DeadlineExceededError, match="did not finish by its deadline"):
        resumed(op, context, trigger)
    state = slow_ontap.backend.get_transfer(rel.uuid, trigger.transfer_uuid).state
    assert state == ("aborted" if aborted else "transferring")


def test_a_transfer_that_succeeded_just_after_the_deadline_is_the_result(
    slow_ontap: OntapSimulator,
) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol", size_bytes=4096)
    store = MemoryStateStore()
    context = task_context(store)
    op = operator("dst:vol", deadline=0.3)
    trigger = deferred(op, context, SnapMirrorTransferTrigger)
    event = event_as_stored(trigger)
    assert event["status"] == "timeout"
    slow_ontap.backend.advance(3600)  # it ended between the timeout and the abort
    result = op.execute_complete(context, event=event)  # type: ignore[arg-type]
    assert (result["state"], result["transfer_uuid"], result["adopted"]) == (
        "success",
        trigger.transfer_uuid,
        False,
    )
    assert result["bytes_transferred"] == 4096
    assert slow_ontap.backend.get_transfer(rel.uuid, trigger.transfer_uuid).state == "success"
    assert store.values[STATE_KEY]["completed"] is True  # reported: a clear starts a new transfer


ARABIC_12 = "\u0661\u0662"  # Arabic-Indic digits: int() and float() read 12
THROTTLE_RANGE = r"throttle must be a whole number between 0 and 4294967295 KB/s \(0: unlimited\), got "
SNAPSHOT_NAME = (
    r"source_snapshot must be a snapshot name of the source volume \(1 to 255 characters, no blanks\)"
)
DEADLINE = "deadline must be a positive timedelta or number of seconds, got "


@pytest.mark.parametrize(
    ("relationship", "options", "expected"),
    [
        ("123e4567-e89b-12d3-a456", {}, "neither a SnapMirror relationship UUID .* nor a destination path"),
        ("vol1_dst", {}, "neither a SnapMirror relationship UUID"),
        ("svm:/cg/group1", {}, "nor a destination path 'svm:volume'"),
        ("dst:vol", {"throttle": -5}, THROTTLE_RANGE),
        ("dst:vol", {"throttle": "fast"}, THROTTLE_RANGE),
        ("dst:vol", {"throttle": ARABIC_12}, THROTTLE_RANGE),
        ("dst:vol", {"throttle": True}, THROTTLE_RANGE),
        ("dst:vol", {"throttle": 1.5}, THROTTLE_RANGE),
        ("dst:vol", {"throttle": "inf"}, THROTTLE_RANGE),
        ("dst:vol", {"throttle": float("nan")}, THROTTLE_RANGE),
        ("dst:vol", {"throttle": 4294967296}, THROTTLE_RANGE),
        ("dst:vol", {"throttle": "512 KB"}, THROTTLE_RANGE),
        ("dst:vol", {"source_snapshot": " "}, SNAPSHOT_NAME),
        ("dst:vol", {"source_snapshot": ""}, SNAPSHOT_NAME),
        ("dst:vol", {"source_snapshot": "hourly 0"}, SNAPSHOT_NAME),
        ("dst:vol", {"source_snapshot": "hourly.0\n"}, SNAPSHOT_NAME),
        ("dst:vol", {"source_snapshot": "s" * 256}, SNAPSHOT_NAME),
        ("dst:vol", {"source_snapshot": 5}, SNAPSHOT_NAME),
        ("dst:vol", {"poll_interval": 0}, "poll_interval must be at least 1 seconds, got 0"),
        ("dst:vol", {"poll_interval": "0.5"}, "poll_interval must be at least 1 seconds, got '0.5'"),
        ("dst:vol", {"deadline": -1}, DEADLINE),
        ("dst:vol", {"deadline": 0}, DEADLINE),
        ("dst:vol", {"deadline": "soon"}, DEADLINE),
        ("dst:vol", {"deadline": ARABIC_12}, DEADLINE),
        ("dst:vol", {"deadline": float("inf")}, DEADLINE),
        ("dst:vol", {"deadline": "nan"}, DEADLINE),
        ("dst:vol", {"deadline": True}, DEADLINE),
        ("dst:vol", {"deadline": datetime.timedelta(0)}, DEADLINE),
    ],
)
def test_malformed_input_is_refused_before_any_request(
    slow_ontap: OntapSimulator, relationship: str, options: dict[str, Any], expected: str
) -> None:
    slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    with pytest.raises(InvalidInputError, match=expected) as refused:
        operator(relationship, **options).execute(task_context(MemoryStateStore()))  # type: ignore[arg-type]
    bad = next(iter(options.values()), relationship)
    assert repr(bad) in str(refused.value)  # the message names the value
    assert slow_ontap.backend.requests_matching() == []  # not even a read, let alone a write
    assert transfers(slow_ontap) == []


@pytest.mark.parametrize(
    ("options", "sent"),
    [
        ({"throttle": "0"}, 0),
        ({"throttle": " 4294967295 "}, 4294967295),
        ({"throttle": 2048.0}, 2048),
        ({"throttle": ""}, None),
    ],
)
def test_throttle_at_the_edges_of_ontaps_range_is_sent(
    slow_ontap: OntapSimulator, options: dict[str, Any], sent: int | None
) -> None:
    slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    deferred(operator("dst:vol", **options), task_context(MemoryStateStore()), SnapMirrorTransferTrigger)
    [started] = transfers(slow_ontap)
    assert started.throttle == sent


@pytest.mark.parametrize(
    ("seed", "relationship", "expected"),
    [
        ({}, str(uuid.uuid4()), "no SnapMirror relationship .* on https://"),
        ({}, "dst:other", "destination 'dst:other' on https://.*: none"),
        ({"state": "broken_off"}, "dst:vol", "is broken off; resync it"),
        ({"state": "paused"}, "dst:vol", "is quiesced; resume it"),
        ({"policy_type": "sync", "state": "in_sync"}, "dst:vol", "has a sync policy"),
    ],
)
def test_relationships_that_cannot_be_updated_are_refused_before_posting(
    slow_ontap: OntapSimulator, seed: dict[str, Any], relationship: str, expected: str
) -> None:
    slow_ontap.backend.add_relationship("src:vol", "dst:vol", **seed)
    store = MemoryStateStore()
    with pytest.raises(InvalidInputError, match=expected) as refused:
        operator(relationship).execute(task_context(store))  # type: ignore[arg-type]
    assert slow_ontap.password not in str(refused.value)
    assert slow_ontap.backend.requests_matching("POST") == []
    assert transfers(slow_ontap) == []
    assert store.values == {}


def test_two_relationships_to_one_destination_need_a_uuid(slow_ontap: OntapSimulator) -> None:
    slow_ontap.backend.add_relationship("src:a", "dst:vol")
    slow_ontap.backend.add_relationship("src:b", "dst:vol")
    with pytest.raises(InvalidInputError, match="2; give the relationship's UUID instead"):
        operator("dst:vol").execute(task_context(MemoryStateStore()))  # type: ignore[arg-type]
    assert transfers(slow_ontap) == []


def test_wrong_password_is_refused_without_leaking_it(
    slow_ontap: OntapSimulator, airflow_connection: Callable[..., str]
) -> None:
    wrong = "wrong-" + slow_ontap.password
    airflow_connection(CONN_ID, **ontap_fields(slow_ontap, password=wrong))
    slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    with pytest.raises(OntapError, match="HTTP 401") as refused:
        operator("dst:vol").execute(task_context(MemoryStateStore()))  # type: ignore[arg-type]
    assert wrong not in str(refused.value)
    assert transfers(slow_ontap) == []


def test_an_untrusted_certificate_is_refused(
    slow_ontap: OntapSimulator, airflow_connection: Callable[..., str]
) -> None:
    # Without the simulator's CA in the connection: the system CAs do not know it.
    airflow_connection(CONN_ID, **ontap_fields(slow_ontap, trusted=False))
    slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    with pytest.raises(ApiError, match=r"TLS verification of https://127\.0\.0\.1:\d+ failed") as refused:
        operator("dst:vol").execute(task_context(MemoryStateStore()))  # type: ignore[arg-type]
    assert refused.value.reason == "tls"
    assert slow_ontap.backend.requests_matching() == []  # never got past the handshake


def test_hook_test_connection(slow_ontap: OntapSimulator, airflow_connection: Callable[..., str]) -> None:
    ok, message = OntapHook(CONN_ID).test_connection()
    assert ok
    assert "Connected to ONTAP cluster 'sim-cluster'" in message
    airflow_connection(CONN_ID, **ontap_fields(slow_ontap, password="nope-nope-nope"))
    ok, message = OntapHook(CONN_ID).test_connection()
    assert not ok
    assert "HTTP 401" in message
    assert "nope-nope-nope" not in message


def test_a_clock_stepped_back_during_the_wait_still_aborts_at_the_deadline(
    slow_ontap: OntapSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    context = task_context(MemoryStateStore())
    op = operator("dst:vol", deadline=0.3)
    trigger = deferred(op, context, SnapMirrorTransferTrigger)
    readings = iter([time.time()])  # the wall clock steps back an hour once the wait has begun
    monkeypatch.setattr(
        trigger_base, "time", SimpleNamespace(time=lambda: next(readings, time.time() - 3600))
    )
    with pytest.raises(DeadlineExceededError, match="did not finish by its deadline"):
        resumed(op, context, trigger)
    assert slow_ontap.backend.get_transfer(rel.uuid, trigger.transfer_uuid).state == "aborted"


def test_an_abort_that_cannot_be_sent_fails_the_task_saying_so(slow_ontap: OntapSimulator) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    store = MemoryStateStore()
    context = task_context(store)
    op = operator("dst:vol", deadline=0.3)
    trigger = deferred(op, context, SnapMirrorTransferTrigger)
    event = event_as_stored(trigger)
    slow_ontap.backend.inject_fault("drop", times=-1)  # the cluster is unreachable from now on
    with pytest.raises(DeadlineExceededError, match="cancelling it was not confirmed") as failed:
        op.execute_complete(context, event=event)  # type: ignore[arg-type]
    assert "did not finish by its deadline" in str(failed.value)
    assert "may still be running" in str(failed.value)
    slow_ontap.backend.faults.clear()
    assert slow_ontap.backend.get_transfer(rel.uuid, trigger.transfer_uuid).active
    assert store.values[STATE_KEY]["completed"] is False  # the next try reattaches to it


def test_a_retry_after_an_error_event_reattaches_as_the_transfers_owner(
    slow_ontap: OntapSimulator,
) -> None:
    """One lasting 401 while polling must not cost a second transfer, nor the task's ownership."""
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    store = MemoryStateStore()
    op = operator("dst:vol")
    first = deferred(op, task_context(store), SnapMirrorTransferTrigger)
    slow_ontap.backend.inject_fault(
        "error", status=401, code="6", message="User is not authorized.", method="GET", times=-1
    )
    event = event_as_stored(first)
    assert event["status"] == "error"
    with pytest.raises(NetAppDataOpsError, match="HTTP 401"):
        op.execute_complete(task_context(store), event=event)  # type: ignore[arg-type]
    assert store.values[STATE_KEY]["completed"] is False
    slow_ontap.backend.faults.clear()  # the credentials are fixed; Airflow retries the task

    retry = operator("dst:vol")
    second = deferred(retry, task_context(store, try_number=2), SnapMirrorTransferTrigger)
    assert second.transfer_uuid == first.transfer_uuid
    assert second.cancel_on_kill is True  # still this task's own transfer
    slow_ontap.backend.advance(3600)
    result = resumed(retry, task_context(store, try_number=2), second)
    assert (result["transfer_uuid"], result["adopted"], result["state"]) == (
        first.transfer_uuid,
        False,
        "success",
    )
    assert slow_ontap.backend.requests_matching("POST") == [
        f"POST {RELATIONSHIPS}/{rel.uuid}/transfers?return_records=true"
    ]
