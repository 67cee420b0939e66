"""``on_kill`` of the SnapMirror trigger: what each task state Airflow reports does to the transfer.

Airflow's supervisor channel is stood in for (the ``supervisor`` fixture answers the trigger's
``get_task_states`` question); the trigger and the cluster (the simulator) are real. The table
these rows check is in docs/semantics.md.
"""

from __future__ import annotations

import pytest
from airflow_side import ABSENT, SupervisorStub, trigger_task_instance
from snapmirror_testkit import CONN_ID

from netapp_dataops_airflow.simulators.ontap import OntapSimulator
from netapp_dataops_airflow.triggers.snapmirror import SnapMirrorTransferTrigger

# Every state Airflow 3.3 has for a task instance, None (no status: cleared) included, and whether
# on_kill aborts the transfer in it. Only "failed" (the user marked it so) cancels.
STATES: list[tuple[str | None, bool]] = [
    ("failed", True),
    ("success", False),
    ("deferred", False),
    (None, False),
    ("scheduled", False),
    ("queued", False),
    ("running", False),
    ("restarting", False),
    ("up_for_retry", False),
    ("up_for_reschedule", False),
    ("upstream_failed", False),
    ("skipped", False),
    ("removed", False),
    ("awaiting_input", False),
    (ABSENT, False),
]


def started(ontap: OntapSimulator) -> SnapMirrorTransferTrigger:
    """Start a transfer (an hour long) and return the trigger a triggerer would run for it."""
    relationship = ontap.backend.add_relationship("src:vol", "dst:vol")
    transfer = ontap.backend.start_transfer(relationship.uuid)
    trigger = SnapMirrorTransferTrigger(CONN_ID, relationship.uuid, transfer.uuid, poll_interval=1.0)
    trigger.task_instance = trigger_task_instance()
    return trigger


@pytest.mark.parametrize(("state", "aborts"), STATES, ids=[str(state) for state, _ in STATES])
async def test_each_task_state_aborts_or_keeps_the_transfer(
    ontap: OntapSimulator, supervisor: SupervisorStub, state: str | None, aborts: bool
) -> None:
    trigger = started(ontap)
    supervisor.state = state
    await trigger.on_kill()
    transfer = ontap.backend.get_transfer(trigger.relationship_uuid, trigger.transfer_uuid)
    assert transfer.state == ("aborted" if aborts else "transferring")
    assert len(ontap.backend.requests_matching("PATCH")) == (1 if aborts else 0)
    [asked] = supervisor.asked
    assert (asked.dag_id, asked.task_ids, asked.run_ids, asked.map_index) == ("dag", ["task"], ["run"], -1)


async def test_a_failed_lookup_keeps_the_transfer(ontap: OntapSimulator, supervisor: SupervisorStub) -> None:
    trigger = started(ontap)
    supervisor.failure = ConnectionError("the triggerer lost its supervisor")
    await trigger.on_kill()
    assert ontap.backend.get_transfer(trigger.relationship_uuid, trigger.transfer_uuid).active
    assert ontap.backend.requests_matching("PATCH") == []


async def test_marking_failed_leaves_a_succeeded_transfer_as_it_is(
    ontap: OntapSimulator, supervisor: SupervisorStub
) -> None:
    """The transfer ended on another triggerer's watch: ONTAP refuses the abort, the success stands."""
    trigger = started(ontap)
    ontap.backend.advance(3600)
    supervisor.state = "failed"
    await trigger.on_kill()
    assert ontap.backend.get_transfer(trigger.relationship_uuid, trigger.transfer_uuid).state == "success"
    assert len(ontap.backend.requests_matching("PATCH")) == 1  # sent, and refused as too late
