"""Kubernetes Events as controllers record them (repeats bump ``count`` on the same Event)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from . import kinds
from .meta import JSON, metadata, now

if TYPE_CHECKING:
    from .models import KubernetesBackend

PV_CONTROLLER = "persistentvolume-controller"
PROVISIONER = "csi.trident.netapp.io_trident-controller-6d5f8b7c9d-sim_5c1f7f0e"
TRIDENT_COMPONENT = "trident"
SNAPSHOT_CONTROLLER = "snapshot-controller"
SNAPSHOTTER = "csi-snapshotter csi.trident.netapp.io"
INVOLVED_UID = "involvedObject.uid"


def record(
    backend: KubernetesBackend, involved: JSON, event_type: str, reason: str, message: str, component: str
) -> None:
    """Record an Event about ``involved``; an identical earlier Event is counted up instead."""
    meta = metadata(involved)
    namespace = meta.get("namespace") or "default"
    wanted = (meta.get("uid"), reason, message, event_type, component)

    def same(event: JSON) -> bool:
        return (
            event.get("involvedObject", {}).get("uid"),
            event.get("reason"),
            event.get("message"),
            event.get("type"),
            event.get("source", {}).get("component"),
        ) == wanted

    # Looked up by involved object: a cluster with thousands of Events must not scan them all.
    if meta.get("uid") is None:
        earlier = backend.first(kinds.EVENTS, namespace, same)
    else:
        backend.ensure_index(kinds.EVENTS, INVOLVED_UID, _involved_uid)
        about = backend.find_by(kinds.EVENTS, INVOLVED_UID, str(meta["uid"]))
        earlier = next((e for e in about if metadata(e).get("namespace") == namespace and same(e)), None)
    if earlier is not None:
        backend.mutate(kinds.EVENTS, namespace, metadata(earlier)["name"], _count_up)
        return
    stamp = now()
    reference: JSON = {
        "kind": involved.get("kind"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "apiVersion": involved.get("apiVersion"),
        "resourceVersion": meta.get("resourceVersion"),
    }
    if meta.get("namespace"):
        reference["namespace"] = meta["namespace"]
    backend.insert(
        kinds.EVENTS,
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta.get('name')}.{time.time_ns():x}", "namespace": namespace},
            "involvedObject": reference,
            "reason": reason,
            "message": message,
            "source": {"component": component},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": event_type,
            "eventTime": None,
            "reportingComponent": component.split(" ")[0],
            "reportingInstance": "",
        },
    )


def _involved_uid(event: JSON) -> str | None:
    uid = (event.get("involvedObject") or {}).get("uid")
    return str(uid) if uid is not None else None


def _count_up(event: JSON) -> None:
    event["count"] = int(event.get("count") or 1) + 1
    event["lastTimestamp"] = now()
