"""The demo's output: progress lines while DAGs run, and the table per task at the end."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netapp_dataops_airflow.demo.timeline import TaskHistory, TaskKey

# What a state means to someone watching, in a few words.
STATE_WORDS = {
    "scheduled": "scheduled",
    "queued": "queued for a worker",
    "running": "running on a worker",
    "deferred": "deferred: waiting in the triggerer, no worker held",
    "up_for_retry": "failed, will retry",
    "success": "succeeded",
    "failed": "FAILED",
    "upstream_failed": "not run: an upstream task failed",
    "skipped": "skipped",
}
# The fields of a task's result worth a glance, in order of preference.
RESULT_FIELDS = (
    "name",
    "phase",
    "ready_to_use",
    "state",
    "status",
    "bytes_transferred",
    "bytes_out",
    "files_copied",
    "duration_seconds",
    "exit_code",
)


def progress_line(elapsed: float, key: TaskKey, state: str) -> str:
    """One line of progress: when, which task, what happened."""
    return f"  {elapsed:6.1f}s  {key.label:<48} {STATE_WORDS.get(state, state)}"


def summarize(value: Any, *, width: int = 52) -> str:
    """Render a task's return value in one short line: the telling fields of a dict, else its text."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        parts = [f"{name}={value[name]}" for name in RESULT_FIELDS if value.get(name) not in (None, "")]
        text = ", ".join(parts) if parts else ", ".join(f"{k}={v}" for k, v in list(value.items())[:3])
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def table(tasks: Mapping[TaskKey, TaskHistory], results: Mapping[TaskKey, Any], *, interval: float) -> str:
    """Render the table per task: what it did, seconds held by a worker, seconds deferred, its result."""
    headers = ("task", "what it did", "worker held", "deferred", "result")
    rows = [
        (
            key.label,
            history.operator,
            f"{history.held:.1f} s",
            f"{history.deferred:.1f} s",
            f"{history.state}: {summarize(results.get(key))}".rstrip(": "),
        )
        for key, history in sorted(tasks.items())
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    note = (
        f"Times are task-instance states sampled through the REST API every {interval:g} s: each is "
        f"exact to about {interval:g} s per state change ('running' = a worker held the task; "
        "'deferred' = the triggerer waited, no worker held)."
    )
    return "\n".join([note, "", line(headers), line(tuple("-" * w for w in widths)), *map(line, rows)])
