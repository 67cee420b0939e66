"""The PV controller, CSI external-provisioner and Trident: claims become Bound volumes.

Messages follow kubernetes' PV controller, ``sig-storage-lib-external-provisioner`` and
external-provisioner's ``getSnapshotSource``/``getPVCSource``, and Trident's clone annotation path.
"""

from __future__ import annotations

from . import events, kinds
from .controllers import Gates
from .meta import JSON, annotations_of, dig, metadata, remove_finalizer
from .models import KubernetesBackend
from .quantities import parse_quantity
from .seed import PV_FINALIZERS, PVC_PROTECTION, TRIDENT, bind, volume_for

CLONE_FROM_PVC = "trident.netapp.io/cloneFromPVC"
# Index of volumes by the uid of the claim they are bound or being bound to.
_CLAIM_UID = "claimRef.uid"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
SIMULATED_NODE = "sim-node-1"


class ProvisioningError(Exception):
    """Provisioning failed with this message; ``trident`` marks Trident's own (annotation) errors."""

    def __init__(self, message: str, *, trident: bool = False) -> None:
        super().__init__(message)
        self.trident = trident


def reconcile_claims(backend: KubernetesBackend, gates: Gates) -> None:
    """Move every claim one step: provision, bind, or release its protection finalizer."""
    for claim in backend.objects(kinds.PVCS):
        meta = metadata(claim)
        if meta.get("deletionTimestamp"):
            _release_claim(backend, claim)
        elif dig(claim, "status", "phase") == "Pending":
            _progress_claim(backend, gates, claim)


def reconcile_volumes(backend: KubernetesBackend, gates: Gates) -> None:
    """Bind provisioned volumes; release or delete volumes whose claim is gone."""
    for volume in backend.objects(kinds.PVS):
        meta, ref = metadata(volume), dig(volume, "spec", "claimRef") or {}
        claim = backend.find(kinds.PVCS, ref.get("namespace"), ref.get("name", "")) if ref else None
        if claim is not None and metadata(claim)["uid"] != ref.get("uid"):
            claim = None
        if claim is not None or not ref:
            if meta.get("deletionTimestamp") and claim is None:
                backend.mutate(kinds.PVS, None, meta["name"], _drop_volume_finalizers)
            continue
        # The claim is gone: Delete reclaims the volume, Retain keeps it Released.
        if dig(volume, "spec", "persistentVolumeReclaimPolicy") == "Delete":
            if gates.ready("reclaim", meta["uid"], backend.timing.provisioning):
                gates.done("reclaim", meta["uid"])
                backend.mutate(kinds.PVS, None, meta["name"], _drop_volume_finalizers)
                if backend.find(kinds.PVS, None, meta["name"]) is not None:
                    backend.delete(kinds.PVS, None, meta["name"])
        elif dig(volume, "status", "phase") != "Released":
            backend.mutate(kinds.PVS, None, meta["name"], lambda v: v.update(status={"phase": "Released"}))


def _claim_uid(volume: JSON) -> str | None:
    uid = dig(volume, "spec", "claimRef", "uid")
    return uid if isinstance(uid, str) else None


def _drop_volume_finalizers(volume: JSON) -> None:
    for name in PV_FINALIZERS:
        remove_finalizer(volume, name)


def _release_claim(backend: KubernetesBackend, claim: JSON) -> None:
    # The pvc-protection controller lets a claim go once no pod uses it.
    meta = metadata(claim)
    if PVC_PROTECTION in (meta.get("finalizers") or []) and not _pods_using(backend, claim):
        backend.mutate(
            kinds.PVCS, meta["namespace"], meta["name"], lambda c: remove_finalizer(c, PVC_PROTECTION)
        )


def _pods_using(backend: KubernetesBackend, claim: JSON) -> list[JSON]:
    meta = metadata(claim)
    return [
        pod
        for pod in backend.objects(kinds.PODS, meta["namespace"])
        if any(
            dig(v, "persistentVolumeClaim", "claimName") == meta["name"]
            for v in dig(pod, "spec", "volumes") or []
        )
    ]


def _progress_claim(backend: KubernetesBackend, gates: Gates, claim: JSON) -> None:
    meta, spec = metadata(claim), claim.get("spec") or {}
    uid, namespace, name = meta["uid"], meta["namespace"], meta["name"]
    # By index: scanning (and copying) every volume for every pending claim made binding a
    # thousand clones at once take a minute.
    backend.ensure_index(kinds.PVS, _CLAIM_UID, _claim_uid)
    volume = next(iter(backend.find_by(kinds.PVS, _CLAIM_UID, uid)), None)
    if volume is not None:
        if gates.ready("bind", uid, backend.timing.binding):
            gates.done("bind", uid)
            _bind(backend, claim, volume)
        return
    class_name = spec.get("storageClassName") or ""
    storage_class = backend.find(kinds.STORAGE_CLASSES, None, class_name) if class_name else None
    if storage_class is None:
        if class_name and gates.ready("provision", uid, backend.timing.retry):
            gates.retry("provision", uid, backend.timing.retry)
            events.record(
                backend,
                claim,
                "Warning",
                "ProvisioningFailed",
                f'storageclass.storage.k8s.io "{class_name}" not found',
                events.PV_CONTROLLER,
            )
        return
    if storage_class.get(
        "volumeBindingMode"
    ) == "WaitForFirstConsumer" and SELECTED_NODE not in annotations_of(claim):
        if _pods_using(backend, claim):  # the scheduler picked a node for the first consumer
            backend.mutate(
                kinds.PVCS,
                namespace,
                name,
                lambda c: annotations_of(c).update({SELECTED_NODE: SIMULATED_NODE}),
            )
        elif gates.ready("wffc", uid, 0):
            gates.retry("wffc", uid, backend.timing.wait_for_first_consumer_event)
            events.record(
                backend,
                claim,
                "Normal",
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding",
                events.PV_CONTROLLER,
            )
        return
    provisioner = storage_class.get("provisioner", "")
    if "volume.kubernetes.io/storage-provisioner" not in annotations_of(claim):
        backend.mutate(
            kinds.PVCS,
            namespace,
            name,
            lambda c: annotations_of(c).update(
                {
                    "volume.beta.kubernetes.io/storage-provisioner": provisioner,
                    "volume.kubernetes.io/storage-provisioner": provisioner,
                }
            ),
        )
        events.record(
            backend,
            claim,
            "Normal",
            "ExternalProvisioning",
            f"Waiting for a volume to be created either by the external provisioner '{provisioner}' or "
            "manually by the system administrator. If volume creation is delayed, please verify that the "
            "provisioner is running and correctly registered.",
            events.PV_CONTROLLER,
        )
        return
    if provisioner == TRIDENT and gates.ready("provision", uid, backend.timing.provisioning):
        _provision(backend, gates, claim, storage_class)


def _provision(backend: KubernetesBackend, gates: Gates, claim: JSON, storage_class: JSON) -> None:
    meta = metadata(claim)
    uid, class_name = meta["uid"], metadata(storage_class)["name"]
    events.record(
        backend,
        claim,
        "Normal",
        "Provisioning",
        f'External provisioner is provisioning volume for claim "{meta["namespace"]}/{meta["name"]}"',
        events.PROVISIONER,
    )
    try:
        _check_source(backend, claim, storage_class)
    except ProvisioningError as error:
        gates.retry("provision", uid, backend.timing.retry)
        if error.trident:
            events.record(
                backend, claim, "Normal", "ProvisioningFailed", str(error), events.TRIDENT_COMPONENT
            )
            error = ProvisioningError(f"rpc error: code = Unknown desc = {error}")
        events.record(
            backend,
            claim,
            "Warning",
            "ProvisioningFailed",
            f'failed to provision volume with StorageClass "{class_name}": {error}',
            events.PROVISIONER,
        )
        return
    gates.done("provision", uid)
    volume = volume_for(claim, reclaim_policy=storage_class.get("reclaimPolicy", "Delete"))
    volume["status"] = {"phase": "Pending"}
    backend.insert(kinds.PVS, volume)
    events.record(
        backend, claim, "Normal", "ProvisioningSuccess", "provisioned a volume", events.TRIDENT_COMPONENT
    )
    events.record(
        backend,
        claim,
        "Normal",
        "ProvisioningSucceeded",
        f"Successfully provisioned volume {metadata(volume)['name']}",
        events.PROVISIONER,
    )


def _check_source(backend: KubernetesBackend, claim: JSON, storage_class: JSON) -> None:
    """Raise ProvisioningError when the claim's data source cannot be used (or the driver fails)."""
    meta, spec = metadata(claim), claim["spec"]
    source = spec.get("dataSourceRef") or spec.get("dataSource")
    requested = parse_quantity(spec["resources"]["requests"]["storage"])
    if source and source.get("kind") == "VolumeSnapshot":
        _check_snapshot_source(backend, meta["namespace"], source["name"], requested, storage_class)
    elif source and source.get("kind") == "PersistentVolumeClaim":
        _check_claim_source(backend, meta["namespace"], source["name"], requested)
    elif CLONE_FROM_PVC in annotations_of(claim):
        _check_annotation_source(backend, claim, annotations_of(claim)[CLONE_FROM_PVC])
    else:
        return
    driver_error = backend.faults.take_driver_error("clone")
    if driver_error is not None:
        raise ProvisioningError(f"rpc error: code = Internal desc = {driver_error}")


def _check_snapshot_source(
    backend: KubernetesBackend, namespace: str, name: str, requested: int, storage_class: JSON
) -> None:
    prefix = f"error getting handle for DataSource Type VolumeSnapshot by Name {name}: "
    snapshot = backend.find(kinds.SNAPSHOTS, namespace, name)
    if snapshot is None:
        raise ProvisioningError(
            f"{prefix}error getting snapshot {name} from api server: "
            f'{kinds.SNAPSHOTS.qualified} "{name}" not found'
        )
    if metadata(snapshot).get("deletionTimestamp"):
        raise ProvisioningError(f"{prefix}snapshot {name} is being deleted")
    content_name = dig(snapshot, "status", "boundVolumeSnapshotContentName")
    if not content_name:
        raise ProvisioningError(f"{prefix}snapshot {name} not bound")
    content = backend.find(kinds.CONTENTS, None, content_name)
    if content is None:
        raise ProvisioningError(
            f"{prefix}error getting snapshotcontent {content_name} for snapshot {namespace}/{name} "
            f'from api server: {kinds.CONTENTS.qualified} "{content_name}" not found'
        )
    if dig(content, "spec", "driver") != storage_class.get("provisioner"):
        raise ProvisioningError(
            f"{prefix}snapshotcontent {content_name} for snapshot {namespace}/{name} is not "
            f"handled by CSI driver of StorageClass {metadata(storage_class)['name']}"
        )
    if dig(snapshot, "status", "readyToUse") is not True:
        raise ProvisioningError(f"{prefix}snapshot {name} is not Ready")
    restore = int(dig(content, "status", "restoreSize") or 0)
    if requested < restore:
        raise ProvisioningError(
            f"{prefix}requested volume size {requested} is less than the size {restore} "
            f"for the source snapshot {name}"
        )


def _check_claim_source(backend: KubernetesBackend, namespace: str, name: str, requested: int) -> None:
    source = backend.find(kinds.PVCS, namespace, name)
    if source is None:
        raise ProvisioningError(
            f'error getting PVC {name} (namespace "{namespace}") from api server: '
            f'persistentvolumeclaims "{name}" not found'
        )
    phase = dig(source, "status", "phase")
    if phase != "Bound":
        raise ProvisioningError(f"the PVC DataSource {name} must have a status of Bound.  Got {phase}")
    if metadata(source).get("deletionTimestamp"):
        raise ProvisioningError(f"the PVC DataSource {name} is currently being deleted")
    size = parse_quantity(dig(source, "spec", "resources", "requests", "storage") or 0)
    if requested < size:
        raise ProvisioningError(
            "error, new PVC request must be greater than or equal in size to the specified PVC data source, "
            f"requested {requested} but source is {size}"
        )


def _check_annotation_source(backend: KubernetesBackend, claim: JSON, name: str) -> None:
    namespace = metadata(claim)["namespace"]
    source = backend.find(kinds.PVCS, namespace, name)
    if source is None:
        raise ProvisioningError(
            "cloning from a PVC requires both PVCs be in the same namespace: "
            f'persistentvolumeclaims "{name}" not found',
            trident=True,
        )
    if dig(source, "spec", "storageClassName") != dig(claim, "spec", "storageClassName"):
        raise ProvisioningError(
            "cloning from a PVC requires both PVCs have the same storage class", trident=True
        )
    if dig(source, "status", "phase") != "Bound":
        raise ProvisioningError("cloning from a PVC requires the source to be bound to a PV", trident=True)


def _bind(backend: KubernetesBackend, claim: JSON, volume: JSON) -> None:
    volume_name = metadata(volume)["name"]
    backend.mutate(kinds.PVS, None, volume_name, lambda v: v.update(status={"phase": "Bound"}))
    meta = metadata(claim)
    backend.mutate(kinds.PVCS, meta["namespace"], meta["name"], lambda c: bind(c, volume_name))
