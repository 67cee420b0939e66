"""kube-scheduler for a one-node cluster: a pod gets the node once every claim it mounts can be used.

As the real scheduler's volume binding: a claim that does not exist, is being deleted, or is unbound
with an Immediate class leaves the pod Pending with a FailedScheduling event; an unbound
WaitForFirstConsumer claim gets the node as ``selected-node`` and the pod waits, silently, until the
provisioner has bound it.
"""

from __future__ import annotations

from . import events, kinds
from .controllers import Gates
from .meta import JSON, annotations_of, dig, metadata
from .models import KubernetesBackend
from .pod_status import set_condition
from .provisioner import SELECTED_NODE, SIMULATED_NODE

SCHEDULER = "default-scheduler"
_WAIT = ""  # the pod waits for volume binding: no event, as the scheduler's binding cycle


def reconcile_scheduling(backend: KubernetesBackend, gates: Gates) -> None:
    """Bind every schedulable pending pod to the node; report the others."""
    for pod in backend.objects(kinds.PODS):
        meta = metadata(pod)
        if dig(pod, "spec", "nodeName") or meta.get("deletionTimestamp"):
            continue
        if dig(pod, "status", "phase") not in (None, "Pending"):
            continue
        problem = _volume_problem(backend, pod)
        if problem is None:
            gates.done("schedule-event", meta["uid"])
            _bind(backend, pod)
        elif problem != _WAIT:
            _report(backend, gates, pod, problem)


def _volume_problem(backend: KubernetesBackend, pod: JSON) -> str | None:
    namespace = metadata(pod)["namespace"]
    waiting = False
    for volume in dig(pod, "spec", "volumes") or []:
        name = dig(volume, "persistentVolumeClaim", "claimName")
        if not name:
            continue
        claim = backend.find(kinds.PVCS, namespace, name)
        if claim is None:
            return f'persistentvolumeclaim "{name}" not found'
        if metadata(claim).get("deletionTimestamp"):
            return f'persistentvolumeclaim "{name}" is being deleted'
        if dig(claim, "status", "phase") == "Bound":
            continue
        class_name = dig(claim, "spec", "storageClassName") or ""
        storage_class = backend.find(kinds.STORAGE_CLASSES, None, class_name) if class_name else None
        if storage_class is None or storage_class.get("volumeBindingMode") != "WaitForFirstConsumer":
            return "pod has unbound immediate PersistentVolumeClaims"
        if SELECTED_NODE not in annotations_of(claim):
            backend.mutate(
                kinds.PVCS,
                namespace,
                name,
                lambda c: annotations_of(c).update({SELECTED_NODE: SIMULATED_NODE}),
            )
        waiting = True
    return _WAIT if waiting else None


def _report(backend: KubernetesBackend, gates: Gates, pod: JSON, problem: str) -> None:
    meta = metadata(pod)
    message = (
        f"0/1 nodes are available: {problem}. preemption: 0/1 nodes are available: "
        "1 Preemption is not helpful for scheduling."
    )
    backend.mutate(
        kinds.PODS,
        meta["namespace"],
        meta["name"],
        lambda p: set_condition(p, "PodScheduled", "False", "Unschedulable", message),
    )
    # The scheduler retries with a backoff; the repeats count up on one Event.
    if gates.ready("schedule-event", meta["uid"], 0):
        gates.retry("schedule-event", meta["uid"], backend.pods.defaults.scheduling_event_seconds)
        events.record(backend, pod, "Warning", "FailedScheduling", message, SCHEDULER)


def _bind(backend: KubernetesBackend, pod: JSON) -> None:
    meta = metadata(pod)

    def assign(p: JSON) -> None:
        p.setdefault("spec", {})["nodeName"] = SIMULATED_NODE
        set_condition(p, "PodScheduled", "True")

    backend.mutate(kinds.PODS, meta["namespace"], meta["name"], assign)
    events.record(
        backend,
        pod,
        "Normal",
        "Scheduled",
        f"Successfully assigned {meta['namespace']}/{meta['name']} to {SIMULATED_NODE}",
        SCHEDULER,
    )
