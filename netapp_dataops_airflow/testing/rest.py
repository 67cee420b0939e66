"""A small client of Airflow's public REST API (v2), as an outside program would use it.

It logs in through the auth manager's ``POST /auth/token`` (user name and password; a
SimpleAuthManager user in tests) and sends the access token as a bearer token, logging in again once
when the token is refused. Only what tests of a deployment need: trigger runs, read states, XComs,
asset events and task logs, and act as a user (mark a task failed or success, clear it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

FINISHED_RUN_STATES = frozenset({"success", "failed"})


class AirflowApiError(RuntimeError):
    """The API answered an error, or a wait for a state ran out; the message says which."""


class AirflowClient:
    """Airflow's REST API v2 at ``base_url`` (e.g. ``http://127.0.0.1:8080``), as ``username``."""

    def __init__(self, base_url: str, username: str, password: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None

    def __repr__(self) -> str:
        return f"AirflowClient({self.base_url!r}, user {self._username!r})"

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> AirflowClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------------

    def login(self) -> str:
        """Get an access token from ``POST /auth/token`` and use it from now on; return it."""
        response = self._http.post("/auth/token", json={"username": self._username, "password": self._password})
        if response.status_code not in (200, 201):
            raise AirflowApiError(
                f"POST /auth/token as {self._username!r}: HTTP {response.status_code} {response.text[:300]}"
            )
        self._token = str(response.json()["access_token"])
        return self._token

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send ``method path`` under ``/api/v2``; return the decoded JSON (``None`` for no body)."""
        for attempt in (1, 2):
            if self._token is None:
                self.login()
            headers = {"Authorization": f"Bearer {self._token}"}
            response = self._http.request(method, f"/api/v2{path}", headers=headers, **kwargs)
            if response.status_code == 401 and attempt == 1:
                self._token = None  # expired: log in again, once
                continue
            if response.status_code >= 400:
                raise AirflowApiError(f"{method} /api/v2{path}: HTTP {response.status_code} {response.text[:500]}")
            if not response.content:
                return None
            if "json" in response.headers.get("content-type", ""):
                return response.json()
            return response.text
        raise AssertionError("unreachable")  # pragma: no cover

    # --- DAGs and runs ----------------------------------------------------------------------------

    def dag(self, dag_id: str) -> dict[str, Any]:
        """Return the DAG as the API shows it (raises while the DAG processor has not parsed it)."""
        result: dict[str, Any] = self.request("GET", f"/dags/{quote(dag_id)}")
        return result

    def unpause(self, dag_id: str) -> None:
        """Unpause ``dag_id`` (new DAGs are paused by default)."""
        self.request("PATCH", f"/dags/{quote(dag_id)}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> str:
        """Trigger a run of ``dag_id`` now; return its run id."""
        body = {"logical_date": None, "conf": dict(conf or {})}
        run = self.request("POST", f"/dags/{quote(dag_id)}/dagRuns", json=body)
        return str(run["dag_run_id"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """Return the run."""
        result: dict[str, Any] = self.request("GET", f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}")
        return result

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Return the run's task instances."""
        path = f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances"
        result = self.request("GET", path, params={"limit": 1000})
        return list(result["task_instances"])

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        """Return one task instance of the run."""
        path = f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/{quote(task_id)}"
        result: dict[str, Any] = self.request("GET", path)
        return result

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """Return each task instance's state by task id (``task_id[i]`` for mapped ones)."""
        return {_key(ti): ti["state"] for ti in self.task_instances(dag_id, run_id)}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """Return an XCom's value (deserialized by the API)."""
        path = (
            f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/{quote(task_id)}"
            f"/xcomEntries/{quote(key)}"
        )
        return self.request("GET", path, params={"deserialize": True, "stringify": False})["value"]

    def asset_events(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Return the asset events the run's tasks emitted."""
        result = self.request(
            "GET", "/assets/events", params={"source_dag_id": dag_id, "source_run_id": run_id, "limit": 1000}
        )
        return list(result["asset_events"])

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> list[dict[str, Any]]:
        """Return a try's log as structured entries (``event``, ``timestamp``, ``level``, ...)."""
        path = (
            f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/{quote(task_id)}/logs/{try_number}"
        )
        result = self.request("GET", path, params={"full_content": True}, headers={"Accept": "application/json"})
        content = result["content"] if isinstance(result, dict) else result
        return [entry if isinstance(entry, dict) else {"event": str(entry)} for entry in content]

    # --- user actions -----------------------------------------------------------------------------

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        """Mark a task instance ``failed`` or ``success``, as a user in the UI does."""
        path = f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/{quote(task_id)}"
        self.request("PATCH", path, json={"new_state": state})

    def clear_task(self, dag_id: str, run_id: str, task_id: str) -> None:
        """Clear a task instance (it runs again), as a user in the UI does."""
        body = {"dry_run": False, "dag_run_id": run_id, "task_ids": [task_id], "only_failed": False}
        self.request("POST", f"/dags/{quote(dag_id)}/clearTaskInstances", json=body)

    # --- waiting ----------------------------------------------------------------------------------

    def wait_for(self, what: str, check: Callable[[], Any], *, timeout: float, interval: float = 0.5) -> Any:
        """Call ``check`` until it returns something true; return that, or raise naming ``what``."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AirflowApiError(f"waited {timeout:.0f} s for {what}; last seen: {result!r}")
            time.sleep(interval)

    def wait_for_run(self, dag_id: str, run_id: str, *, timeout: float) -> str:
        """Wait until the run ends; return its state (``success`` or ``failed``)."""

        def finished() -> str | None:
            state = self.dag_run(dag_id, run_id)["state"]
            return state if state in FINISHED_RUN_STATES else None

        return str(self.wait_for(f"run {dag_id}/{run_id} to end", finished, timeout=timeout))

    def wait_for_task_state(
        self, dag_id: str, run_id: str, task_id: str, states: set[str], *, timeout: float
    ) -> str:
        """Wait until a task instance is in one of ``states``; return it."""

        def reached() -> str | None:
            state = self.task_instance(dag_id, run_id, task_id)["state"]
            return state if state in states else None

        return str(self.wait_for(f"{dag_id}/{run_id}/{task_id} in {sorted(states)}", reached, timeout=timeout))


def _key(ti: Mapping[str, Any]) -> str:
    """Name a task instance as the results do: ``task_id``, or ``task_id[map_index]`` if mapped."""
    index = ti.get("map_index", -1)
    return str(ti["task_id"]) if index is None or index < 0 else f"{ti['task_id']}[{index}]"
