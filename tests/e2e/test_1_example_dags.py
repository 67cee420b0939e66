"""Every example DAG, triggered through the REST API, on CeleryExecutor with one worker slot."""

from __future__ import annotations

import inspect

from netapp_dataops_airflow.demo.run import EXAMPLE_DAG_IDS
from netapp_dataops_airflow.operators.base import NetAppOperator
from tests.e2e.dags import example_conf, is_long, is_ours
from tests.e2e.deployment import E2EDeployment

DEFERRED = "Pausing task as DEFERRED"
FIRED = "Trigger fired event"


def records_asset_events() -> bool:
    """Tell whether this version of the library records asset events (its operators' ``asset_events``)."""
    return "asset_events" in inspect.signature(NetAppOperator.__init__).parameters


def test_every_example_dag_defers_its_long_tasks_and_succeeds(e2e: E2EDeployment) -> None:
    api = e2e.api
    api.wait_for_dags(set(EXAMPLE_DAG_IDS), timeout=180)
    runs = {}
    for dag_id in EXAMPLE_DAG_IDS:
        api.unpause(dag_id)
        runs[dag_id] = api.trigger(dag_id, example_conf(dag_id, "examples"))
    states = {dag_id: api.wait_for_run(dag_id, run_id, timeout=600) for dag_id, run_id in runs.items()}

    problems = []
    for dag_id, run_id in runs.items():
        events = api.asset_events(dag_id, run_id)
        for ti in api.run_task_instances(dag_id, run_id):
            task_id = ti["task_id"]
            if ti["state"] != "success":
                problems.append(
                    f"{dag_id}.{task_id}: {ti['state']}\n{api.log_text(dag_id, run_id, task_id)[-3000:]}"
                )
                continue
            if not is_long(ti):
                continue
            if ti["try_number"] != 1:  # the deployment gives every task a retry, for the kill tests
                problems.append(f"{dag_id}.{task_id} needed {ti['try_number']} tries")
            log = api.log_text(dag_id, run_id, task_id)
            if DEFERRED not in log or FIRED not in log:
                problems.append(
                    f"{dag_id}.{task_id} never deferred, or its trigger never fired:\n{log[-3000:]}"
                )
            if is_ours(ti) and api.return_value(dag_id, run_id, task_id) is None:
                problems.append(f"{dag_id}.{task_id} succeeded without a result (XCom)")
            emitted = [e for e in events if e.get("source_task_id") == task_id]
            if records_asset_events() and is_ours(ti) and not emitted:
                problems.append(f"{dag_id}.{task_id} succeeded without an asset event")
    assert not problems, "\n\n".join(problems)
    assert states == dict.fromkeys(runs, "success")
