"""Helpers for the SnapMirror tests (imported by name; conftest only holds fixtures)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from netapp_dataops_airflow.simulators.ontap import OntapSimulator
from netapp_dataops_airflow.triggers.base import NetAppTrigger

# Long enough for Airflow's secrets masker, and distinctive enough to grep for.
PASSWORD = "sm-Pa55word-never-shown"
CONN_ID = "ontap_sim"
RELATIONSHIPS = "/api/snapmirror/relationships"


def connection_env(simulator: OntapSimulator, *, password: str | None = None, **extra: object) -> str:
    """The ``AIRFLOW_CONN_*`` value of a ``netapp_ontap`` connection to ``simulator``."""
    return json.dumps(
        {
            "conn_type": "netapp_ontap",
            "host": simulator.url,
            "login": simulator.username,
            "password": simulator.password if password is None else password,
            "extra": {"ca_certificate": simulator.ca_pem, **extra},
        }
    )


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (briefly sleeping) until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def only_event(trigger: NetAppTrigger) -> dict[str, Any]:
    """Run a trigger to its end; check that it yields exactly one event and return its payload."""
    events = [event async for event in trigger.run()]
    assert len(events) == 1
    payload = events[0].payload
    assert isinstance(payload, dict)
    return payload


def polls(simulator: OntapSimulator) -> list[str]:
    """The batched relationship reads the simulated cluster has received."""
    return simulator.backend.requests_matching("GET", RELATIONSHIPS + "?")


def logged(entries: list[dict[str, Any]]) -> str:
    """The text of captured log entries, one per line."""
    return "\n".join(str(entry.get("event")) for entry in entries)


class MemoryStateStore:
    """Airflow's ``task_state_store`` (get/set of JSON values), kept in a dict for operator tests."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return json.loads(json.dumps(self.values[key])) if key in self.values else default

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        self.values[key] = json.loads(json.dumps(value))  # what Airflow stores is JSON


def task_context(store: MemoryStateStore, try_number: int = 1) -> dict[str, Any]:
    """The parts of an Airflow task context the SnapMirror operator reads."""
    ti = SimpleNamespace(dag_id="dag", task_id="update", run_id="run", map_index=-1, try_number=try_number)
    return {"ti": ti, "task_state_store": store}
