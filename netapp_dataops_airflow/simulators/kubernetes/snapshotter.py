"""The CSI snapshot-controller and csi-snapshotter sidecar with Trident as the driver.

A VolumeSnapshot moves as on a real cluster: no status, then a bound content with
``readyToUse: false``, then ready. Messages and events follow external-snapshotter's
common-controller and sidecar-controller.
"""

from __future__ import annotations

import time
from functools import partial

from . import events, kinds
from .controllers import Gates
from .meta import JSON, add_finalizer, annotations_of, dig, finalizers, metadata, now, remove_finalizer
from .models import Change, Key, KubernetesBackend
from .quantities import format_binary, parse_quantity
from .seed import IS_DEFAULT_SNAPSHOT_CLASS, TRIDENT

PVC_AS_SOURCE = "snapshot.storage.kubernetes.io/pvc-as-source-protection"
VS_AS_SOURCE = "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection"
VS_BOUND = "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"
VSC_BOUND = "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"


class SnapshotError(Exception):
    """A step failed: the Warning event reason and the message for ``status.error``."""

    def __init__(self, reason: str, message: str, *, not_ready: bool = True) -> None:
        super().__init__(message)
        self.reason = reason
        self.not_ready = not_ready


def reconcile_snapshots(backend: KubernetesBackend, gates: Gates) -> None:
    """Move every VolumeSnapshot one step (create content, copy status, or delete)."""
    for snapshot in backend.objects(kinds.SNAPSHOTS):
        _reconcile_snapshot(backend, gates, snapshot)
    _release_source_claims(backend)


def _reconcile_snapshot(backend: KubernetesBackend, gates: Gates, snapshot: JSON) -> None:
    meta = metadata(snapshot)
    if meta.get("deletionTimestamp"):
        _delete_snapshot(backend, snapshot)
        return
    content_name = dig(snapshot, "status", "boundVolumeSnapshotContentName")
    if content_name:
        _copy_content_status(backend, snapshot, content_name)
    elif dig(snapshot, "spec", "source", "volumeSnapshotContentName"):
        _bind_pre_provisioned(backend, snapshot)
    elif gates.ready("snapshot", meta["uid"], backend.timing.snapshot):
        try:
            _create_content(backend, snapshot)
            gates.done("snapshot", meta["uid"])
        except SnapshotError as error:
            gates.retry("snapshot", meta["uid"], backend.timing.retry)
            _report(backend, snapshot, error)


def reconcile_contents(backend: KubernetesBackend, gates: Gates) -> None:
    """csi-snapshotter: take the CSI snapshot of each new content; let deleted contents go."""
    for content in backend.objects(kinds.CONTENTS):
        _reconcile_content(backend, gates, content)


def _reconcile_content(backend: KubernetesBackend, gates: Gates, content: JSON) -> None:
    meta, uid = metadata(content), metadata(content)["uid"]
    if meta.get("deletionTimestamp"):
        ref = dig(content, "spec", "volumeSnapshotRef") or {}
        snapshot = backend.find(kinds.SNAPSHOTS, ref.get("namespace"), ref.get("name", ""))
        if snapshot is None or metadata(snapshot).get("deletionTimestamp"):
            backend.mutate(kinds.CONTENTS, None, meta["name"], lambda c: remove_finalizer(c, VSC_BOUND))
        return
    handle = dig(content, "spec", "source", "volumeHandle")
    if not handle or dig(content, "status", "snapshotHandle"):
        return
    if not gates.ready("take", uid, backend.timing.snapshot_ready):
        return
    driver_error = backend.faults.take_driver_error("snapshot")
    if driver_error is not None:
        gates.retry("take", uid, backend.timing.retry)
        message = (
            f"Failed to check and update snapshot content: failed to take snapshot of the volume "
            f'{handle}: "rpc error: code = Internal desc = {driver_error}"'
        )
        error = {"readyToUse": False, "error": {"message": message, "time": now()}}
        backend.mutate(kinds.CONTENTS, None, meta["name"], partial(_merge_status, changes=error))
        events.record(backend, content, "Warning", "SnapshotCreationFailed", message, events.SNAPSHOTTER)
        return
    gates.done("take", uid)
    backend.mutate(kinds.CONTENTS, None, meta["name"], lambda c: c.update(status=_taken(backend, c)))


# Indexes that let a pass find the objects a change touches without scanning them all.
_BOUND_CONTENT = "status.boundVolumeSnapshotContentName"
_SOURCE_CLAIM = "spec.source.persistentVolumeClaimName"
_SNAPSHOT_REF = "spec.volumeSnapshotRef"
_PRE_PROVISIONED = "spec.source.volumeSnapshotContentName"


def _bound_content(snapshot: JSON) -> str | None:
    return dig(snapshot, "status", "boundVolumeSnapshotContentName") or None


def _pre_provisioned(snapshot: JSON) -> str | None:
    return dig(snapshot, "spec", "source", "volumeSnapshotContentName") or None


def _source_claim(snapshot: JSON) -> tuple[str, str] | None:
    claim = dig(snapshot, "spec", "source", "persistentVolumeClaimName")
    return (metadata(snapshot).get("namespace", ""), claim) if claim else None


def _snapshot_ref(content: JSON) -> tuple[str, str] | None:
    ref = dig(content, "spec", "volumeSnapshotRef") or {}
    return (ref.get("namespace") or "", ref["name"]) if ref.get("name") else None


def _touched(backend: KubernetesBackend, changes: list[Change]) -> tuple[set[Key], set[str], set[Key]]:
    """Return the snapshots, contents and source claims ``changes`` may move (beyond timers)."""
    backend.ensure_index(kinds.SNAPSHOTS, _BOUND_CONTENT, _bound_content)
    backend.ensure_index(kinds.SNAPSHOTS, _PRE_PROVISIONED, _pre_provisioned)
    backend.ensure_index(kinds.SNAPSHOTS, _SOURCE_CLAIM, _source_claim)
    backend.ensure_index(kinds.CONTENTS, _SNAPSHOT_REF, _snapshot_ref)
    snapshots: set[Key] = set()
    contents: set[str] = set()
    claims: set[Key] = set()
    for change in changes:
        if change.kind is kinds.SNAPSHOTS:
            for obj in (change.obj, change.old):
                if obj is None:
                    continue
                key = (metadata(obj).get("namespace", ""), metadata(obj)["name"])
                snapshots.add(key)
                contents.update(name for name in (_bound_content(obj), _pre_provisioned(obj)) if name)
                contents.update(
                    metadata(c)["name"] for c in backend.find_by(kinds.CONTENTS, _SNAPSHOT_REF, key)
                )
                claim = _source_claim(obj)
                if claim is not None:
                    claims.add(claim)
        elif change.kind is kinds.CONTENTS:
            name = metadata(change.obj)["name"]
            contents.add(name)
            for index in (_BOUND_CONTENT, _PRE_PROVISIONED):
                snapshots.update(
                    (metadata(s)["namespace"], metadata(s)["name"])
                    for s in backend.find_by(kinds.SNAPSHOTS, index, name)
                )
    return snapshots, contents, claims


def _follow_snapshots(backend: KubernetesBackend, gates: Gates, changes: list[Change]) -> None:
    snapshots, _, claims = _touched(backend, changes)
    for namespace, name in sorted(snapshots):
        snapshot = backend.find(kinds.SNAPSHOTS, namespace, name)
        if snapshot is not None:
            _reconcile_snapshot(backend, gates, snapshot)
    _release_source_claims(backend, claims)


def _follow_contents(backend: KubernetesBackend, gates: Gates, changes: list[Change]) -> None:
    _, contents, _ = _touched(backend, changes)
    for name in sorted(contents):
        content = backend.find(kinds.CONTENTS, None, name)
        if content is not None:
            _reconcile_content(backend, gates, content)


reconcile_snapshots.incremental = _follow_snapshots  # type: ignore[attr-defined]
reconcile_contents.incremental = _follow_contents  # type: ignore[attr-defined]


def _merge_status(obj: JSON, changes: JSON) -> None:
    obj["status"] = {**(obj.get("status") or {}), **changes}


def _taken(backend: KubernetesBackend, content: JSON) -> JSON:
    # Trident: handle <volume>/<snapshot name>, second-precision creation time, size of the volume.
    handle = dig(content, "spec", "source", "volumeHandle")
    volume = backend.find(kinds.PVS, None, handle)
    size = parse_quantity(dig(volume, "spec", "capacity", "storage") or 0) if volume else 0
    snapshot_uid = dig(content, "spec", "volumeSnapshotRef", "uid")
    return {
        "snapshotHandle": f"{handle}/snapshot-{snapshot_uid}",
        "creationTime": int(time.time()) * 1_000_000_000,
        "readyToUse": True,
        "restoreSize": size,
    }


def _report(backend: KubernetesBackend, snapshot: JSON, error: SnapshotError) -> None:
    meta, message = metadata(snapshot), str(error)
    if dig(snapshot, "status", "error", "message") != message:  # identical errors are not rewritten

        def set_error(s: JSON) -> None:
            status = s.setdefault("status", {})
            status["error"] = {"message": message, "time": now()}
            if error.not_ready:
                status["readyToUse"] = False

        backend.mutate(kinds.SNAPSHOTS, meta["namespace"], meta["name"], set_error)
    events.record(backend, snapshot, "Warning", error.reason, message, events.SNAPSHOT_CONTROLLER)


def _snapshot_class(backend: KubernetesBackend, snapshot: JSON, driver: str) -> JSON:
    name = dig(snapshot, "spec", "volumeSnapshotClassName")
    if name:
        found = backend.find(kinds.SNAPSHOT_CLASSES, None, name)
        if found is None:
            raise SnapshotError(
                "GetSnapshotClassFailed",
                "Failed to get snapshot class with error "
                f'volumesnapshotclass.snapshot.storage.k8s.io "{name}" not found',
                not_ready=False,
            )
        return found
    defaults = [
        c
        for c in backend.objects(kinds.SNAPSHOT_CLASSES)
        if annotations_of(c).get(IS_DEFAULT_SNAPSHOT_CLASS) == "true" and c.get("driver") == driver
    ]
    if len(defaults) != 1:
        detail = (
            "cannot find default snapshot class"
            if not defaults
            else f"{len(defaults)} default snapshot classes were found"
        )
        raise SnapshotError(
            "SetDefaultSnapshotClassFailed",
            f"Failed to set default snapshot class with error {detail}",
            not_ready=False,
        )
    meta, class_name = metadata(snapshot), metadata(defaults[0])["name"]
    backend.mutate(
        kinds.SNAPSHOTS,
        meta["namespace"],
        meta["name"],
        lambda s: s["spec"].update(volumeSnapshotClassName=class_name),
    )
    return defaults[0]


def _create_content(backend: KubernetesBackend, snapshot: JSON) -> None:
    meta = metadata(snapshot)
    namespace, name, uid = meta["namespace"], meta["name"], meta["uid"]
    claim_name = dig(snapshot, "spec", "source", "persistentVolumeClaimName")
    claim = backend.find(kinds.PVCS, namespace, claim_name)
    volume = backend.find(kinds.PVS, None, dig(claim, "spec", "volumeName") or "") if claim else None
    snapshot_class = _snapshot_class(backend, snapshot, dig(volume, "spec", "csi", "driver") or TRIDENT)
    failed = "Failed to create snapshot content with error "
    if claim is None:
        raise SnapshotError(
            "SnapshotContentCreationFailed",
            f"{failed}snapshot controller failed to update {name} on API server: "
            "cannot get claim from snapshot",
        )
    if metadata(claim).get("deletionTimestamp"):
        raise SnapshotError(
            "SnapshotContentCreationFailed",
            f"{failed}snapshot controller failed to update {claim_name} on API server: cannot add "
            "finalizer on claim because it is being deleted",
        )
    backend.mutate(kinds.PVCS, namespace, claim_name, lambda c: add_finalizer(c, PVC_AS_SOURCE))
    if dig(claim, "status", "phase") != "Bound" or volume is None:
        raise SnapshotError(
            "SnapshotContentCreationFailed",
            f'{failed}failed to get input parameters to create snapshot {name}: "the PVC {claim_name} '
            'is not yet bound to a PV, will not attempt to take a snapshot"',
        )
    if not dig(volume, "spec", "csi"):
        raise SnapshotError(
            "SnapshotContentCreationFailed",
            f'{failed}failed to get input parameters to create snapshot {name}: "cannot find CSI '
            f'PersistentVolumeSource for volume {metadata(volume)["name"]}"',
        )
    content_name = f"snapcontent-{uid}"
    if backend.find(kinds.CONTENTS, None, content_name) is None:
        backend.insert(
            kinds.CONTENTS,
            {
                "apiVersion": kinds.CONTENTS.api_version,
                "kind": "VolumeSnapshotContent",
                "metadata": {"name": content_name, "finalizers": [VSC_BOUND]},
                "spec": {
                    "deletionPolicy": snapshot_class.get("deletionPolicy", "Delete"),
                    "driver": snapshot_class.get("driver", TRIDENT),
                    "source": {"volumeHandle": dig(volume, "spec", "csi", "volumeHandle")},
                    "sourceVolumeMode": dig(volume, "spec", "volumeMode") or "Filesystem",
                    "volumeSnapshotClassName": metadata(snapshot_class)["name"],
                    "volumeSnapshotRef": {
                        "apiVersion": kinds.SNAPSHOTS.api_version,
                        "kind": "VolumeSnapshot",
                        "name": name,
                        "namespace": namespace,
                        "uid": uid,
                        "resourceVersion": meta["resourceVersion"],
                    },
                },
            },
        )
    events.record(
        backend,
        snapshot,
        "Normal",
        "CreatingSnapshot",
        f"Waiting for a snapshot {namespace}/{name} to be created by the CSI driver.",
        events.SNAPSHOT_CONTROLLER,
    )

    def bound(s: JSON) -> None:
        add_finalizer(s, VS_AS_SOURCE)
        add_finalizer(s, VS_BOUND)
        status = s.setdefault("status", {})
        status.pop("error", None)
        status.update(boundVolumeSnapshotContentName=content_name, readyToUse=False)

    backend.mutate(kinds.SNAPSHOTS, namespace, name, bound)


def _copy_content_status(backend: KubernetesBackend, snapshot: JSON, content_name: str) -> None:
    content = backend.find(kinds.CONTENTS, None, content_name)
    meta, status = metadata(snapshot), dict(snapshot.get("status") or {})
    content_status = (content or {}).get("status") or {}
    if content_status.get("error"):
        status.update(error=content_status["error"], readyToUse=False)
    if "creationTime" in content_status:
        status["creationTime"] = time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(content_status["creationTime"] // 1_000_000_000)
        )
    if "restoreSize" in content_status:
        status["restoreSize"] = format_binary(int(content_status["restoreSize"]))
    became_ready = content_status.get("readyToUse") is True and status.get("readyToUse") is not True
    if became_ready:
        status["readyToUse"] = True
        status.pop("error", None)
    if status == snapshot.get("status"):
        return
    backend.mutate(kinds.SNAPSHOTS, meta["namespace"], meta["name"], lambda s: s.update(status=status))
    if became_ready:
        reference = f"{meta['namespace']}/{meta['name']}"
        events.record(
            backend,
            snapshot,
            "Normal",
            "SnapshotCreated",
            f"Snapshot {reference} was successfully created by the CSI driver.",
            events.SNAPSHOT_CONTROLLER,
        )
        events.record(
            backend,
            snapshot,
            "Normal",
            "SnapshotReady",
            f"Snapshot {reference} is ready to use.",
            events.SNAPSHOT_CONTROLLER,
        )


def _bind_pre_provisioned(backend: KubernetesBackend, snapshot: JSON) -> None:
    meta = metadata(snapshot)
    content_name = dig(snapshot, "spec", "source", "volumeSnapshotContentName")
    if backend.find(kinds.CONTENTS, None, content_name) is None:
        return
    backend.mutate(
        kinds.SNAPSHOTS,
        meta["namespace"],
        meta["name"],
        lambda s: s.update(status={"boundVolumeSnapshotContentName": content_name, "readyToUse": False}),
    )


def _release_source_claims(backend: KubernetesBackend, only: set[Key] | None = None) -> None:
    # A claim keeps pvc-as-source-protection while a snapshot of it is not ready yet.
    if only is not None:  # an incremental pass: the claims whose snapshots changed
        backend.ensure_index(kinds.SNAPSHOTS, _SOURCE_CLAIM, _source_claim)
        for namespace, name in sorted(only):
            claim = backend.find(kinds.PVCS, namespace, name)
            in_use = backend.any_by(kinds.SNAPSHOTS, _SOURCE_CLAIM, (namespace, name), _pending)
            if claim is not None and PVC_AS_SOURCE in finalizers(claim) and not in_use:
                backend.mutate(kinds.PVCS, namespace, name, lambda c: remove_finalizer(c, PVC_AS_SOURCE))
        return
    busy = {
        (metadata(s)["namespace"], dig(s, "spec", "source", "persistentVolumeClaimName"))
        for s in backend.objects(kinds.SNAPSHOTS)
        if _pending(s)
    }
    for claim in backend.objects(kinds.PVCS):
        meta = metadata(claim)
        if PVC_AS_SOURCE in finalizers(claim) and (meta["namespace"], meta["name"]) not in busy:
            backend.mutate(
                kinds.PVCS, meta["namespace"], meta["name"], lambda c: remove_finalizer(c, PVC_AS_SOURCE)
            )


def _pending(snapshot: JSON) -> bool:
    return dig(snapshot, "status", "readyToUse") is not True and not metadata(snapshot).get(
        "deletionTimestamp"
    )


def _delete_snapshot(backend: KubernetesBackend, snapshot: JSON) -> None:
    meta = metadata(snapshot)
    restoring = [
        c
        for c in backend.objects(kinds.PVCS, meta["namespace"])
        if dig(c, "status", "phase") == "Pending"
        and (dig(c, "spec", "dataSource") or {}).get("kind") == "VolumeSnapshot"
        and dig(c, "spec", "dataSource", "name") == meta["name"]
    ]
    if restoring:
        events.record(
            backend,
            snapshot,
            "Warning",
            "SnapshotDeletePending",
            "Snapshot is being used to restore a PVC",
            events.SNAPSHOT_CONTROLLER,
        )
        return
    content_name = dig(snapshot, "status", "boundVolumeSnapshotContentName")
    content = backend.find(kinds.CONTENTS, None, content_name) if content_name else None
    if content is not None and dig(content, "spec", "deletionPolicy") == "Delete":
        backend.delete(kinds.CONTENTS, None, content_name)

    def release(s: JSON) -> None:
        remove_finalizer(s, VS_AS_SOURCE)
        remove_finalizer(s, VS_BOUND)

    backend.mutate(kinds.SNAPSHOTS, meta["namespace"], meta["name"], release)
