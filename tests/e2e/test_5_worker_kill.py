"""The Celery worker SIGKILLed after the task started its transfer and before it deferred.

The ONTAP simulator holds the task's first read of its new transfer (a ``stall`` fault), so the
worker is killed at a known point: the transfer exists, the task has not deferred. Airflow fails the
try when its heartbeat stops, and the retry must find that transfer and wait for it, not start a
second one.
"""

from __future__ import annotations

from tests.e2e.deployment import E2EDeployment

DAG_ID = "replicate_data_snapmirror"
TASK_ID = "sync"
WORKER = "celery-worker-1"


def test_worker_killed_between_start_and_defer_retry_adopts_the_transfer(e2e: E2EDeployment) -> None:
    api, sims = e2e.api, e2e.simulators
    api.wait_for_dags({DAG_ID}, timeout=180)
    api.unpause(DAG_ID)
    sims.ontap("PUT", "transfer-settings", {"duration": 20})
    record = sims.ontap(
        "POST",
        "relationships",
        {"source_path": "svm_prod:e2e_worker", "destination_path": "svm_dr:e2e_worker"},
    )
    transfers = f"/api/snapmirror/relationships/{record['uuid']}/transfers"
    sims.ontap("POST", "faults", {"kind": "stall", "method": "GET", "path": f"{transfers}/", "seconds": 300})
    run_id = api.trigger(DAG_ID, {"relationship": "svm_dr:e2e_worker"})

    def stalled() -> list[str] | None:
        seen = [r for r in sims.ontap("GET", "requests") if r.split(" ", 1)[1].startswith(transfers)]
        return seen if any(r.startswith(f"GET {transfers}/") for r in seen) else None

    before_kill = api.wait_for("the task's read of its new transfer", stalled, timeout=300)
    assert api.task_instance(DAG_ID, run_id, TASK_ID)["state"] == "running"
    e2e.airflow.kill_component(WORKER)
    e2e.airflow.start_component(WORKER)

    assert api.wait_for_run(DAG_ID, run_id, timeout=400) == "success"
    ti = api.task_instance(DAG_ID, run_id, TASK_ID)
    starts = [r for r in sims.ontap("GET", "requests") if r.split("?")[0] == f"POST {transfers}"]
    assert int(ti["try_number"]) == 2, ti
    assert len([r for r in before_kill if r.startswith("POST")]) == 1, before_kill
    assert len(starts) == 1, f"the retry started a second transfer: {starts}"
    result = api.xcom(DAG_ID, run_id, TASK_ID)
    assert result["state"] == "success", result
