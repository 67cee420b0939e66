"""SnapMirrorTransferTrigger against the ONTAP simulator, every trigger in the test's one event loop."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable, Hashable
from typing import Any

import pytest

from netapp_dataops_airflow.clients._shared import registry
from netapp_dataops_airflow.clients.snapmirror import MIN_POLL_INTERVAL, TRANSFER_READS
from netapp_dataops_airflow.exceptions import InvalidInputError
from netapp_dataops_airflow.simulators._faults import Fault
from netapp_dataops_airflow.simulators.ontap import OntapSimulator, Relationship, records
from netapp_dataops_airflow.triggers.snapmirror import SnapMirrorTransferTrigger
from tests.helpers.airflow import logged, only_event, rebuilt
from tests.helpers.connections import ontap_fields
from tests.helpers.ontap import CONN_ID, RELATIONSHIPS, polls
from tests.helpers.waiting import until

pytestmark = pytest.mark.usefixtures("ontap_sim_connection")

POLL = MIN_POLL_INTERVAL


def start(ontap: OntapSimulator, relationship: Relationship | None = None) -> tuple[str, str]:
    """Start a transfer on the simulated cluster as an operator would; return (relationship, transfer)."""
    relationship = relationship or ontap.backend.add_relationship("src:vol", "dst:vol", size_bytes=1 << 30)
    transfer = ontap.backend.start_transfer(relationship.uuid)
    return relationship.uuid, transfer.uuid


def last_end_time(ontap: OntapSimulator, relationship: Relationship) -> str:
    """The end of the relationship's last transfer, as the cluster reports it (what the operator passes)."""
    record = records.relationship_record(
        ontap.backend.get_relationship(relationship.uuid), ontap.backend.cluster, ontap.backend.clock.now()
    )
    return str(record["transfer"]["end_time"])


def trigger_for(ids: tuple[str, str], **options: object) -> SnapMirrorTransferTrigger:
    return SnapMirrorTransferTrigger(CONN_ID, ids[0], ids[1], poll_interval=POLL, **options)  # type: ignore[arg-type]


async def test_success_reports_progress_and_the_result(
    slow_ontap: OntapSimulator, task_log: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The simulator's clock jumps half an hour per advance; real seconds barely pass.
    monkeypatch.setattr("netapp_dataops_airflow.triggers.snapmirror.PROGRESS_EVERY", 0.0)
    ids = start(slow_ontap)
    waiting = asyncio.create_task(only_event(trigger_for(ids)))
    await until(lambda: len(polls(slow_ontap)) >= 1)
    slow_ontap.backend.advance(1800)
    await until(
        lambda: re.search(r"transferring, 5\d\d\.\d MiB transferred \(", logged(task_log)) is not None
    )
    slow_ontap.backend.advance(1800)
    event = await waiting

    assert event["status"] == "success"
    assert (event["relationship_uuid"], event["transfer_uuid"]) == ids
    result = event["result"]
    assert result["state"] == "success"
    assert result["bytes_transferred"] == 1 << 30
    assert result["duration_seconds"] == 3600
    assert result["end_time"].endswith("+00:00")
    assert (result["source_path"], result["destination_path"]) == ("src:vol", "dst:vol")
    assert (result["relationship_uuid"], result["transfer_uuid"]) == ids
    assert "1.0 GiB in 3600 s" in event["message"]
    json.dumps(event)  # plain JSON, as Airflow stores it


async def test_bytes_only_progress_is_logged_at_most_once_a_minute(
    slow_ontap: OntapSimulator, task_log: list[Any]
) -> None:
    ids = start(slow_ontap)
    waiting = asyncio.create_task(only_event(trigger_for(ids)))
    await until(lambda: "transferring" in logged(task_log))
    for _ in range(3):  # three polls that each see more bytes, within a few real seconds
        slow_ontap.backend.advance(600)
        seen = len(polls(slow_ontap))
        await until(lambda seen=seen: len(polls(slow_ontap)) > seen)
    slow_ontap.backend.advance(3600)
    event = await waiting
    assert event["status"] == "success"
    assert len(re.findall(r"transferring, ", logged(task_log))) == 1


async def test_failed_transfer_yields_ontaps_message(slow_ontap: OntapSimulator) -> None:
    slow_ontap.backend.set_transfer_settings(outcome="failed")
    ids = start(slow_ontap)
    waiting = asyncio.create_task(only_event(trigger_for(ids)))
    await until(lambda: len(polls(slow_ontap)) >= 1)
    slow_ontap.backend.advance(3600)
    event = await waiting
    assert event["status"] == "failed"
    assert "failed: Transfer failed. (ONTAP code 13303844)" in event["message"]
    assert "Update operation failed. Reason: Transfer failed." in event["message"]
    assert event["result"]["state"] == "failed"


async def test_aborted_transfer_is_a_failure(slow_ontap: OntapSimulator) -> None:
    ids = start(slow_ontap)
    waiting = asyncio.create_task(only_event(trigger_for(ids)))
    await until(lambda: len(polls(slow_ontap)) >= 1)
    slow_ontap.backend.abort_transfer(*ids, "aborted")
    event = await waiting
    assert event["status"] == "failed"
    assert "was aborted: Transfer aborted (ONTAP code 6620046)" in event["message"]


async def test_deadline_yields_timeout_and_leaves_the_transfer_running(slow_ontap: OntapSimulator) -> None:
    ids = start(slow_ontap)
    event = await only_event(trigger_for(ids, deadline=time.time() + 0.3))
    assert event["status"] == "timeout"
    assert "did not finish by its deadline" in event["message"]
    assert slow_ontap.backend.get_transfer(*ids).active  # aborting is the operator's decision


async def test_a_deadline_already_past_times_out_without_a_request(slow_ontap: OntapSimulator) -> None:
    ids = start(slow_ontap)
    event = await only_event(trigger_for(ids, deadline=time.time() - 1))
    assert event["status"] == "timeout"
    assert slow_ontap.backend.requests_matching() == []


@pytest.mark.parametrize("kind", ["error", "drop"])
async def test_bursts_of_5xx_and_dropped_connections_are_survived(
    slow_ontap: OntapSimulator, kind: str, task_log: list[Any]
) -> None:
    ids = start(slow_ontap)
    # More than one poll's retries: the poll fails, the waiter logs it, the next poll succeeds.
    slow_ontap.backend.inject_fault(kind, status=503, method="GET", path=RELATIONSHIPS, times=8)
    waiting = asyncio.create_task(only_event(trigger_for(ids)))
    await until(lambda: not slow_ontap.backend.faults.pending())
    slow_ontap.backend.advance(3600)
    event = await waiting
    assert event["status"] == "success"
    assert "failed (HTTP 503" in logged(task_log) if kind == "error" else "cannot reach" in logged(task_log)
    assert "trying again" in logged(task_log)


async def test_wait_and_retry_codes_are_retried(slow_ontap: OntapSimulator) -> None:
    ids = start(slow_ontap)
    slow_ontap.backend.inject_wait_and_retry("13303816", method="GET", times=2)
    slow_ontap.backend.inject_wait_and_retry("6619720", method="GET", times=2)
    waiting = asyncio.create_task(only_event(trigger_for(ids)))
    await until(lambda: not slow_ontap.backend.faults.pending())
    slow_ontap.backend.advance(3600)
    assert (await waiting)["status"] == "success"


async def test_wrong_password_ends_the_wait_with_a_clear_error(
    slow_ontap: OntapSimulator, airflow_connection: Callable[..., str]
) -> None:
    wrong = "wrong-" + slow_ontap.password
    airflow_connection(CONN_ID, **ontap_fields(slow_ontap, password=wrong))
    event = await only_event(trigger_for(start(slow_ontap)))
    assert event["status"] == "error"
    assert f"connection {CONN_ID!r}" in event["message"]
    assert "HTTP 401" in event["message"]
    assert "check the user name and password" in event["message"]
    assert wrong not in json.dumps(event)
    assert slow_ontap.password not in json.dumps(event)


async def test_deleted_relationship_ends_the_wait(slow_ontap: OntapSimulator) -> None:
    ids = start(slow_ontap)
    waiting = asyncio.create_task(only_event(trigger_for(ids)))
    await until(lambda: len(polls(slow_ontap)) >= 1)
    slow_ontap.backend.delete_relationship(ids[0])
    event = await waiting
    assert event["status"] == "error"
    assert f"SnapMirror relationship {ids[0]} no longer exists" in event["message"]


async def test_an_unknown_transfer_ends_the_wait_after_a_few_polls(slow_ontap: OntapSimulator) -> None:
    relationship_uuid, _ = start(slow_ontap)
    event = await only_event(trigger_for((relationship_uuid, str(uuid.uuid4()))))
    assert event["status"] == "error"
    assert "is unknown to ONTAP" in event["message"]


async def test_passing_failures_reading_the_transfer_do_not_make_it_unknown(
    slow_ontap: OntapSimulator, task_log: list[Any]
) -> None:
    ids = start(slow_ontap)
    slow_ontap.backend.advance(3600)  # finished: the trigger must read it by UUID
    transfer_path = f"{RELATIONSHIPS}/{ids[0]}/transfers/{ids[1]}"
    slow_ontap.backend.inject_fault("error", status=500, path=transfer_path, times=12)  # 4 polls' worth
    event = await only_event(trigger_for(ids))
    assert event["status"] == "success"
    assert logged(task_log).count("failed (HTTP 500") == 4


async def test_a_newer_transfer_is_not_mistaken_for_ours(slow_ontap: OntapSimulator) -> None:
    slow_ontap.backend.set_transfer_settings(duration=0, outcome="failed")
    ids = start(slow_ontap)  # ours failed at once
    slow_ontap.backend.set_transfer_settings(duration=0, outcome="success")
    slow_ontap.backend.start_transfer(ids[0])  # a later one succeeded: the relationship reports success
    event = await only_event(trigger_for(ids))
    assert event["status"] == "failed"
    assert event["transfer_uuid"] == ids[1]


async def test_ontap_that_forgets_finished_transfers(slow_ontap: OntapSimulator) -> None:
    """Before 9.10 a finished transfer is gone; the summary of the one we saw running is used instead."""
    slow_ontap.backend.set_cluster(version="9.8.0")
    ids = start(slow_ontap)
    waiting = asyncio.create_task(only_event(trigger_for(ids)))
    await until(lambda: len(polls(slow_ontap)) >= 1)
    slow_ontap.backend.advance(3600)
    event = await waiting
    assert event["status"] == "success"
    assert event["result"]["bytes_transferred"] == 1 << 30


async def test_many_waits_share_one_request_per_poll_interval(slow_ontap: OntapSimulator) -> None:
    interval = POLL
    relationships = [slow_ontap.backend.add_relationship(f"src:v{i}", f"dst:v{i}") for i in range(40)]
    waits = [start(slow_ontap, relationship) for relationship in relationships]
    triggers = [SnapMirrorTransferTrigger(CONN_ID, *ids, poll_interval=interval) for ids in waits]
    began = time.monotonic()
    running = [asyncio.create_task(only_event(trigger)) for trigger in triggers]
    await until(lambda: len(polls(slow_ontap)) >= 3, timeout=30)
    elapsed = time.monotonic() - began
    batched = polls(slow_ontap)
    assert len(batched) <= elapsed / interval + 1  # one request per interval, not one per wait
    assert all(relationships[0].uuid in request for request in batched[1:])
    assert all(relationships[-1].uuid in request for request in batched[1:])
    assert slow_ontap.backend.requests_matching("GET", f"{RELATIONSHIPS}/") == []  # no per-wait reads

    slow_ontap.backend.advance(3600)
    events = await asyncio.gather(*running)
    assert [event["status"] for event in events] == ["success"] * 40
    assert sorted(event["transfer_uuid"] for event in events) == sorted(ids[1] for ids in waits)
    # Finished transfers are no longer named by their relationship: each is read once, by UUID.
    assert len(slow_ontap.backend.requests_matching("GET", f"{RELATIONSHIPS}/")) == 40


def kinds(keys: list[Hashable]) -> list[str]:
    """What each shared thing is (the first part of its key), never the rest: keys may hold secrets."""
    return [str(key[0]) for key in keys if isinstance(key, tuple)]


async def test_waits_on_other_poll_intervals_share_the_shortest(slow_ontap: OntapSimulator) -> None:
    slow, fast = start(slow_ontap), start(slow_ontap, slow_ontap.backend.add_relationship("src:b", "dst:b"))
    running = [
        asyncio.create_task(only_event(SnapMirrorTransferTrigger(CONN_ID, *slow, poll_interval=60))),
        asyncio.create_task(only_event(SnapMirrorTransferTrigger(CONN_ID, *fast, poll_interval=POLL))),
    ]
    await until(lambda: len(polls(slow_ontap)) >= 2)
    assert slow[0] in polls(slow_ontap)[-1]
    slow_ontap.backend.advance(3600)
    assert [event["status"] for event in await asyncio.gather(*running)] == ["success", "success"]


async def test_a_shorter_interval_wakes_a_poll_sleeping_for_a_longer_one(slow_ontap: OntapSimulator) -> None:
    slow, fast = start(slow_ontap), start(slow_ontap, slow_ontap.backend.add_relationship("src:b", "dst:b"))
    shared = await registry()
    waiting = asyncio.create_task(only_event(SnapMirrorTransferTrigger(CONN_ID, *slow, poll_interval=60)))
    await until(lambda: "snapmirror poll" in kinds(shared.keys()))
    await asyncio.sleep(0.1)  # let the poll settle into its 60 s sleep
    assert polls(slow_ontap) == []
    slow_ontap.backend.advance(3600)
    # Without the wake-up this would wait out the minute.
    event = await asyncio.wait_for(only_event(trigger_for(fast)), 30)
    assert event["status"] == "success"
    assert (await waiting)["status"] == "success"  # the same tick served the slow wait too
    assert len(polls(slow_ontap)) == 1


async def test_a_changed_password_replaces_the_clusters_poll_instead_of_adding_one(
    slow_ontap: OntapSimulator, airflow_connection: Callable[..., str]
) -> None:
    shared = await registry()
    first = start(slow_ontap)
    waiting = asyncio.create_task(only_event(trigger_for(first)))
    await until(lambda: len(polls(slow_ontap)) >= 1)
    rotated = "rotated-" + slow_ontap.password
    airflow_connection(CONN_ID, **ontap_fields(slow_ontap, password=rotated))
    second = start(slow_ontap, slow_ontap.backend.add_relationship("src:b", "dst:b"))
    event = await only_event(trigger_for(second))
    # The simulated cluster still wants the old password: the new poll's first read says so.
    assert event["status"] == "error"
    assert "HTTP 401" in event["message"]
    # The new poll replaced the first under the cluster's one key (and closed with its only wait);
    # the first serves its wait to the end, retired. Keys never grow with passwords.
    in_use = shared.keys()
    assert kinds(in_use) == ["http"]  # the cluster's HTTP session, idle: no poll is left
    assert rotated not in repr(in_use)
    assert slow_ontap.password not in repr(in_use)
    slow_ontap.backend.advance(3600)
    assert (await waiting)["status"] == "success"  # the first wait kept the poll it had
    assert kinds(shared.keys()) == ["http"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, 'something other than a JSON object: \'{"records": [{"uuid": "\''),
        ('{"records": [{"uuid": "%s", "transfer": {"bytes_transferred": "lots"}}]}', "unexpected ValueError"),
    ],
    ids=["cut-short", "wrong-shape"],
)
async def test_a_garbled_answer_ends_every_wait_on_the_cluster_with_the_cause(
    slow_ontap: OntapSimulator, body: str | None, expected: str
) -> None:
    waits = [start(slow_ontap), start(slow_ontap, slow_ontap.backend.add_relationship("src:b", "dst:b"))]
    garbled = {} if body is None else {"body": body % waits[0][0]}
    slow_ontap.backend.inject_fault("garble", method="GET", path=RELATIONSHIPS, times=-1, **garbled)
    events = await asyncio.gather(*(only_event(trigger_for(ids)) for ids in waits))
    assert [event["status"] for event in events] == ["error", "error"]
    for event in events:
        assert "SnapMirror relationships" in event["message"]
        assert expected in event["message"]
        assert slow_ontap.password not in event["message"]
    assert len(polls(slow_ontap)) == 1  # one poll failed for both; neither waited for another


@pytest.mark.parametrize("outcome", ["success", "failed"])
async def test_ontap_9_8_a_transfer_over_before_the_first_poll_has_its_real_outcome(
    slow_ontap: OntapSimulator, outcome: str
) -> None:
    """ONTAP before 9.10 forgets a finished transfer; the relationship's summary of it is ours."""
    slow_ontap.backend.set_cluster(version="9.8.0")
    relationship = slow_ontap.backend.add_relationship("src:vol", "dst:vol", size_bytes=1 << 20)
    start(slow_ontap, relationship)
    slow_ontap.backend.advance(3600)  # an earlier transfer, over long ago
    previous_end = last_end_time(slow_ontap, relationship)
    slow_ontap.backend.set_transfer_settings(duration=60, outcome=outcome)
    ids = start(slow_ontap, relationship)
    slow_ontap.backend.advance(60)  # ours ends before anyone polls
    transfer_path = f"{RELATIONSHIPS}/{ids[0]}/transfers/{ids[1]}"
    event = await only_event(trigger_for(ids, previous_end_time=previous_end))

    assert slow_ontap.backend.requests_matching("GET", transfer_path)  # asked first: gone
    assert event["status"] == outcome
    assert event["result"]["state"] == outcome
    assert event["result"]["bytes_transferred"] == (1 << 20 if outcome == "success" else 1 << 19)
    assert event["result"]["duration_seconds"] == 60
    if outcome == "failed":
        assert "Update operation failed. Reason: Transfer failed." in event["message"]


async def test_ontap_9_8_the_previous_transfers_summary_is_never_taken_for_ours(
    slow_ontap: OntapSimulator,
) -> None:
    slow_ontap.backend.set_cluster(version="9.8.0")
    relationship = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    start(slow_ontap, relationship)
    slow_ontap.backend.advance(3600)
    previous_end = last_end_time(slow_ontap, relationship)
    # Ours is unknown to the cluster (as right after a POST it may be): the summary is the old one.
    ours = (relationship.uuid, str(uuid.uuid4()))
    event = await only_event(trigger_for(ours, previous_end_time=previous_end))
    assert event["status"] == "error"
    assert "is unknown to ONTAP" in event["message"]


async def test_a_trigger_rebuilt_from_its_kwargs_completes(slow_ontap: OntapSimulator) -> None:
    ids = start(slow_ontap)
    first = trigger_for(ids, deadline=time.time() + 60)
    running = asyncio.create_task(only_event(first))
    await until(lambda: len(polls(slow_ontap)) >= 1)
    running.cancel()  # the triggerer stops (no on_kill): the transfer must go on
    with pytest.raises(asyncio.CancelledError):
        await running

    again = rebuilt(first)
    assert again.serialize() == first.serialize()
    assert slow_ontap.backend.get_transfer(*ids).active
    slow_ontap.backend.advance(3600)
    event = await only_event(again)
    assert event["status"] == "success"
    assert event["transfer_uuid"] == ids[1]


async def test_kwargs_and_events_hold_no_secret(slow_ontap: OntapSimulator) -> None:
    ids = start(slow_ontap)
    trigger = trigger_for(ids)
    _, kwargs = trigger.serialize()
    assert kwargs == {
        "ontap_conn_id": CONN_ID,
        "relationship_uuid": ids[0],
        "transfer_uuid": ids[1],
        "poll_interval": POLL,
        "deadline": None,
        "cancel_on_kill": True,
        "previous_end_time": None,
    }
    slow_ontap.backend.advance(3600)
    event = await only_event(trigger)
    assert slow_ontap.password not in json.dumps(kwargs) + json.dumps(event)
    assert slow_ontap.ca_pem not in json.dumps(kwargs)


async def test_on_kill_aborts_the_transfer(slow_ontap: OntapSimulator) -> None:
    ids = start(slow_ontap)
    trigger = trigger_for(ids)
    running = asyncio.create_task(only_event(trigger))
    await until(lambda: len(polls(slow_ontap)) >= 1)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await trigger.on_kill()  # outside a triggerer there is no task instance to ask: cancel
    transfer = slow_ontap.backend.get_transfer(*ids)
    assert transfer.state == "aborted"
    await trigger.on_kill()  # a second kill finds nothing left to abort, and says so quietly


async def test_on_kill_leaves_the_transfer_when_told_to(slow_ontap: OntapSimulator) -> None:
    ids = start(slow_ontap)
    trigger = trigger_for(ids, cancel_on_kill=False)
    running = asyncio.create_task(only_event(trigger))
    await until(lambda: len(polls(slow_ontap)) >= 1)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await trigger.on_kill()
    assert slow_ontap.backend.get_transfer(*ids).active
    assert slow_ontap.backend.requests_matching("PATCH") == []


async def test_on_kill_after_the_event_aborts_nothing(slow_ontap: OntapSimulator) -> None:
    ids = start(slow_ontap)
    trigger = trigger_for(ids)
    slow_ontap.backend.advance(3600)
    assert (await only_event(trigger))["status"] == "success"
    await trigger.on_kill()
    assert slow_ontap.backend.requests_matching("PATCH") == []


@pytest.mark.parametrize(
    ("relationship", "transfer", "poll_interval", "expected"),
    [
        ("nope", str(uuid.uuid4()), 1, "relationship UUID 'nope' is not a UUID"),
        (str(uuid.uuid4()), "nope", 1, "transfer UUID 'nope' is not a UUID"),
        (str(uuid.uuid4()), str(uuid.uuid4()), 0, "poll_interval must be at least 1 seconds, got 0"),
        (str(uuid.uuid4()), str(uuid.uuid4()), 0.5, "poll_interval must be at least 1 seconds, got 0.5"),
        (str(uuid.uuid4()), str(uuid.uuid4()), "soon", "poll_interval must be at least 1 seconds"),
    ],
)
def test_bad_arguments_are_refused(
    relationship: str, transfer: str, poll_interval: object, expected: str
) -> None:
    with pytest.raises(InvalidInputError, match=expected):
        SnapMirrorTransferTrigger(CONN_ID, relationship, transfer, poll_interval=poll_interval)  # type: ignore[arg-type]


def test_a_previous_end_time_that_is_no_time_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="previous_end_time must be an ISO 8601 time"):
        SnapMirrorTransferTrigger(CONN_ID, str(uuid.uuid4()), str(uuid.uuid4()), previous_end_time="noon")


async def test_transfers_that_end_together_are_read_a_few_at_a_time(slow_ontap: OntapSimulator) -> None:
    count = TRANSFER_READS + 4
    ids = [
        start(slow_ontap, slow_ontap.backend.add_relationship(f"src:v{i}", f"dst:v{i}", size_bytes=1 << 20))
        for i in range(count)
    ]
    waits = [asyncio.create_task(only_event(trigger_for(pair))) for pair in ids]
    await until(lambda: len(polls(slow_ontap)) >= 1)  # every wait is in the shared poll
    # Each read of an ended transfer is held a moment by the cluster.
    for relationship, _ in ids:
        path = f"{RELATIONSHIPS}/{relationship}/transfers/"
        slow_ontap.backend.faults.add(Fault("stall", "GET", path, times=1, seconds=2.0))
    slow_ontap.backend.advance(7200)  # every transfer ends before the next poll

    def reads() -> list[str]:
        return [r for r in slow_ontap.backend.requests_matching("GET", RELATIONSHIPS) if "/transfers/" in r]

    await until(lambda: len(reads()) >= TRANSFER_READS)
    await asyncio.sleep(0.5)  # well within the hold: any further read would have been sent by now
    in_flight = len(reads())
    events = await asyncio.gather(*waits)
    assert in_flight == TRANSFER_READS
    assert [event["status"] for event in events] == ["success"] * count
    assert len(reads()) == count
