"""How long each task held a worker and how long it waited deferred, from sampled states.

The REST API says what state a task instance is in *now*. :class:`Timeline` is fed those states at
a fixed interval and charges each interval to the state seen at its start: the time in ``running``
is the time a worker held the task (starting, then finishing after the trigger fired), the time in
``deferred`` the time it waited in the triggerer without one. Each total is exact to within about
one sampling interval per state change; a state shorter than an interval may not be seen at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

FINISHED = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})


@dataclass(frozen=True, order=True)
class TaskKey:
    """One task instance: DAG, run, task and map index."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1

    @classmethod
    def of(cls, instance: Mapping[str, Any]) -> TaskKey:
        """Return the key of a task instance as the REST API renders it."""
        return cls(
            instance["dag_id"], instance["dag_run_id"], instance["task_id"], instance.get("map_index", -1)
        )

    @property
    def label(self) -> str:
        """``dag.task`` (with ``[i]`` for a mapped instance)."""
        suffix = f"[{self.map_index}]" if self.map_index >= 0 else ""
        return f"{self.dag_id}.{self.task_id}{suffix}"


@dataclass
class TaskHistory:
    """What was seen of one task instance: its operator, its last state, seconds spent per state."""

    operator: str
    state: str | None = None
    since: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def held(self) -> float:
        """Seconds seen ``running`` (a worker slot taken)."""
        return self.seconds.get("running", 0.0)

    @property
    def deferred(self) -> float:
        """Seconds seen ``deferred`` (no worker: the triggerer waits)."""
        return self.seconds.get("deferred", 0.0)


class Timeline:
    """Sampled states of many task instances; :meth:`observe` returns the changes, for progress output."""

    def __init__(self) -> None:
        self.tasks: dict[TaskKey, TaskHistory] = {}

    def observe(self, instances: Iterable[Mapping[str, Any]], now: float) -> list[tuple[TaskKey, str]]:
        """Record one sample taken at ``now`` (monotonic seconds); return ``(task, new state)`` changes."""
        changes = []
        for instance in instances:
            key = TaskKey.of(instance)
            state = instance.get("state") or "none"
            history = self.tasks.get(key)
            if history is None:
                operator = instance.get("operator_name") or instance.get("operator") or "?"
                history = self.tasks[key] = TaskHistory(operator=str(operator), state=state, since=now)
                changes.append((key, state))
                continue
            if history.state is not None:
                spent = history.seconds.get(history.state, 0.0)
                history.seconds[history.state] = spent + (now - history.since)
            history.since = now
            if state != history.state:
                history.state = state
                changes.append((key, state))
        return changes

    def finished(self) -> bool:
        """Tell whether every task seen so far is in a final state."""
        return bool(self.tasks) and all(history.state in FINISHED for history in self.tasks.values())
