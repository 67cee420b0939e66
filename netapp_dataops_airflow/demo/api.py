"""A small client of Airflow's public REST API v2, authenticated as a script would be.

The token comes from the auth manager (``POST /auth/token`` with a user name and password, the
simple auth manager's endpoint) and is renewed once when a request answers 401.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx


class AirflowApiError(RuntimeError):
    """The API refused a request; the message has the method, the path, the status and Airflow's words."""


class AirflowApi:
    """Talk to ``base_url`` (``http://127.0.0.1:8080``) as ``username``."""

    def __init__(self, base_url: str, username: str, password: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = {"username": username, "password": password}
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None

    def __repr__(self) -> str:
        return f"AirflowApi({self.base_url!r}, user={self._credentials['username']!r})"

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> AirflowApi:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def token(self) -> str:
        """Return a JWT from the auth manager (a new one after :meth:`request` saw a 401)."""
        if self._token is None:
            answer = self._http.post("/auth/token", json=self._credentials)
            if answer.status_code not in (200, 201):
                raise AirflowApiError(
                    f"POST /auth/token answered {answer.status_code}: {answer.text[:200]} "
                    f"(user {self._credentials['username']!r}; is the password right?)"
                )
            self._token = str(answer.json()["access_token"])
        return self._token

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send ``method path`` under ``/api/v2`` with the token; return the JSON answer."""
        for attempt in (1, 2):
            answer = self._http.request(
                method, f"/api/v2{path}", headers={"Authorization": f"Bearer {self.token()}"}, **kwargs
            )
            if answer.status_code == 401 and attempt == 1:
                self._token = None  # expired: one new token, then give up
                continue
            if answer.is_error:
                raise AirflowApiError(
                    f"{method} /api/v2{path} answered {answer.status_code}: {answer.text[:300]}"
                )
            return answer.json() if answer.content else None
        raise AssertionError("unreachable")  # pragma: no cover

    # --- what the demo (and end-to-end tests) do --------------------------------------------------

    def dag_ids(self) -> set[str]:
        """Return the ids of the DAGs the DAG processor has parsed so far."""
        return {dag["dag_id"] for dag in self.request("GET", "/dags", params={"limit": 1000})["dags"]}

    def import_errors(self) -> list[dict[str, Any]]:
        """DAG files that failed to parse (``filename``, ``stack_trace``)."""
        return list(self.request("GET", "/importErrors", params={"limit": 1000})["import_errors"])

    def wait_for_dags(self, dag_ids: set[str], *, timeout: float) -> None:
        """Wait until every one of ``dag_ids`` is parsed; fail early, naming the file, on an import error."""
        deadline = time.monotonic() + timeout
        while True:
            missing = dag_ids - self.dag_ids()
            if not missing:
                return
            errors = self.import_errors()
            if errors:
                first = errors[0]
                raise AirflowApiError(
                    f"{len(errors)} DAG file(s) failed to import; {first.get('filename')}:\n"
                    f"{first.get('stack_trace', '')}"
                )
            if time.monotonic() > deadline:
                raise AirflowApiError(f"DAGs not parsed after {timeout:.0f} s: {', '.join(sorted(missing))}")
            time.sleep(1.0)

    def unpause(self, dag_id: str) -> None:
        """Unpause ``dag_id`` (new DAGs start paused, and a paused DAG's runs never start)."""
        self.request("PATCH", f"/dags/{quote(dag_id, safe='')}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Start a run of ``dag_id`` now; return its run id."""
        run = self.request(
            "POST", f"/dags/{quote(dag_id, safe='')}/dagRuns", json={"logical_date": None, "conf": conf or {}}
        )
        return str(run["dag_run_id"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """Return the run (``state``, ``start_date``, ``end_date``, ...)."""
        return dict(self.request("GET", f"/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"))

    def task_instances(self) -> list[dict[str, Any]]:
        """Every task instance of every run (one request: ``~`` stands for all DAGs and runs)."""
        return list(
            self.request("GET", "/dags/~/dagRuns/~/taskInstances", params={"limit": 1000})["task_instances"]
        )

    def return_value(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
        """Return the task's ``return_value`` XCom, or ``None`` when it has none."""
        path = (
            f"/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/taskInstances/"
            f"{quote(task_id, safe='')}/xcomEntries/return_value"
        )
        try:
            entry = self.request("GET", path, params={"map_index": map_index, "deserialize": True})
        except AirflowApiError:
            return None
        return entry.get("value")
