"""``on_kill`` of the snapshot and claim triggers: what each task state Airflow reports does.

Airflow's supervisor channel is stood in for (the ``supervisor`` fixture answers the trigger's
``get_task_states`` question); the triggers and the cluster (the simulator) are real. The table
these rows check is in docs/semantics.md.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from netapp_dataops_airflow.clients.kubernetes import (
    PERSISTENT_VOLUME_CLAIMS,
    VOLUME_SNAPSHOTS,
    KubernetesClient,
)
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, kinds
from netapp_dataops_airflow.triggers.kubernetes import (
    PersistentVolumeClaimBoundTrigger,
    VolumeSnapshotReadyTrigger,
)
from tests.helpers.airflow import KILL_STATES, SupervisorStub, trigger_task_instance
from tests.helpers.kubernetes import alive, claim_body, snapshot_body

pytestmark = pytest.mark.timeout(60)


async def pending_snapshot(sim: KubernetesSimulator, client: KubernetesClient, **options: Any) -> str:
    """Create VolumeSnapshot ``snap`` that the controller will not make ready; return its uid."""
    sim.backend.timing.update(snapshot=3600.0)
    created = await client.create(VOLUME_SNAPSHOTS, snapshot_body("snap", "data"), "default")
    return str(created["metadata"]["uid"])


def snapshot_trigger(uid: str, *, map_index: int = -1) -> VolumeSnapshotReadyTrigger:
    """The trigger as a triggerer runs it: with the task instance whose state on_kill asks for."""
    trigger = VolumeSnapshotReadyTrigger(name="snap", namespace="default", uid=uid)
    trigger.task_instance = trigger_task_instance(map_index)
    return trigger


@pytest.mark.parametrize(("state", "cancels"), KILL_STATES, ids=[str(state) for state, _ in KILL_STATES])
async def test_each_task_state_deletes_or_keeps_the_snapshot(
    seeded_kubernetes: KubernetesSimulator,
    client: KubernetesClient,
    supervisor: SupervisorStub,
    state: str | None,
    cancels: bool,
) -> None:
    uid = await pending_snapshot(seeded_kubernetes, client)
    supervisor.state = state
    await snapshot_trigger(uid).on_kill()
    assert await alive(client, VOLUME_SNAPSHOTS, "snap") is not cancels
    [asked] = supervisor.asked
    assert (asked.dag_id, asked.task_ids, asked.run_ids, asked.map_index) == ("dag", ["task"], ["run"], -1)


async def test_a_mapped_task_is_looked_up_by_its_map_index(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient, supervisor: SupervisorStub
) -> None:
    uid = await pending_snapshot(seeded_kubernetes, client)
    supervisor.state = "failed"
    await snapshot_trigger(uid, map_index=3).on_kill()
    assert not await alive(client, VOLUME_SNAPSHOTS, "snap")
    assert supervisor.asked[0].map_index == 3


async def test_a_failed_lookup_keeps_the_snapshot(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient, supervisor: SupervisorStub
) -> None:
    uid = await pending_snapshot(seeded_kubernetes, client)
    supervisor.failure = ConnectionError("the triggerer lost its supervisor")
    await snapshot_trigger(uid).on_kill()
    assert await alive(client, VOLUME_SNAPSHOTS, "snap")


async def test_marking_failed_never_deletes_a_ready_snapshot(
    client: KubernetesClient, supervisor: SupervisorStub
) -> None:
    uid = str(
        (await client.create(VOLUME_SNAPSHOTS, snapshot_body("snap", "data"), "default"))["metadata"]["uid"]
    )
    waited = [event.payload async for event in snapshot_trigger(uid).run()]
    assert waited[0]["status"] == "success"
    supervisor.state = "failed"
    await snapshot_trigger(uid).on_kill()  # e.g. the copy on a triggerer that did not see it fire
    snapshot = await client.get(VOLUME_SNAPSHOTS, "snap", "default")
    assert snapshot["status"]["readyToUse"] is True
    assert "deletionTimestamp" not in snapshot["metadata"]


async def test_a_snapshot_that_becomes_ready_while_the_delete_is_on_its_way_is_kept(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient, supervisor: SupervisorStub
) -> None:
    """The delete carries the resourceVersion read just before; a snapshot ready since is not deleted."""
    uid = await pending_snapshot(seeded_kubernetes, client)
    supervisor.state = "failed"
    seeded_kubernetes.backend.faults.stall_requests(
        2.0, method="DELETE"
    )  # the delete is in flight for a while
    killing = asyncio.ensure_future(snapshot_trigger(uid).on_kill())

    def deletes() -> int:
        return int(
            seeded_kubernetes.backend.stats.to_json()["requests"]["byVerb"].get("delete volumesnapshots", 0)
        )

    while deletes() == 0:
        assert not killing.done()
        await asyncio.sleep(0.01)
    # Meanwhile the snapshot controller finishes the snapshot.
    seeded_kubernetes.backend.mutate(
        kinds.SNAPSHOTS, "default", "snap", lambda obj: obj.update(status={"readyToUse": True})
    )
    await killing
    snapshot = await client.get(VOLUME_SNAPSHOTS, "snap", "default")
    assert snapshot["status"]["readyToUse"] is True
    assert "deletionTimestamp" not in snapshot["metadata"]
    assert deletes() == 1


async def test_marking_failed_deletes_a_pending_clone_but_never_a_bound_one(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient, supervisor: SupervisorStub
) -> None:
    supervisor.state = "failed"
    bound = await client.create(PERSISTENT_VOLUME_CLAIMS, claim_body("bound"), "default")
    trigger = PersistentVolumeClaimBoundTrigger(
        name="bound", namespace="default", uid=bound["metadata"]["uid"]
    )
    assert [event.payload["status"] async for event in trigger.run()] == ["success"]
    seeded_kubernetes.backend.timing.update(provisioning=3600.0)
    pending = await client.create(PERSISTENT_VOLUME_CLAIMS, claim_body("pending"), "default")

    for name, created in (("bound", bound), ("pending", pending)):
        killed = PersistentVolumeClaimBoundTrigger(
            name=name, namespace="default", uid=created["metadata"]["uid"]
        )
        killed.task_instance = trigger_task_instance()
        await killed.on_kill()

    assert await alive(client, PERSISTENT_VOLUME_CLAIMS, "bound")
    assert not await alive(client, PERSISTENT_VOLUME_CLAIMS, "pending")
