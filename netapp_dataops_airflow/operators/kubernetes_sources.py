"""Checks that a snapshot's or clone's source is usable, made before anything is created.

Each failure is an :class:`~netapp_dataops_airflow.exceptions.InvalidInputError` naming the object,
what is wrong with it and what to do; the controllers would otherwise report the same problems
minutes later as retried events on an object that should never have been created.
"""

from __future__ import annotations

from netapp_dataops_airflow.clients.kubernetes import (
    JSON,
    NAMESPACES,
    PERSISTENT_VOLUME_CLAIMS,
    PERSISTENT_VOLUMES,
    STORAGE_CLASSES,
    VOLUME_SNAPSHOT_CLASSES,
    VOLUME_SNAPSHOTS,
    KubernetesClient,
    Resource,
)
from netapp_dataops_airflow.clients.kubernetes_objects import (
    DEFAULT_SNAPSHOT_CLASS_ANNOTATION,
    dig,
    is_default_class,
)
from netapp_dataops_airflow.exceptions import ApiError, InvalidInputError


async def get_or_none(
    client: KubernetesClient, resource: Resource, name: str, namespace: str | None
) -> JSON | None:
    """Read an object; ``None`` if it does not exist."""
    try:
        return await client.get(resource, name, namespace)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


async def _missing(client: KubernetesClient, kind: str, name: str, namespace: str) -> InvalidInputError:
    """Explain a 404: a missing namespace is a different mistake from a missing object."""
    try:
        namespace_missing = await get_or_none(client, NAMESPACES, namespace, None) is None
    except ApiError:  # reading namespaces is not in the least-privilege role; say what we know
        namespace_missing = False
    if namespace_missing:
        return InvalidInputError(
            f"namespace {namespace!r} does not exist in the cluster; set `namespace` (or the "
            "connection's namespace) to the namespace that holds the source"
        )
    return InvalidInputError(f"{kind} {name!r} not found in namespace {namespace!r}")


async def bound_claim(client: KubernetesClient, namespace: str, name: str) -> JSON:
    """Return the PVC ``name``, which must exist and be Bound."""
    claim = await get_or_none(client, PERSISTENT_VOLUME_CLAIMS, name, namespace)
    if claim is None:
        raise await _missing(client, "PersistentVolumeClaim", name, namespace)
    phase = dig(claim, "status", "phase") or "Pending"
    if phase != "Bound" or not dig(claim, "spec", "volumeName"):
        raise InvalidInputError(
            f"PersistentVolumeClaim {namespace}/{name} is {phase}, not Bound: it has no volume to "
            "snapshot or clone yet (a WaitForFirstConsumer StorageClass binds only once a pod uses it)"
        )
    return claim


async def csi_driver(client: KubernetesClient, claim: JSON) -> str:
    """Return the CSI driver behind a bound claim's volume."""
    volume_name = str(dig(claim, "spec", "volumeName"))
    volume = await get_or_none(client, PERSISTENT_VOLUMES, volume_name, None)
    driver = dig(volume, "spec", "csi", "driver")
    if not driver:
        raise InvalidInputError(
            f"PersistentVolume {volume_name!r} of claim {dig(claim, 'metadata', 'name')!r} is not a CSI "
            "volume; only CSI volumes (such as Trident's) can be snapshotted and cloned"
        )
    return str(driver)


async def snapshot_class_for(client: KubernetesClient, driver: str, requested: str | None) -> str:
    """Return the VolumeSnapshotClass to use: ``requested`` if it exists for ``driver``, else the default."""
    classes = (await client.list_objects(VOLUME_SNAPSHOT_CLASSES)).items
    names = sorted(str(dig(c, "metadata", "name")) for c in classes)
    if requested is not None:
        chosen = next((c for c in classes if dig(c, "metadata", "name") == requested), None)
        if chosen is None:
            raise InvalidInputError(
                f"VolumeSnapshotClass {requested!r} does not exist; the cluster has {names or 'none'}"
            )
        if chosen.get("driver") != driver:
            raise InvalidInputError(
                f"VolumeSnapshotClass {requested!r} is for driver {chosen.get('driver')!r}, but the "
                f"volume is provisioned by {driver!r}"
            )
        return requested
    defaults = [
        str(dig(c, "metadata", "name"))
        for c in classes
        if c.get("driver") == driver and is_default_class(c, DEFAULT_SNAPSHOT_CLASS_ANNOTATION)
    ]
    if len(defaults) != 1:
        found = f"{len(defaults)} default classes ({', '.join(defaults)})" if defaults else "no default class"
        raise InvalidInputError(
            f"cannot pick a VolumeSnapshotClass for driver {driver!r}: the cluster has {found}; set "
            f"`volume_snapshot_class` to one of {names or 'the classes you create'}"
        )
    return defaults[0]


async def ready_snapshot(client: KubernetesClient, namespace: str, name: str) -> JSON:
    """Return the VolumeSnapshot ``name``, which must exist and be ready to use."""
    snapshot = await get_or_none(client, VOLUME_SNAPSHOTS, name, namespace)
    if snapshot is None:
        raise await _missing(client, "VolumeSnapshot", name, namespace)
    if dig(snapshot, "status", "readyToUse") is not True:
        error = dig(snapshot, "status", "error", "message")
        raise InvalidInputError(
            f"VolumeSnapshot {namespace}/{name} is not ready to use"
            + (f" (the snapshot controller reports: {error})" if error else "; wait until it is ready")
        )
    return snapshot


async def storage_class(client: KubernetesClient, name: str) -> JSON:
    """Return the StorageClass ``name``; a class that binds on first consumer is refused."""
    found = await get_or_none(client, STORAGE_CLASSES, name, None)
    if found is None:
        names = sorted(
            str(dig(c, "metadata", "name")) for c in (await client.list_objects(STORAGE_CLASSES)).items
        )
        raise InvalidInputError(f"StorageClass {name!r} does not exist; the cluster has {names or 'none'}")
    if found.get("volumeBindingMode") == "WaitForFirstConsumer":
        raise InvalidInputError(
            f"StorageClass {name!r} uses volumeBindingMode WaitForFirstConsumer: a clone in it would "
            "stay Pending until a pod mounts it. Use a StorageClass with volumeBindingMode Immediate"
        )
    return found
