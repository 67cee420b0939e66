"""Pod status stanzas as the kubelet writes them: conditions and container states."""

from __future__ import annotations

import time

from .meta import JSON, now
from .workloads import container_id, image_id

CONDITION_ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


def stamp(wall: float) -> str:
    """``wall`` (seconds since the epoch) as metav1.Time marshals it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))


def set_condition(
    pod: JSON, kind: str, status: str, reason: str | None = None, message: str | None = None
) -> None:
    """Set condition ``kind``; its lastTransitionTime moves only when its status changes."""
    pod_status = pod.setdefault("status", {})
    conditions = {c["type"]: c for c in pod_status.get("conditions") or []}
    old = conditions.get(kind)
    condition: JSON = {
        "type": kind,
        "status": status,
        "lastProbeTime": None,
        "lastTransitionTime": old["lastTransitionTime"] if old and old["status"] == status else now(),
    }
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    conditions[kind] = condition
    pod_status["conditions"] = sorted(
        conditions.values(),
        key=lambda c: CONDITION_ORDER.index(c["type"]) if c["type"] in CONDITION_ORDER else 99,
    )


def waiting(pod: JSON, container: JSON, reason: str) -> JSON:
    """Build the status of a container that has not started (``ContainerCreating``, ``PodInitializing``)."""
    return {
        "name": container["name"],
        "image": container.get("image", ""),
        "imageID": "",
        "ready": False,
        "restartCount": 0,
        "started": False,
        "state": {"waiting": {"reason": reason}},
        "lastState": {},
    }


def running(pod: JSON, container: JSON, started: float) -> JSON:
    """Build the status of a running container."""
    image = container.get("image", "")
    return {
        "name": container["name"],
        "image": image,
        "imageID": image_id(image),
        "containerID": container_id(pod, container["name"]),
        "ready": True,
        "restartCount": 0,
        "started": True,
        "state": {"running": {"startedAt": stamp(started)}},
        "lastState": {},
    }


def terminated(pod: JSON, container: JSON, exit_code: int, started: float, finished: float) -> JSON:
    """Build the status of a container that exited: reason Completed for exit code 0, Error otherwise."""
    image = container.get("image", "")
    ident = container_id(pod, container["name"])
    return {
        "name": container["name"],
        "image": image,
        "imageID": image_id(image),
        "containerID": ident,
        "ready": False,
        "restartCount": 0,
        "started": False,
        "state": {
            "terminated": {
                "exitCode": exit_code,
                "reason": "Completed" if exit_code == 0 else "Error",
                "startedAt": stamp(started),
                "finishedAt": stamp(finished),
                "containerID": ident,
            }
        },
        "lastState": {},
    }


def exit_code_of(status: JSON) -> int | None:
    """Return the exit code of a terminated container status, None while it has not exited."""
    code = (status.get("state") or {}).get("terminated", {}).get("exitCode")
    return None if code is None else int(code)
