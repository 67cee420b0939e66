"""``meta.k8s.io/v1`` Table output for kubectl get, with the columns the real printers use."""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from typing import Any

from . import kinds
from .kinds import Kind
from .meta import JSON, dig, metadata

Cell = Callable[[JSON], Any]
_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def age(obj: JSON) -> str:
    """How old an object is, as kubectl's ``HumanDuration`` prints it (``5m``, ``3h20m``, ``2d``)."""
    stamp = metadata(obj).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    seconds = int(time.time() - calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))
    if seconds < -1:
        return "<invalid>"
    seconds = max(seconds, 0)
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    return f"{hours}h" if hours < 48 else f"{hours // 24}d"


def _modes(modes: list[str] | None) -> str:
    return ",".join(_MODES.get(m, m) for m in modes or [])


def _text(*path: str) -> Cell:
    return lambda obj: "" if dig(obj, *path) is None else dig(obj, *path)


def _name(obj: JSON) -> str:
    return str(metadata(obj).get("name", ""))


def _claim(obj: JSON) -> str:
    ref = dig(obj, "spec", "claimRef")
    return f"{ref.get('namespace')}/{ref.get('name')}" if ref else ""


def _pod_ready(obj: JSON) -> str:
    statuses = dig(obj, "status", "containerStatuses") or []
    ready = sum(1 for status in statuses if status.get("ready"))
    return f"{ready}/{len(dig(obj, 'spec', 'containers') or [])}"


def _pod_status(obj: JSON) -> str:
    """Derive the STATUS column as kubectl's pod printer does: a container's reason beats the phase."""
    if metadata(obj).get("deletionTimestamp"):
        return "Terminating"
    reason = str(dig(obj, "status", "reason") or dig(obj, "status", "phase") or "")
    running = False
    for status in reversed(dig(obj, "status", "containerStatuses") or []):
        state = status.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            terminated = state["terminated"]
            reason = terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}"
        elif "running" in state and status.get("ready"):
            running = True
    if reason == "Completed" and running:
        reason = "Running"
    return reason


def _annotation_class(obj: JSON) -> str:
    is_default = (metadata(obj).get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class")
    return f"{_name(obj)} (default)" if is_default == "true" else _name(obj)


# (name, type, cell, priority) per kind; Name and Age come first and last unless a kind places them.
_COLUMNS: dict[Kind, list[tuple[str, str, Cell, int]]] = {
    kinds.PVCS: [
        ("Status", "string", _text("status", "phase"), 0),
        ("Volume", "string", _text("spec", "volumeName"), 0),
        ("Capacity", "string", _text("status", "capacity", "storage"), 0),
        ("Access Modes", "string", lambda o: _modes(dig(o, "status", "accessModes")), 0),
        ("StorageClass", "string", _text("spec", "storageClassName"), 0),
        (
            "VolumeAttributesClass",
            "string",
            lambda o: dig(o, "spec", "volumeAttributesClassName") or "<unset>",
            0,
        ),
        ("Age", "string", age, 0),
        ("VolumeMode", "string", _text("spec", "volumeMode"), 1),
    ],
    kinds.PVS: [
        ("Capacity", "string", _text("spec", "capacity", "storage"), 0),
        ("Access Modes", "string", lambda o: _modes(dig(o, "spec", "accessModes")), 0),
        ("Reclaim Policy", "string", _text("spec", "persistentVolumeReclaimPolicy"), 0),
        ("Status", "string", _text("status", "phase"), 0),
        ("Claim", "string", _claim, 0),
        ("StorageClass", "string", _text("spec", "storageClassName"), 0),
        (
            "VolumeAttributesClass",
            "string",
            lambda o: dig(o, "spec", "volumeAttributesClassName") or "<unset>",
            0,
        ),
        ("Reason", "string", _text("status", "reason"), 0),
        ("Age", "string", age, 0),
        ("VolumeMode", "string", _text("spec", "volumeMode"), 1),
    ],
    kinds.STORAGE_CLASSES: [
        ("Provisioner", "string", _text("provisioner"), 0),
        ("ReclaimPolicy", "string", _text("reclaimPolicy"), 0),
        ("VolumeBindingMode", "string", _text("volumeBindingMode"), 0),
        ("AllowVolumeExpansion", "boolean", lambda o: bool(o.get("allowVolumeExpansion")), 0),
        ("Age", "string", age, 0),
    ],
    kinds.SNAPSHOTS: [
        ("ReadyToUse", "boolean", _text("status", "readyToUse"), 0),
        ("SourcePVC", "string", _text("spec", "source", "persistentVolumeClaimName"), 0),
        ("SourceSnapshotContent", "string", _text("spec", "source", "volumeSnapshotContentName"), 0),
        ("RestoreSize", "string", _text("status", "restoreSize"), 0),
        ("SnapshotClass", "string", _text("spec", "volumeSnapshotClassName"), 0),
        ("SnapshotContent", "string", _text("status", "boundVolumeSnapshotContentName"), 0),
        (
            "CreationTime",
            "date",
            lambda o: (
                age({"metadata": {"creationTimestamp": dig(o, "status", "creationTime")}})
                if dig(o, "status", "creationTime")
                else ""
            ),
            0,
        ),
        ("Age", "date", age, 0),
    ],
    kinds.CONTENTS: [
        ("ReadyToUse", "boolean", _text("status", "readyToUse"), 0),
        ("RestoreSize", "integer", _text("status", "restoreSize"), 0),
        ("DeletionPolicy", "string", _text("spec", "deletionPolicy"), 0),
        ("Driver", "string", _text("spec", "driver"), 0),
        ("VolumeSnapshotClass", "string", _text("spec", "volumeSnapshotClassName"), 0),
        ("VolumeSnapshot", "string", _text("spec", "volumeSnapshotRef", "name"), 0),
        ("VolumeSnapshotNamespace", "string", _text("spec", "volumeSnapshotRef", "namespace"), 0),
        ("Age", "date", age, 0),
    ],
    kinds.SNAPSHOT_CLASSES: [
        ("Driver", "string", _text("driver"), 0),
        ("DeletionPolicy", "string", _text("deletionPolicy"), 0),
        ("Age", "date", age, 0),
    ],
    kinds.NAMESPACES: [("Status", "string", _text("status", "phase"), 0), ("Age", "string", age, 0)],
    kinds.PODS: [
        ("Ready", "string", _pod_ready, 0),
        ("Status", "string", _pod_status, 0),
        ("Restarts", "string", lambda o: "0", 0),
        ("Age", "string", age, 0),
        ("IP", "string", lambda o: dig(o, "status", "podIP") or "<none>", 1),
        ("Node", "string", lambda o: dig(o, "spec", "nodeName") or "<none>", 1),
    ],
    kinds.EVENTS: [
        (
            "Last Seen",
            "string",
            lambda o: age({"metadata": {"creationTimestamp": o.get("lastTimestamp")}}),
            0,
        ),
        ("Type", "string", _text("type"), 0),
        ("Reason", "string", _text("reason"), 0),
        (
            "Object",
            "string",
            lambda o: f"{str(dig(o, 'involvedObject', 'kind')).lower()}/{dig(o, 'involvedObject', 'name')}",
            0,
        ),
        ("Message", "string", _text("message"), 0),
    ],
}


def _columns(kind: Kind) -> list[tuple[str, str, Cell, int]]:
    name_cell: Cell = _annotation_class if kind is kinds.STORAGE_CLASSES else _name
    return [("Name", "string", name_cell, 0), *_COLUMNS.get(kind, [("Age", "string", age, 0)])]


def _row(kind: Kind, obj: JSON) -> JSON:
    partial = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata(obj)}
    return {"cells": [cell(obj) for _, _, cell, _ in _columns(kind)], "object": partial}


def table(
    kind: Kind, objects: list[JSON], resource_version: str, *, headers: bool = True, continue_token: str = ""
) -> JSON:
    """Build a Table of ``objects``; ``headers=False`` leaves the column definitions out (watch events)."""
    definitions = (
        [
            {
                "name": name,
                "type": kind_,
                "format": "name" if name == "Name" else "",
                "description": name,
                "priority": priority,
            }
            for name, kind_, _, priority in _columns(kind)
        ]
        if headers
        else []
    )
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version, "continue": continue_token},
        "columnDefinitions": definitions,
        "rows": [_row(kind, obj) for obj in objects],
    }
