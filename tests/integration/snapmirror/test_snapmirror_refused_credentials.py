"""A 401 or 403 while waiting: the trigger reads its connection again and tries once more."""

from __future__ import annotations

import json
from collections.abc import Callable, MutableMapping
from typing import Any

import pytest
import structlog.testing

from netapp_dataops_airflow.simulators.ontap import OntapSimulator
from netapp_dataops_airflow.triggers.snapmirror import SnapMirrorTransferTrigger
from tests.helpers.airflow import logged, only_event
from tests.helpers.connections import ontap_fields
from tests.helpers.ontap import CONN_ID, polls

pytestmark = pytest.mark.usefixtures("ontap_sim_connection")

RETRY_LINE = "reading the connection again and retrying once"


def waiting_trigger(ontap: OntapSimulator) -> SnapMirrorTransferTrigger:
    relationship = ontap.backend.add_relationship("src:vol", "dst:vol", size_bytes=4096)
    transfer = ontap.backend.start_transfer(relationship.uuid)
    ontap.backend.advance(3600)  # it succeeds: the wait ends at the first poll that gets through
    return SnapMirrorTransferTrigger(CONN_ID, relationship.uuid, transfer.uuid, poll_interval=1.0)


async def test_a_connection_fixed_after_a_401_is_used_by_the_second_attempt(
    slow_ontap: OntapSimulator, airflow_connection: Callable[..., str]
) -> None:
    """The password was rotated; the connection is fixed by the time the trigger reads it again."""
    airflow_connection(CONN_ID, **ontap_fields(slow_ontap, password="wrong-" + slow_ontap.password))

    def fix_the_connection_meanwhile(_: Any, __: str, event: MutableMapping[str, Any]) -> Any:
        if RETRY_LINE in str(event.get("event")):
            airflow_connection(CONN_ID, **ontap_fields(slow_ontap))
        return event

    trigger = waiting_trigger(slow_ontap)
    with structlog.testing.capture_logs(processors=[fix_the_connection_meanwhile]) as entries:
        event = await only_event(trigger)
    assert event["status"] == "success", event
    assert f"connection {CONN_ID!r}: refused (HTTP 401); {RETRY_LINE}" in logged(entries)
    assert len(polls(slow_ontap)) == 2  # refused once, then through


@pytest.mark.parametrize("status", [401, 403])
async def test_credentials_refused_twice_end_the_wait_naming_the_connection(
    slow_ontap: OntapSimulator, status: int
) -> None:
    trigger = waiting_trigger(slow_ontap)
    slow_ontap.backend.inject_fault(
        "error", status=status, code="6", message="User is not authorized.", method="GET", times=-1
    )
    with structlog.testing.capture_logs() as entries:
        event = await only_event(trigger)
    assert event["status"] == "error"
    message = event["message"]
    assert f"connection {CONN_ID!r}: credentials or permissions rejected (HTTP {status}) twice" in message
    assert "after reading the connection again" in message
    assert logged(entries).count(RETRY_LINE) == 1
    assert len(polls(slow_ontap)) == 2  # one attempt, then exactly one more
    assert slow_ontap.password not in json.dumps(event) + logged(entries)
