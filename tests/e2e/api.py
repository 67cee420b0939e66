"""What the end-to-end tests ask Airflow's REST API v2 beyond what the demo's client does."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from netapp_dataops_airflow.demo.api import AirflowApi, AirflowApiError

T = TypeVar("T")
FINISHED_RUN_STATES = frozenset({"success", "failed"})


def _ti_path(dag_id: str, run_id: str, task_id: str = "") -> str:
    path = f"/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/taskInstances"
    return f"{path}/{quote(task_id, safe='')}" if task_id else path


class E2EApi(AirflowApi):
    """The demo's client plus runs' task instances, logs, asset events, jobs and user actions."""

    def run_task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Return one run's task instances."""
        return list(self.request("GET", _ti_path(dag_id, run_id), params={"limit": 1000})["task_instances"])

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """Return each task instance's state of one run by task id."""
        return {ti["task_id"]: ti["state"] for ti in self.run_task_instances(dag_id, run_id)}

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        """Return one task instance (with ``trigger`` and ``triggerer_job`` while deferred)."""
        return dict(self.request("GET", _ti_path(dag_id, run_id, task_id)))

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> list[dict[str, Any]]:
        """Return a try's log (task and trigger parts) as structured entries with ``event``."""
        answer = self.request(
            "GET",
            f"{_ti_path(dag_id, run_id, task_id)}/logs/{try_number}",
            params={"full_content": True},
        )
        return [entry if isinstance(entry, dict) else {"event": str(entry)} for entry in answer["content"]]

    def log_text(self, dag_id: str, run_id: str, task_id: str) -> str:
        """Return the log lines of every try of a task, one text (for ``in`` checks and failure output)."""
        tries = int(self.task_instance(dag_id, run_id, task_id)["try_number"])
        return "\n".join(
            str(entry.get("event", ""))
            for number in range(1, tries + 1)
            for entry in self.task_log(dag_id, run_id, task_id, number)
        )

    def asset_events(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Return the asset events the run's tasks emitted."""
        params = {"source_dag_id": dag_id, "source_run_id": run_id, "limit": 1000}
        return list(self.request("GET", "/assets/events", params=params)["asset_events"])

    def tasks(self, dag_id: str) -> list[dict[str, Any]]:
        """Return the DAG's tasks as declared (operator, outlets, retries, ...)."""
        return list(self.request("GET", f"/dags/{quote(dag_id, safe='')}/tasks")["tasks"])

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        """Return the task's ``return_value`` XCom; raise if there is none."""
        path = f"{_ti_path(dag_id, run_id, task_id)}/xcomEntries/return_value"
        return self.request("GET", path, params={"deserialize": True})["value"]

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        """Mark a task instance ``failed`` or ``success``, as a user in the UI does."""
        self.request("PATCH", _ti_path(dag_id, run_id, task_id), json={"new_state": state})

    def clear_task(self, dag_id: str, run_id: str, task_id: str) -> None:
        """Clear a task instance (it runs again), as a user in the UI does."""
        body = {"dry_run": False, "dag_run_id": run_id, "task_ids": [task_id], "only_failed": False}
        self.request("POST", f"/dags/{quote(dag_id, safe='')}/clearTaskInstances", json=body)

    def alive_triggerers(self) -> list[dict[str, Any]]:
        """Return the triggerer jobs Airflow counts as alive (``hostname`` names the component here)."""
        params = {"job_type": "TriggererJob", "is_alive": True, "limit": 100}
        return list(self.request("GET", "/jobs", params=params)["jobs"])

    # --- waiting ----------------------------------------------------------------------------------

    def wait_for(
        self, what: str, check: Callable[[], T | None], *, timeout: float, interval: float = 0.5
    ) -> T:
        """Call ``check`` until it returns something true; return it, or raise naming ``what``."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AirflowApiError(f"waited {timeout:.0f} s for {what}; last seen: {result!r}")
            time.sleep(interval)

    def wait_for_run(self, dag_id: str, run_id: str, *, timeout: float) -> str:
        """Wait until the run ends; return its state."""

        def finished() -> str | None:
            state = self.dag_run(dag_id, run_id)["state"]
            return str(state) if state in FINISHED_RUN_STATES else None

        return self.wait_for(f"run {dag_id}/{run_id} to end", finished, timeout=timeout, interval=1.0)

    def wait_for_task(
        self, dag_id: str, run_id: str, task_id: str, states: set[str], *, timeout: float
    ) -> str:
        """Wait until a task instance is in one of ``states``; return the state."""

        def reached() -> str | None:
            state = self.task_instance(dag_id, run_id, task_id)["state"]
            return str(state) if state in states else None

        what = f"{dag_id}/{run_id}/{task_id} in {sorted(states)}"
        return self.wait_for(what, reached, timeout=timeout, interval=0.3)
