"""Plain-dict Kubernetes objects the fidelity tests create, the way a user would write them."""

from __future__ import annotations

from typing import Any

NAMESPACE = "default"
SNAPSHOT_GROUP = "snapshot.storage.k8s.io"
SNAPSHOT_VERSION = "v1"
# The class name netapp-dataops-k8s assumes; the simulator serves it as Trident's snapshot class.
SNAPSHOT_CLASS = "csi-snapclass"


def pvc(
    name: str,
    size: str = "1Gi",
    *,
    labels: dict[str, str] | None = None,
    snapshot: str | None = None,
    access_mode: str = "ReadWriteOnce",
) -> dict[str, Any]:
    """A PersistentVolumeClaim of the default StorageClass, optionally restored from a snapshot."""
    spec: dict[str, Any] = {"accessModes": [access_mode], "resources": {"requests": {"storage": size}}}
    if snapshot is not None:
        spec["dataSource"] = {"apiGroup": SNAPSHOT_GROUP, "kind": "VolumeSnapshot", "name": snapshot}
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata, "spec": spec}


def volume_snapshot(name: str, source_pvc: str, *, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A dynamic VolumeSnapshot of ``source_pvc``."""
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = labels
    return {
        "apiVersion": f"{SNAPSHOT_GROUP}/{SNAPSHOT_VERSION}",
        "kind": "VolumeSnapshot",
        "metadata": metadata,
        "spec": {
            "volumeSnapshotClassName": SNAPSHOT_CLASS,
            "source": {"persistentVolumeClaimName": source_pvc},
        },
    }
