"""CloudSyncTrigger against the Cloud Sync simulator, every trigger in the test's one event loop."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import MutableMapping
from typing import Any

import pytest
import structlog.testing

from netapp_dataops_airflow.clients.cloud_sync_watch import MIN_POLL_INTERVAL
from netapp_dataops_airflow.exceptions import InvalidInputError
from netapp_dataops_airflow.simulators.cloud_sync import CloudSyncSimulator
from netapp_dataops_airflow.triggers.cloud_sync import CloudSyncTrigger
from tests.helpers.airflow import logged, only_event
from tests.helpers.cloud_sync import (
    CONN_ID,
    NFS,
    S3,
    account,
    connection_env,
    listings,
    previous_start,
)
from tests.helpers.waiting import until

POLL = MIN_POLL_INTERVAL


def start(cloud_sync: CloudSyncSimulator, **seed: Any) -> tuple[str, str | None]:
    """Seed a relationship and request a sync as the operator would; return (id, started_after)."""
    rel = cloud_sync.backend.add_relationship(NFS, S3, **seed)
    after = previous_start(cloud_sync, rel.id)
    cloud_sync.backend.sync(rel.account_id, rel.id)
    return rel.id, after


def trigger_for(ids: tuple[str, str | None], **options: Any) -> CloudSyncTrigger:
    return CloudSyncTrigger(CONN_ID, ids[0], POLL, started_after=ids[1], **options)


async def test_done_reports_progress_and_every_counter(
    cloud_sync: CloudSyncSimulator, task_log: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("netapp_dataops_airflow.triggers.cloud_sync.PROGRESS_EVERY", 0.0)
    ids = start(cloud_sync, files=1000, bytes=1000 << 20)
    waiting = asyncio.create_task(only_event(trigger_for(ids)))
    await until(lambda: len(listings(cloud_sync)) >= 1)
    cloud_sync.backend.advance(1800)
    await until(lambda: "RUNNING 49%" in logged(task_log) or "RUNNING 50%" in logged(task_log))
    cloud_sync.backend.advance(1801)
    event = await waiting

    assert (event["status"], event["relationship_id"], event["prior"]) == ("success", ids[0], False)
    result = event["result"]
    assert result["status"] == "DONE"
    assert (result["files_copied"], result["bytes_copied"], result["files_failed"]) == (1000, 1000 << 20, 0)
    assert result["files_scanned"] == result["files_marked_for_copy"] == 1000
    assert result["duration_seconds"] == 3600
    assert result["source"] == {"protocol": "nfs", "host": "10.0.0.5", "path": "/data/in"}
    assert result["target"] == {"protocol": "s3", "host": "lake", "path": "raw/"}
    assert "done: DONE 100%" in event["message"]
    json.dumps(event)


async def test_the_previous_done_shown_after_the_request_is_not_taken_for_ours(
    cloud_sync: CloudSyncSimulator,
) -> None:
    # The stale window outlasts the sync: polls see only the previous DONE until ours is done.
    cloud_sync.backend.set_sync_settings(pending_seconds=0, duration=50, stale_seconds=100)
    ids = start(cloud_sync)
    waiting = asyncio.create_task(only_event(trigger_for(ids)))
    await until(lambda: len(listings(cloud_sync)) >= 2)
    assert not waiting.done()
    cloud_sync.backend.advance(60)
    event = await waiting
    assert event["status"] == "success"
    assert event["result"]["start_time"] > str(ids[1]).replace("Z", "+00:00")


async def test_failed_yields_the_message_and_the_top_errors(cloud_sync: CloudSyncSimulator) -> None:
    cloud_sync.backend.set_sync_settings(outcome="FAILED", failure_message="broker lost the source")
    ids = start(cloud_sync)
    cloud_sync.backend.advance(7200)
    event = await only_event(trigger_for(ids))
    assert event["status"] == "failed"
    assert (
        "ended FAILED: broker lost the source; most common errors: broker lost the source (x1)"
        in (event["message"])
    )
    assert event["result"]["failure_message"] == "broker lost the source"


@pytest.mark.parametrize(("option", "status"), [("fail", "failed"), ("warn", "success")])
async def test_done_with_failed_files_follows_the_option(
    cloud_sync: CloudSyncSimulator, task_log: list[Any], option: str, status: str
) -> None:
    cloud_sync.backend.set_sync_settings(failed_files=3)
    ids = start(cloud_sync, files=10)
    cloud_sync.backend.advance(7200)
    event = await only_event(trigger_for(ids, on_failed_files=option))
    assert event["status"] == status
    assert event["result"]["files_failed"] == 3
    assert "3 files failed" in event["message"] + logged(task_log)


async def test_an_aborted_sync_is_a_failure(cloud_sync: CloudSyncSimulator) -> None:
    ids = start(cloud_sync)
    cloud_sync.backend.advance(10)
    cloud_sync.backend.abort(account(cloud_sync), ids[0])
    event = await only_event(trigger_for(ids))
    assert (event["status"], event["result"]["status"]) == ("failed", "ABORTED")
    assert "was aborted" in event["message"]


async def test_an_unknown_status_is_in_progress_until_the_deadline(cloud_sync: CloudSyncSimulator) -> None:
    ids = start(cloud_sync)
    with cloud_sync.backend.lock:
        record = cloud_sync.backend.relationships[ids[0]].record(cloud_sync.backend.clock)
    record["activity"]["status"] = "SOMETHING_NEW"
    cloud_sync.backend.inject_fault(
        "garble", path="/api/relationships-v2", body=json.dumps([record]), times=-1
    )
    event = await only_event(trigger_for(ids, deadline=time.time() + 2.5))
    assert event["status"] == "timeout"
    assert len(listings(cloud_sync)) >= 1  # it saw the unknown status and went on waiting


async def test_token_expiry_in_the_middle_of_a_wait(cloud_sync: CloudSyncSimulator) -> None:
    ids = start(cloud_sync)
    waiting = asyncio.create_task(only_event(trigger_for(ids)))
    await until(lambda: len(listings(cloud_sync)) >= 1)
    cloud_sync.backend.expire_access_tokens()
    cloud_sync.backend.advance(7200)
    event = await waiting
    assert event["status"] == "success"
    assert cloud_sync.backend.token_requests == 2


async def test_faults_are_survived(cloud_sync: CloudSyncSimulator) -> None:
    ids = start(cloud_sync)
    for kind, status in (("error", 500), ("error", 429), ("error", 503), ("drop", 0)):
        cloud_sync.backend.inject_fault(kind, status=status or 500, path="/api/relationships-v2", times=3)
    cloud_sync.backend.inject_fault("stall", seconds=0.3, path="/api/relationships-v2")
    cloud_sync.backend.advance(7200)
    event = await only_event(trigger_for(ids))
    assert event["status"] == "success"


async def test_many_waits_on_one_account_share_one_listing_per_poll(cloud_sync: CloudSyncSimulator) -> None:
    cloud_sync.backend.set_token_lifetime(86400)  # outlives the simulated two hours
    waits = [start(cloud_sync) for _ in range(30)]
    running = [asyncio.create_task(only_event(trigger_for(ids))) for ids in waits]
    await until(lambda: len(listings(cloud_sync)) >= 3)
    cloud_sync.backend.advance(7200)
    events = await asyncio.gather(*running)
    assert {e["status"] for e in events} == {"success"}
    api = cloud_sync.backend.requests_matching(None, "/api/")
    # Only listings and the one account lookup: no request per wait, not even when the syncs end.
    assert api.count("GET /api/accounts") == 1
    assert set(api) == {"GET /api/accounts", "GET /api/relationships-v2"}
    assert len(api) <= 6
    assert cloud_sync.backend.token_requests == 1


async def test_a_refused_refresh_token_ends_the_wait_naming_the_connection(
    cloud_sync: CloudSyncSimulator,
) -> None:
    ids = start(cloud_sync)
    cloud_sync.backend.revoke_refresh_token(cloud_sync.refresh_token)
    event = await only_event(trigger_for(ids))
    assert event["status"] == "error"
    assert f"connection {CONN_ID!r}" in event["message"]
    assert "refresh-token" in event["message"]
    assert cloud_sync.refresh_token not in json.dumps(event)


async def test_a_connection_fixed_after_the_refusal_is_used(
    cloud_sync: CloudSyncSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refresh token was replaced; the connection is fixed by the time the trigger reads it again."""
    ids = start(cloud_sync)
    cloud_sync.backend.advance(7200)
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_env(cloud_sync, password="old-token-value")
    )

    def fix_the_connection_meanwhile(_: Any, __: str, event: MutableMapping[str, Any]) -> Any:
        if "reading the connection again" in str(event.get("event")):
            monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_env(cloud_sync))
        return event

    with structlog.testing.capture_logs(processors=[fix_the_connection_meanwhile]) as entries:
        event = await only_event(trigger_for(ids))
    assert event["status"] == "success", event
    assert f"connection {CONN_ID!r}: refused (HTTP 401)" in logged(entries)
    assert cloud_sync.backend.token_requests == 2


async def test_a_deleted_relationship_ends_the_wait(cloud_sync: CloudSyncSimulator) -> None:
    ids = start(cloud_sync)
    with cloud_sync.backend.lock:
        del cloud_sync.backend.relationships[ids[0]]
    event = await only_event(trigger_for(ids))
    assert (event["status"], event["relationship_id"]) == ("error", ids[0])
    assert "no longer exists" in event["message"]


async def test_waiting_for_someone_elses_sync_hands_the_deadline_back(cloud_sync: CloudSyncSimulator) -> None:
    ids = start(cloud_sync)
    deadline = time.time() + 60
    cloud_sync.backend.advance(7200)
    event = await only_event(trigger_for((ids[0], None), prior=True, seen_active=True, deadline=deadline))
    assert (event["status"], event["prior"]) == ("success", True)
    assert event["result"]["deadline"] == deadline


async def test_a_trigger_rebuilt_from_its_kwargs_completes(cloud_sync: CloudSyncSimulator) -> None:
    ids = start(cloud_sync)
    first = trigger_for(ids, deadline=time.time() + 60)
    running = asyncio.create_task(only_event(first))
    await until(lambda: len(listings(cloud_sync)) >= 1)
    running.cancel()  # the triggerer stops (no on_kill): the sync must go on
    with pytest.raises(asyncio.CancelledError):
        await running
    classpath, kwargs = first.serialize()
    stored = json.loads(json.dumps(kwargs))
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**stored)
    assert rebuilt.serialize() == (classpath, kwargs)
    cloud_sync.backend.advance(7200)
    assert (await only_event(rebuilt))["status"] == "success"


async def test_kwargs_and_events_hold_no_secret(cloud_sync: CloudSyncSimulator) -> None:
    ids = start(cloud_sync)
    trigger = trigger_for(ids)
    _, kwargs = trigger.serialize()
    assert kwargs == {
        "cloud_sync_conn_id": CONN_ID,
        "relationship_id": ids[0],
        "poll_interval": POLL,
        "started_after": ids[1],
        "seen_active": False,
        "prior": False,
        "on_failed_files": "fail",
        "deadline": None,
        "cancel_on_kill": True,
    }
    cloud_sync.backend.advance(7200)
    event = await only_event(trigger)
    assert cloud_sync.refresh_token not in json.dumps(kwargs) + json.dumps(event)


async def test_on_kill_aborts_a_running_sync_and_leaves_an_ended_one(cloud_sync: CloudSyncSimulator) -> None:
    ids = start(cloud_sync)
    cloud_sync.backend.advance(10)
    trigger = trigger_for(ids)
    await trigger.on_kill()  # outside a triggerer there is no task instance to ask: cancel
    assert cloud_sync.backend.relationship(ids[0]).activities[-1].status == "ABORTED"
    await trigger.on_kill()  # nothing runs now: no second abort
    assert len(cloud_sync.backend.requests_matching("PUT", "/api/relationships/")) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"relationship_id": "nope"}, "24 hex digits"),
        ({"poll_interval": 0.1}, "poll_interval must be at least 1 seconds"),
        ({"on_failed_files": "ignore"}, "on_failed_files must be 'fail' or 'warn'"),
        ({"started_after": "yesterday"}, "started_after must be an ISO 8601 time"),
    ],
)
def test_bad_arguments_are_refused(options: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"relationship_id": "a" * 24, "poll_interval": POLL, **options}
    with pytest.raises(InvalidInputError, match=message):
        CloudSyncTrigger(CONN_ID, **arguments)
