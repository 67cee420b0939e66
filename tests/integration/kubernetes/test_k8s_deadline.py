"""The snapshot operator at its deadline, and its retries, driven step by step against the simulator.

The operator runs as a worker runs it; the trigger runs as ``dag.test()`` runs it, in an event loop
of its own; between the two the test changes the cluster. Airflow's task context is stood in for.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred
from airflow_side import MemoryStateStore, task_context

from netapp_dataops_airflow.exceptions import DeadlineExceededError, NetAppDataOpsError
from netapp_dataops_airflow.operators.kubernetes import STATE_KEY, VolumeSnapshotOperator
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim, kinds
from netapp_dataops_airflow.triggers.kubernetes import VolumeSnapshotReadyTrigger

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def k8s(
    kubernetes_simulator: KubernetesSimulator, kubeconfig_path: Path, airflow_connection: Callable[..., str]
) -> KubernetesSimulator:
    """The simulator with a bound claim ``data`` whose snapshots never become ready by themselves."""
    kubernetes_simulator.backend.seed(*bound_claim("data"))
    kubernetes_simulator.backend.timing.update(snapshot=3600.0)
    airflow_connection("kubernetes_default", "kubernetes", extra={"kube_config_path": str(kubeconfig_path)})
    return kubernetes_simulator


def deferred(op: VolumeSnapshotOperator, context: dict[str, Any]) -> VolumeSnapshotReadyTrigger:
    """Run ``execute``, which must defer; return its trigger."""
    with pytest.raises(TaskDeferred) as deferral:
        op.execute(context)  # type: ignore[arg-type]
    trigger = deferral.value.trigger
    assert isinstance(trigger, VolumeSnapshotReadyTrigger)
    return trigger


def event_of(trigger: VolumeSnapshotReadyTrigger) -> dict[str, Any]:
    """Run the trigger to its one event, in a loop of its own; return the event as Airflow stores it."""

    async def first() -> dict[str, Any]:
        events = [event.payload async for event in trigger.run()]
        assert len(events) == 1
        return dict(events[0])

    return dict(json.loads(json.dumps(asyncio.run(first()))))


def snapshot(sim: KubernetesSimulator, name: str = "slow") -> dict[str, Any] | None:
    return sim.backend.find(kinds.SNAPSHOTS, "default", name)


def test_a_snapshot_ready_just_after_the_deadline_is_the_result(k8s: KubernetesSimulator) -> None:
    context = task_context(MemoryStateStore(), task_id="snap")
    op = VolumeSnapshotOperator(task_id="snap", pvc="data", snapshot="slow", deadline=0.3)
    event = event_of(deferred(op, context))
    assert event["status"] == "timeout"
    # The controller finishes it before the worker resumes the task.
    k8s.backend.mutate(
        kinds.SNAPSHOTS, "default", "slow", lambda obj: obj.update(status={"readyToUse": True})
    )
    result = op.execute_complete(context, event=event)  # type: ignore[arg-type]
    assert (result["name"], result["ready_to_use"], result["uid"]) == ("slow", True, event["uid"])
    kept = snapshot(k8s)
    assert kept is not None
    assert "deletionTimestamp" not in kept["metadata"]


def test_a_snapshot_still_pending_at_the_deadline_is_deleted(k8s: KubernetesSimulator) -> None:
    context = task_context(MemoryStateStore(), task_id="snap")
    op = VolumeSnapshotOperator(task_id="snap", pvc="data", snapshot="slow", deadline=0.3)
    event = event_of(deferred(op, context))
    with pytest.raises(DeadlineExceededError, match="did not finish by its deadline"):
        op.execute_complete(context, event=event)  # type: ignore[arg-type]
    left = snapshot(k8s)
    assert left is None or "deletionTimestamp" in left["metadata"]


def test_a_delete_that_cannot_be_sent_fails_the_task_saying_so(k8s: KubernetesSimulator) -> None:
    context = task_context(MemoryStateStore(), task_id="snap")
    op = VolumeSnapshotOperator(task_id="snap", pvc="data", snapshot="slow", deadline=0.3)
    event = event_of(deferred(op, context))
    k8s.backend.faults.drop_connections(times=1000)  # the API server is unreachable from now on
    with pytest.raises(DeadlineExceededError, match="cancelling it was not confirmed") as failed:
        op.execute_complete(context, event=event)  # type: ignore[arg-type]
    assert "cannot reach the Kubernetes API" in str(failed.value)
    k8s.backend.faults.clear()
    left = snapshot(k8s)
    assert left is not None
    assert "deletionTimestamp" not in left["metadata"]


def test_a_retry_after_an_error_event_continues_with_its_own_snapshot(k8s: KubernetesSimulator) -> None:
    """Ownership comes from the object's annotation, re-read by every try: an error changes nothing."""
    store = MemoryStateStore()
    op = VolumeSnapshotOperator(task_id="snap", pvc="data", snapshot="slow")
    first = deferred(op, task_context(store, task_id="snap"))
    error = {
        "status": "error",
        "message": "connection 'kubernetes_default': HTTP 401",
        **first.ids(),
        "result": {},
    }
    with pytest.raises(NetAppDataOpsError, match="HTTP 401"):
        op.execute_complete(task_context(store, task_id="snap"), event=error)  # type: ignore[arg-type]

    second = deferred(op, task_context(store, try_number=2, task_id="snap"))
    assert (second.uid, second.cancel_on_kill) == (first.uid, True)
    assert store.values[STATE_KEY]["created_by_task"] is True
    assert [obj["metadata"]["name"] for obj in k8s.backend.objects(kinds.SNAPSHOTS, "default")] == ["slow"]
