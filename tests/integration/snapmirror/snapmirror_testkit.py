"""Helpers for the SnapMirror tests (imported by name; conftest only holds fixtures)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# Re-exported: the operator tests import them from here.
from airflow_side import MemoryStateStore as MemoryStateStore
from airflow_side import task_context as task_context

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


def logged(entries: Sequence[Mapping[str, Any]]) -> str:
    """The text of captured log entries, one per line."""
    return "\n".join(str(entry.get("event")) for entry in entries)
