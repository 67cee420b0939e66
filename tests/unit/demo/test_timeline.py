"""Held vs deferred time from sampled task-instance states."""

from __future__ import annotations

from typing import Any

from netapp_dataops_airflow.demo.report import summarize, table
from netapp_dataops_airflow.demo.timeline import TaskKey, Timeline


def instance(state: str | None, task_id: str = "snap") -> dict[str, Any]:
    return {
        "dag_id": "d",
        "dag_run_id": "r",
        "task_id": task_id,
        "map_index": -1,
        "state": state,
        "operator_name": "@task.netapp_snapshot",
    }


def test_each_interval_is_charged_to_the_state_seen_at_its_start() -> None:
    timeline = Timeline()
    samples = [(0.0, "queued"), (1.0, "running"), (3.0, "deferred"), (10.0, "queued"), (11.0, "running")]
    samples += [(11.5, "success")]
    for now, state in samples:
        timeline.observe([instance(state)], now)
    history = timeline.tasks[TaskKey("d", "r", "snap")]
    assert (history.held, history.deferred) == (2.5, 7.0)


def test_observe_reports_only_changes() -> None:
    timeline = Timeline()
    assert timeline.observe([instance("running")], 0.0) == [(TaskKey("d", "r", "snap"), "running")]
    assert timeline.observe([instance("running")], 1.0) == []
    assert timeline.observe([instance("deferred")], 2.0) == [(TaskKey("d", "r", "snap"), "deferred")]


def test_finished_only_when_every_task_seen_is_final() -> None:
    timeline = Timeline()
    assert not timeline.finished()
    timeline.observe([instance("success"), instance(None, task_id="report")], 0.0)
    assert not timeline.finished()
    timeline.observe([instance("success"), instance("upstream_failed", task_id="report")], 1.0)
    assert timeline.finished()


def test_summary_keeps_the_telling_fields_and_fits_the_column() -> None:
    assert summarize({"uid": "x", "name": "snap-1", "ready_to_use": True}) == "name=snap-1, ready_to_use=True"
    assert len(summarize({"name": "n" * 200})) == 52
    assert summarize(None) == ""


def test_table_names_its_resolution_and_each_task() -> None:
    timeline = Timeline()
    timeline.observe([instance("running")], 0.0)
    timeline.observe([instance("deferred")], 2.0)
    timeline.observe([instance("success")], 5.0)
    rendered = table(timeline.tasks, {TaskKey("d", "r", "snap"): {"name": "snap-1"}}, interval=0.5)
    assert "sampled through the REST API every 0.5 s" in rendered
    row = rendered.splitlines()[-1].split()
    assert row == ["d.snap", "@task.netapp_snapshot", "2.0", "s", "3.0", "s", "success:", "name=snap-1"]
