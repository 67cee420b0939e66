"""A trigger fired on one triggerer while the other, which held it first, cancels its stale copy.

Airflow 3.3 moves a trigger to another triggerer when its triggerer's heartbeat is older than
``triggerer_health_check_threshold``, whether or not that triggerer is really dead. When the first
one comes back it no longer finds the trigger assigned to it (the other one fired it, the task
resumed and the trigger row is gone) and cancels its own copy "by user action", which calls
``on_kill``: the task is then ``queued`` (or running, or done), not failed, so nothing may be
cancelled (docs/semantics.md).

The sequence is made deterministic with signals and the ONTAP simulator:

1. the task defers; triggerer A (whichever holds it) starts its copy of the trigger;
2. the Celery worker and then A are paused (SIGSTOP): the resumed task will stay ``queued``, and
   A's heartbeat stops, so B adopts the trigger and starts a copy of its own;
3. the transfer is ended (the simulator's clock moved on): B's copy fires, the task is ``queued``;
4. the relationship reads are held (a ``stall`` fault) and A resumes (SIGCONT): its copy's next
   poll cannot see the finished transfer, so A's supervisor cancels the copy first and ``on_kill``
   runs, instead of the copy firing a second, ignored event;
5. the fault is dropped and the worker resumes: the task succeeds with B's event.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netapp_dataops_airflow.demo import processes
from netapp_dataops_airflow.triggers.base import kill_decision
from tests.e2e.deployment import E2EDeployment

DAG_ID = "replicate_data_snapmirror"
TASK_ID = "sync"
WORKER = "celery-worker-1"
HOLD = 600.0
RELATIONSHIPS = "/api/snapmirror/relationships"


def _pause(e2e: E2EDeployment, component: str) -> None:
    processes.signal_group(e2e.airflow.components[component], signal.SIGSTOP)


def _resume(e2e: E2EDeployment, component: str) -> None:
    processes.signal_group(e2e.airflow.components[component], signal.SIGCONT)


@pytest.fixture
def paused(e2e: E2EDeployment) -> Iterator[set[str]]:
    """Components the test pauses; every one is resumed, and the faults dropped, whatever happens."""
    names: set[str] = set()
    yield names
    e2e.simulators.ontap("DELETE", "faults")
    for name in names:
        _resume(e2e, name)


def _entries(log: str, words: str) -> list[str]:
    """The events of a trigger log (JSON lines, as the triggerer writes them) that contain ``words``."""
    events = []
    for line in log.splitlines():
        try:
            event = str(json.loads(line).get("event", ""))
        except (ValueError, AttributeError):
            event = line
        if words in event:
            events.append(event)
    return events


def _trigger_log(e2e: E2EDeployment, run_id: str, job_id: int) -> str:
    """The part of try 1's log that triggerer job ``job_id`` wrote (``...attempt=1.log.trigger.<id>.log``)."""
    folder = e2e.logs / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={TASK_ID}"
    path = Path(folder, f"attempt=1.log.trigger.{job_id}.log")
    return path.read_text() if path.exists() else ""


def test_a_stale_copy_cancelled_after_the_trigger_fired_elsewhere_cancels_nothing(
    e2e: E2EDeployment, paused: set[str], report_lines: list[str]
) -> None:
    api, sims = e2e.api, e2e.simulators
    api.wait_for_dags({DAG_ID}, timeout=180)
    api.unpause(DAG_ID)
    sims.ontap("PUT", "transfer-settings", {"duration": HOLD})
    record = sims.ontap(
        "POST", "relationships", {"source_path": "svm_prod:e2e_fired", "destination_path": "svm_dr:e2e_fired"}
    )
    transfers = f"{RELATIONSHIPS}/{record['uuid']}/transfers"
    api.wait_for("both triggerers alive", lambda: len(api.alive_triggerers()) == 2 or None, timeout=180)
    run_id = api.trigger(DAG_ID, {"relationship": "svm_dr:e2e_fired"})

    def holder() -> dict[str, Any] | None:
        ti = api.task_instance(DAG_ID, run_id, TASK_ID)
        return ti["triggerer_job"] if ti["state"] == "deferred" and ti.get("triggerer_job") else None

    first = api.wait_for("the deferred task's triggerer", holder, timeout=300)
    # A's copy must exist before A is paused, or there is nothing stale to cancel.
    api.wait_for(
        "the first triggerer's copy of the trigger",
        lambda: "Waiting for SnapMirror transfer" in _trigger_log(e2e, run_id, first["id"]),
        timeout=120,
    )
    paused.add(WORKER)
    _pause(e2e, WORKER)
    paused.add(first["hostname"])
    _pause(e2e, first["hostname"])

    def adopted() -> dict[str, Any] | None:
        job = holder()
        return job if job and job["id"] != first["id"] else None

    second = api.wait_for(
        f"the other triggerer to adopt paused {first['hostname']}'s trigger", adopted, timeout=180
    )
    sims.ontap("POST", "advance", {"seconds": HOLD})
    state = api.wait_for_task(DAG_ID, run_id, TASK_ID, {"scheduled", "queued"}, timeout=180)
    assert "Trigger fired event" in _trigger_log(e2e, run_id, second["id"]), state

    # A's copy cannot see the finished transfer now; its supervisor cancels it first.
    stall = {"kind": "stall", "method": "GET", "path": RELATIONSHIPS, "times": -1, "seconds": 600}
    sims.ontap("POST", "faults", stall)
    _resume(e2e, first["hostname"])
    paused.discard(first["hostname"])

    # on_kill logs its decision before it cancels anything (its work outlives a re-cancel of the copy).
    def decided() -> str | None:
        log = _trigger_log(e2e, run_id, first["id"])
        return log if _entries(log, "cancelling SnapMirror") else None

    stale = api.wait_for(f"{first['hostname']}'s on_kill of its stale copy", decided, timeout=180)
    report_lines.append(
        f"fired elsewhere: {first['hostname']} paused, {second['hostname']} adopted and fired; "
        f"{first['hostname']} resumed, its on_kill: {_entries(stale, 'cancelling')}"
    )
    # The worker is paused: on_kill read the resumed task still waiting for it.
    assert api.task_instance(DAG_ID, run_id, TASK_ID)["state"] in {"scheduled", "queued"}
    sims.ontap("DELETE", "faults")
    _resume(e2e, WORKER)
    paused.discard(WORKER)

    assert api.wait_for_run(DAG_ID, run_id, timeout=300) == "success"
    # One transfer, never aborted; the task succeeded once, with the transfer B's copy saw end.
    requests = [r for r in sims.ontap("GET", "requests") if r.split(" ", 1)[1].startswith(transfers)]
    assert [r.split(" ")[0] for r in requests if not r.startswith("GET")] == ["POST"], (requests, stale)
    assert int(api.task_instance(DAG_ID, run_id, TASK_ID)["try_number"]) == 1
    result = api.xcom(DAG_ID, run_id, TASK_ID)
    assert result["state"] == "success", result
    # A cancelled its copy by user action, and on_kill kept the transfer, saying why.
    assert "Trigger cancelled by user action, invoking on_kill" in stale, stale
    assert _entries(stale, "Not cancelling SnapMirror transfer") == [
        f"Not cancelling SnapMirror transfer {result['transfer_uuid']} of relationship {record['uuid']}: "
        f"{kill_decision('queued')}"
    ], stale
    assert not _entries(stale, "Trigger fired event"), stale
