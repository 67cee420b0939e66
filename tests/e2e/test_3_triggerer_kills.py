"""A triggerer SIGKILLed while tasks are deferred on it: the other takes them over, nothing is started twice.

Airflow gives a dead triggerer's triggers to a live one once its heartbeat is older than
``triggerer_health_check_threshold`` (a few seconds here). The killed triggerer never runs
``on_kill`` or ``cleanup``; the trigger is rebuilt from its kwargs on the other one and goes on
waiting for the same operation.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from tests.e2e.api import E2EApi
from tests.e2e.dags import example_conf
from tests.e2e.deployment import E2EDeployment
from tests.e2e.ledger import Ledger

DAG_IDS = (
    "ai_training_run",  # two snapshots (and pods)
    "clone_volume",
    "replicate_data_cloud_sync",
    "replicate_data_snapmirror",
    "replicate_data_xcp",
)
XCP_TARGET_EXPORT = "/e2e_kills"


def _held(api: E2EApi, runs: dict[str, str]) -> dict[int, tuple[str, list[str]]]:
    """Deferred task instances by the triggerer job holding their trigger: ``{job id: (host, [tasks])}``."""
    held: dict[int, tuple[str, list[str]]] = {}
    for dag_id, run_id in runs.items():
        for ti in api.run_task_instances(dag_id, run_id):
            job = ti.get("triggerer_job")
            if ti["state"] == "deferred" and job:
                held.setdefault(job["id"], (job["hostname"], []))[1].append(f"{dag_id}.{ti['task_id']}")
    return held


def _slow_everything(e2e: E2EDeployment, hold: float, phase: float) -> dict[str, Any]:
    """Keep every operation running through the kills; return the XCP DAG's conf.

    SnapMirror transfers and Cloud Sync syncs take ``hold`` seconds, cut short afterwards by moving
    the simulators' clocks on. Kubernetes steps and the XCP copy cannot be cut short (a step's
    delay is fixed when it starts, a copy's speed when it is launched): they take about ``phase``,
    the expected length of the kills. XCP copies to a new target, so its run copies (slowly) instead
    of syncing after the first test's copy.
    """
    sims = e2e.simulators
    sims.ontap("PUT", "transfer-settings", {"duration": hold})
    sims.cloud_sync("PUT", "sync-settings", {"duration": hold})
    sims.kubernetes("POST", "timing", {"all": phase / 2})  # a clone's two steps, a snapshot's two
    source = str(api_default_param(e2e.api, "replicate_data_xcp", "source"))
    target = f"{source.partition(':')[0]}:{XCP_TARGET_EXPORT}"
    sims.xcp_export(target)
    size = sum(f.stat().st_size for f in sims.xcp_export(source).rglob("*") if f.is_file())
    sims.xcp_configure(bytes_per_second=max(1, int(size / phase)))
    return {"target": target}


def api_default_param(api: E2EApi, dag_id: str, name: str) -> Any:
    """Return a DAG parameter's default as the API shows it."""
    params = api.request("GET", f"/dags/{dag_id}/details")["params"]
    value = params[name]
    return value.get("value") if isinstance(value, dict) else value


def _release_everything(e2e: E2EDeployment, seconds: float) -> None:
    """Let the slowed operations finish now (an XCP copy runs at its own pace)."""
    sims = e2e.simulators
    sims.ontap("POST", "advance", {"seconds": seconds})
    sims.cloud_sync("POST", "advance", {"seconds": seconds})
    sims.kubernetes("POST", "timing", {"all": 0.5})  # for the next tests' objects
    sims.xcp_configure(bytes_per_second=0)


def test_killed_triggerers_hand_their_triggers_over_and_nothing_runs_twice(
    e2e: E2EDeployment, request: pytest.FixtureRequest, report_lines: list[str]
) -> None:
    api = e2e.api
    kills = int(request.config.getoption("--kills"))
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    hold = 1200.0  # longer than any kill sequence; cut short afterwards
    phase = 20.0 + 15.0 * kills  # about how long the kills take here (each: takeover, restart)
    api.wait_for_dags(set(DAG_IDS), timeout=180)
    before = Ledger.read(e2e.simulators)
    xcp_conf = _slow_everything(e2e, hold, phase)
    runs = {}
    for dag_id in DAG_IDS:
        api.unpause(dag_id)
        conf = {**example_conf(dag_id, "kills"), **(xcp_conf if dag_id == "replicate_data_xcp" else {})}
        runs[dag_id] = api.trigger(dag_id, conf)

    takeovers = []
    for number in range(1, kills + 1):
        held = api.wait_for("a deferred task on a live triggerer", lambda: _held(api, runs), timeout=300)
        api.wait_for("both triggerers alive", lambda: len(api.alive_triggerers()) == 2 or None, timeout=180)
        time.sleep(rng.uniform(0.0, 4.0))  # a random moment of the wait
        held = _held(api, runs) or held
        # The triggerer holding the most (ties: either), so a kill always has something to hand over.
        most = max(len(tasks) for _, tasks in held.values())
        job_id = rng.choice(sorted(job for job, (_, tasks) in held.items() if len(tasks) == most))
        victim, tasks = held[job_id]
        killed_at = time.monotonic()
        e2e.airflow.kill_component(victim)

        def moved(job_id: int = job_id) -> dict[int, tuple[str, list[str]]] | None:
            now_held = _held(api, runs)
            return None if job_id in now_held else now_held or {0: ("none deferred", [])}

        after = api.wait_for(f"the triggers of killed {victim} to move", moved, timeout=120)
        takeovers.append(time.monotonic() - killed_at)
        hosts = sorted({host for host, _ in after.values()})
        report_lines.append(
            f"kill {number}/{kills}: SIGKILL {victim} holding {sorted(tasks)}; "
            f"{takeovers[-1]:.1f} s later held by {hosts}"
        )
        e2e.airflow.start_component(victim)

    _release_everything(e2e, hold)
    states = {dag_id: api.wait_for_run(dag_id, run_id, timeout=600) for dag_id, run_id in runs.items()}
    started = Ledger.read(e2e.simulators).since(before)
    report_lines.append(
        f"triggerer kills: {kills} (seed {seed}); takeover after {min(takeovers, default=0):.1f}-"
        f"{max(takeovers, default=0):.1f} s; operations started: {started.counts()}"
    )
    failed = {d: api.task_states(d, r) for d, r in runs.items() if states[d] != "success"}
    assert not failed, f"runs not successful after the kills: {failed}"
    assert started.counts() == {"transfers": 1, "syncs": 1, "snapshots": 2, "clones": 1, "xcp_runs": 1}, (
        started
    )
    assert all(len(names) == 1 for names in started.objects_per_task().values()), started.objects_per_task()
