"""Two DAG runs wait at the same time although the deployment has one worker slot."""

from __future__ import annotations

import time

from netapp_dataops_airflow.demo.report import table
from netapp_dataops_airflow.demo.timeline import Timeline
from tests.e2e.deployment import E2EDeployment

WAIT_SECONDS = 30.0
SAMPLE_INTERVAL = 0.5
DAGS = {"replicate_data_snapmirror": "sync", "replicate_data_cloud_sync": "sync"}


def test_two_runs_wait_together_on_one_worker_slot(e2e: E2EDeployment, report_lines: list[str]) -> None:
    api, sims = e2e.api, e2e.simulators
    sims.ontap("PUT", "transfer-settings", {"duration": WAIT_SECONDS})
    sims.cloud_sync("PUT", "sync-settings", {"duration": WAIT_SECONDS})
    api.wait_for_dags(set(DAGS), timeout=180)
    runs = {}
    for dag_id in DAGS:
        api.unpause(dag_id)
        runs[dag_id] = api.trigger(dag_id)

    timeline = Timeline()
    both_deferred_at = []
    pending = dict(runs)
    deadline = time.monotonic() + 600
    while pending:
        now = time.monotonic()
        instances = [ti for dag_id, run_id in runs.items() for ti in api.run_task_instances(dag_id, run_id)]
        timeline.observe(instances, now)
        long_states = {ti["dag_id"]: ti["state"] for ti in instances if ti["task_id"] == DAGS[ti["dag_id"]]}
        if list(long_states.values()) == ["deferred", "deferred"]:
            both_deferred_at.append(now)
        for dag_id, run_id in list(pending.items()):
            if api.dag_run(dag_id, run_id)["state"] in ("success", "failed"):
                del pending[dag_id]
        assert now < deadline, f"runs not finished in 600 s: {pending}"
        time.sleep(SAMPLE_INTERVAL)

    results = {key: api.return_value(key.dag_id, key.run_id, key.task_id) for key in timeline.tasks}
    report_lines += [
        "Worker slot (one) vs. waiting, two runs at once:",
        table(timeline.tasks, results, interval=SAMPLE_INTERVAL),
    ]
    assert {dag_id: api.dag_run(dag_id, run_id)["state"] for dag_id, run_id in runs.items()} == dict.fromkeys(
        runs, "success"
    )
    # Both long tasks waited at once: neither held the only slot while it waited.
    assert both_deferred_at, "the two long tasks were never deferred at the same time"
    for key, history in timeline.tasks.items():
        if key.task_id == DAGS[key.dag_id]:
            assert history.deferred > history.held, (
                f"{key.label} held the worker longer than it waited: {history}"
            )
