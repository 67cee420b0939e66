"""The snapshot operator at its deadline, and its retries, driven step by step against the simulator.

The operator runs as a worker runs it; the trigger runs as ``dag.test()`` runs it, in an event loop
of its own; between the two the test changes the cluster. Airflow's task context is stood in for.
"""

from __future__ import annotations

from typing import Any

import pytest

from netapp_dataops_airflow.exceptions import DeadlineExceededError, NetAppDataOpsError
from netapp_dataops_airflow.operators.kubernetes import STATE_KEY, VolumeSnapshotOperator
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, kinds
from netapp_dataops_airflow.triggers.kubernetes import VolumeSnapshotReadyTrigger
from tests.helpers.airflow import MemoryStateStore, deferred, event_as_stored, task_context

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def snapshots_never_ready_by_themselves(seeded_kubernetes: KubernetesSimulator) -> None:
    """In this module the snapshots of ``seeded_kubernetes`` become ready only when a test says so."""
    seeded_kubernetes.backend.timing.update(snapshot=3600.0)


def past_its_deadline() -> tuple[VolumeSnapshotOperator, dict[str, Any], dict[str, Any]]:
    """A task that snapshots ``data`` as ``slow`` within 0.3 s, its context, and its trigger's event."""
    context = task_context(MemoryStateStore(), task_id="snap")
    op = VolumeSnapshotOperator(task_id="snap", pvc="data", snapshot="slow", deadline=0.3)
    return op, context, event_as_stored(deferred(op, context, VolumeSnapshotReadyTrigger))


def snapshot(sim: KubernetesSimulator, name: str = "slow") -> dict[str, Any] | None:
    return sim.backend.find(kinds.SNAPSHOTS, "default", name)


def test_a_snapshot_ready_just_after_the_deadline_is_the_result(
    seeded_kubernetes: KubernetesSimulator,
) -> None:
    op, context, event = past_its_deadline()
    assert event["status"] == "timeout"
    # The controller finishes it before the worker resumes the task.
    seeded_kubernetes.backend.mutate(
        kinds.SNAPSHOTS, "default", "slow", lambda obj: obj.update(status={"readyToUse": True})
    )
    result = op.execute_complete(context, event=event)  # type: ignore[arg-type]
    assert (result["name"], result["ready_to_use"], result["uid"]) == ("slow", True, event["uid"])
    kept = snapshot(seeded_kubernetes)
    assert kept is not None
    assert "deletionTimestamp" not in kept["metadata"]


def test_a_snapshot_still_pending_at_the_deadline_is_deleted(seeded_kubernetes: KubernetesSimulator) -> None:
    op, context, event = past_its_deadline()
    with pytest.raises(DeadlineExceededError, match="did not finish by its deadline"):
        op.execute_complete(context, event=event)  # type: ignore[arg-type]
    left = snapshot(seeded_kubernetes)
    assert left is None or "deletionTimestamp" in left["metadata"]


def test_a_delete_that_cannot_be_sent_fails_the_task_saying_so(
    seeded_kubernetes: KubernetesSimulator,
) -> None:
    op, context, event = past_its_deadline()
    seeded_kubernetes.backend.faults.drop_connections(times=1000)  # the API server is unreachable from now on
    with pytest.raises(DeadlineExceededError, match="cancelling it was not confirmed") as failed:
        op.execute_complete(context, event=event)  # type: ignore[arg-type]
    assert "cannot reach the Kubernetes API" in str(failed.value)
    seeded_kubernetes.backend.faults.clear()
    left = snapshot(seeded_kubernetes)
    assert left is not None
    assert "deletionTimestamp" not in left["metadata"]


def test_a_retry_after_an_error_event_continues_with_its_own_snapshot(
    seeded_kubernetes: KubernetesSimulator,
) -> None:
    """Ownership comes from the object's annotation, re-read by every try: an error changes nothing."""
    store = MemoryStateStore()
    op = VolumeSnapshotOperator(task_id="snap", pvc="data", snapshot="slow")
    first = deferred(op, task_context(store, task_id="snap"), VolumeSnapshotReadyTrigger)
    error = {
        "status": "error",
        "message": "connection 'kubernetes_default': HTTP 401",
        **first.ids(),
        "result": {},
    }
    with pytest.raises(NetAppDataOpsError, match="HTTP 401"):
        op.execute_complete(task_context(store, task_id="snap"), event=error)  # type: ignore[arg-type]

    second = deferred(op, task_context(store, try_number=2, task_id="snap"), VolumeSnapshotReadyTrigger)
    assert (second.uid, second.cancel_on_kill) == (first.uid, True)
    assert store.values[STATE_KEY]["created_by_task"] is True
    assert [
        obj["metadata"]["name"] for obj in seeded_kubernetes.backend.objects(kinds.SNAPSHOTS, "default")
    ] == ["slow"]
