"""A user marks a deferred task failed or success, or clears it, through the REST API (docs/semantics.md).

Airflow 3.3 calls the trigger's ``on_kill`` for all three; only *failed* cancels the operation. Each
run updates a SnapMirror relationship of its own, so the ONTAP simulator's request log says, per
relationship, what was started and what was aborted.
"""

from __future__ import annotations

from tests.e2e.deployment import E2EDeployment

DAG_ID = "replicate_data_snapmirror"
TASK_ID = "sync"
HOLD = 600.0
ACTIONS = ("failed", "success", "clear")


def _requests_for(e2e: E2EDeployment, uuid: str) -> list[str]:
    """The ONTAP requests that start (POST) or abort (PATCH) a transfer of relationship ``uuid``."""
    prefix = f"/api/snapmirror/relationships/{uuid}/transfers"
    return [
        r
        for r in e2e.simulators.ontap("GET", "requests")
        if r.split(" ", 1)[1].startswith(prefix) and not r.startswith("GET")
    ]


def test_mark_failed_cancels_mark_success_keeps_clear_reattaches(e2e: E2EDeployment) -> None:
    api, sims = e2e.api, e2e.simulators
    api.wait_for_dags({DAG_ID}, timeout=180)
    api.unpause(DAG_ID)
    sims.ontap("PUT", "transfer-settings", {"duration": HOLD})
    runs, relationships = {}, {}
    for action in ACTIONS:
        record = sims.ontap(
            "POST",
            "relationships",
            {"source_path": f"svm_prod:e2e_{action}", "destination_path": f"svm_dr:e2e_{action}"},
        )
        relationships[action] = record["uuid"]
        runs[action] = api.trigger(DAG_ID, {"relationship": f"svm_dr:e2e_{action}"})
    for run_id in runs.values():
        api.wait_for_task(DAG_ID, run_id, TASK_ID, {"deferred"}, timeout=300)
    # Deferred is not yet running on a triggerer: a trigger no triggerer has picked up is just
    # dropped by a user action, with no on_kill to observe. Act once each one logs its wait.
    for action, run_id in runs.items():
        api.wait_for(
            f"the {action} run's trigger to run",
            lambda run_id=run_id: "Waiting for SnapMirror transfer" in api.log_text(DAG_ID, run_id, TASK_ID),
            timeout=120,
        )

    api.set_task_state(DAG_ID, runs["failed"], TASK_ID, "failed")
    api.set_task_state(DAG_ID, runs["success"], TASK_ID, "success")
    api.clear_task(DAG_ID, runs["clear"], TASK_ID)

    # Each trigger's on_kill has run once the triggerer logs the trigger as completed (in the task's log).
    def finished(action: str, words: str = "trigger completed") -> str | None:
        log = api.log_text(DAG_ID, runs[action], TASK_ID)
        return log if "Trigger cancelled by user action" in log and words in log else None

    failed_log = api.wait_for(
        "on_kill after mark failed",
        lambda: finished("failed", "The task is marked failed; cancelling"),
        timeout=120,
    )
    success_log = api.wait_for("on_kill after mark success", lambda: finished("success"), timeout=120)
    clear_log = api.wait_for("on_kill after clear", lambda: finished("clear"), timeout=120)
    # The cleared task runs again and waits for the same transfer.
    api.wait_for_task(DAG_ID, runs["clear"], TASK_ID, {"deferred"}, timeout=300)
    sims.ontap("POST", "advance", {"seconds": HOLD})

    assert api.wait_for_run(DAG_ID, runs["clear"], timeout=300) == "success"
    # Marked success: the task stays so; its run fails after all, as a user would see it, because the
    # next task reads a result (XCom) the marked task never pushed.
    api.wait_for_run(DAG_ID, runs["success"], timeout=300)
    assert api.task_instance(DAG_ID, runs["success"], TASK_ID)["state"] == "success"
    assert api.wait_for_run(DAG_ID, runs["failed"], timeout=300) == "failed"
    assert int(api.task_instance(DAG_ID, runs["clear"], TASK_ID)["try_number"]) == 2

    # Mark failed: the abort may land after the run ended (on_kill's work outlives the triggerer's
    # repeated cancels of the trigger), so wait for it rather than read once.
    api.wait_for(
        "the abort after mark failed",
        lambda: any(r.startswith("PATCH") for r in _requests_for(e2e, relationships["failed"])),
        timeout=120,
    )
    started = {action: _requests_for(e2e, uuid) for action, uuid in relationships.items()}
    failed_log = api.log_text(DAG_ID, runs["failed"], TASK_ID)  # with whatever on_kill logged last
    transfers = {t["uuid"]: t for t in _transfers(e2e)}
    states = {
        action: sorted(t["state"] for t in transfers.values() if t["relationship"]["uuid"] == uuid)
        for action, uuid in relationships.items()
    }
    # Mark success and clear: one transfer each, never aborted; the cleared task's next try reattached.
    assert [r.split(" ")[0] for r in started["success"]] == ["POST"], (started["success"], success_log)
    assert [r.split(" ")[0] for r in started["clear"]] == ["POST"], (started["clear"], clear_log)
    assert states["success"] == states["clear"] == ["success"], states
    # Mark failed: one transfer, aborted (PATCH state=aborted), and nothing else started.
    assert [r.split(" ")[0] for r in started["failed"]] == ["POST", "PATCH"], (started["failed"], failed_log)
    assert states["failed"] == ["aborted"], states


def _transfers(e2e: E2EDeployment) -> list[dict]:
    """Every transfer the ONTAP simulator knows, as its control API renders them."""
    state = e2e.simulators.ontap("GET", "state")
    return list(state.get("transfers", []))
