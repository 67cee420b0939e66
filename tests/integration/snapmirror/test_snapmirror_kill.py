"""``on_kill`` of the SnapMirror trigger: what each task state Airflow reports does to the transfer.

Airflow's supervisor channel is stood in for (the ``supervisor`` fixture answers the trigger's
``get_task_states`` question); the trigger and the cluster (the simulator) are real. The table
these rows check is in docs/semantics.md.
"""

from __future__ import annotations

import asyncio

import pytest

from netapp_dataops_airflow.simulators.ontap import OntapSimulator
from netapp_dataops_airflow.triggers.snapmirror import SnapMirrorTransferTrigger
from tests.helpers.airflow import KILL_STATES, SupervisorStub, trigger_task_instance
from tests.helpers.ontap import CONN_ID
from tests.helpers.waiting import until

pytestmark = pytest.mark.usefixtures("ontap_sim_connection")


def started(ontap: OntapSimulator) -> SnapMirrorTransferTrigger:
    """Start a transfer (an hour long) and return the trigger a triggerer would run for it."""
    relationship = ontap.backend.add_relationship("src:vol", "dst:vol")
    transfer = ontap.backend.start_transfer(relationship.uuid)
    trigger = SnapMirrorTransferTrigger(CONN_ID, relationship.uuid, transfer.uuid, poll_interval=1.0)
    trigger.task_instance = trigger_task_instance()
    return trigger


@pytest.mark.parametrize(("state", "aborts"), KILL_STATES, ids=[str(state) for state, _ in KILL_STATES])
async def test_each_task_state_aborts_or_keeps_the_transfer(
    slow_ontap: OntapSimulator, supervisor: SupervisorStub, state: str | None, aborts: bool
) -> None:
    trigger = started(slow_ontap)
    supervisor.state = state
    await trigger.on_kill()
    transfer = slow_ontap.backend.get_transfer(trigger.relationship_uuid, trigger.transfer_uuid)
    assert transfer.state == ("aborted" if aborts else "transferring")
    assert len(slow_ontap.backend.requests_matching("PATCH")) == (1 if aborts else 0)
    [asked] = supervisor.asked
    assert (asked.dag_id, asked.task_ids, asked.run_ids, asked.map_index) == ("dag", ["task"], ["run"], -1)


async def test_a_failed_lookup_keeps_the_transfer(
    slow_ontap: OntapSimulator, supervisor: SupervisorStub
) -> None:
    trigger = started(slow_ontap)
    supervisor.failure = ConnectionError("the triggerer lost its supervisor")
    await trigger.on_kill()
    assert slow_ontap.backend.get_transfer(trigger.relationship_uuid, trigger.transfer_uuid).active
    assert slow_ontap.backend.requests_matching("PATCH") == []


async def test_marking_failed_leaves_a_succeeded_transfer_as_it_is(
    slow_ontap: OntapSimulator, supervisor: SupervisorStub
) -> None:
    """The transfer ended on another triggerer's watch: ONTAP refuses the abort, the success stands."""
    trigger = started(slow_ontap)
    slow_ontap.backend.advance(3600)
    supervisor.state = "failed"
    await trigger.on_kill()
    assert (
        slow_ontap.backend.get_transfer(trigger.relationship_uuid, trigger.transfer_uuid).state == "success"
    )
    assert len(slow_ontap.backend.requests_matching("PATCH")) == 1  # sent, and refused as too late


async def test_a_second_cancel_while_the_state_is_read_does_not_lose_the_abort(
    slow_ontap: OntapSimulator, supervisor: SupervisorStub
) -> None:
    """Airflow's triggerer cancels the trigger again while ``on_kill`` waits for the task's state,
    and swallows the ``CancelledError`` that raises in ``on_kill``: the abort must be sent anyway.
    """
    trigger = started(slow_ontap)
    supervisor.state = "failed"
    supervisor.answering.clear()
    killing = asyncio.ensure_future(trigger.on_kill())
    await until(lambda: bool(supervisor.asked), what="on_kill asking for the task's state")
    killing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await killing
    supervisor.answering.set()
    await until(
        lambda: not slow_ontap.backend.get_transfer(trigger.relationship_uuid, trigger.transfer_uuid).active,
        what="the transfer being aborted",
    )
    assert (
        slow_ontap.backend.get_transfer(trigger.relationship_uuid, trigger.transfer_uuid).state == "aborted"
    )
    assert len(slow_ontap.backend.requests_matching("PATCH")) == 1
