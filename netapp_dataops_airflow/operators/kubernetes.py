"""Snapshot a PVC, or clone one (from a PVC or a VolumeSnapshot), and defer until it is ready.

Starting is idempotent. Objects are named from the task (dag, run, task, map index) unless a name
is given, and carry an annotation saying which task created them. A retry after a crash between
creating and deferring finds its own object and adopts it; an existing object with the same name and
the same request is adopted too (never deleted on kill, since this task did not create it); one that
differs is an error rather than a silent reuse.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from airflow.sdk import Context

from netapp_dataops_airflow.clients._blocking import run_blocking
from netapp_dataops_airflow.clients._values import number
from netapp_dataops_airflow.clients.kubernetes import (
    JSON,
    PERSISTENT_VOLUME_CLAIMS,
    VOLUME_SNAPSHOT_CONTENTS,
    VOLUME_SNAPSHOTS,
    ClusterConfig,
    KubernetesClient,
    Resource,
    shared_client,
)
from netapp_dataops_airflow.clients.kubernetes_objects import (
    DERIVED_FROM_ANNOTATION,
    SNAPSHOT_API_GROUP,
    TRIDENT_CLONE_ANNOTATION,
    check_derived_from,
    check_labels,
    check_name,
    check_namespace,
    check_size,
    claim_result,
    dig,
    format_derived_from,
    parse_quantity,
    snapshot_result,
)
from netapp_dataops_airflow.exceptions import ApiError, InvalidInputError
from netapp_dataops_airflow.hooks.kubernetes import K8sHook
from netapp_dataops_airflow.operators import kubernetes_sources as sources
from netapp_dataops_airflow.operators import lineage
from netapp_dataops_airflow.operators.base import NetAppOperator
from netapp_dataops_airflow.triggers.kubernetes import (
    KubernetesObjectTrigger,
    PersistentVolumeClaimBoundTrigger,
    VolumeSnapshotReadyTrigger,
    delete_unless_ready,
)

RESERVED_PREFIX = "dataops.netapp.io"  # annotations and labels of the library's own
TASK_ANNOTATION = f"{RESERVED_PREFIX}/airflow-task"
MANAGED_BY = {"app.kubernetes.io/managed-by": "netapp-dataops-airflow"}
STATE_KEY = "kubernetes_object"
ACCESS_MODES = frozenset({"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"})
CLONE_METHODS = ("csi", "trident")


def _unreserved(labels: dict[str, str]) -> dict[str, str]:
    """Refuse labels that would overwrite the library's bookkeeping on the objects it creates."""
    for key in labels:
        prefix = key.rpartition("/")[0]
        if key in MANAGED_BY or prefix == RESERVED_PREFIX or prefix.endswith("." + RESERVED_PREFIX):
            raise InvalidInputError(
                f"label {key!r} is reserved: the library sets {', '.join(MANAGED_BY)} and everything "
                f"under {RESERVED_PREFIX}/ itself; choose another key"
            )
    return labels


def task_identity(context: Context) -> str:
    """Identify the task instance across its tries: dag, run, task and map index."""
    ti = context["ti"]
    return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/{ti.map_index}"


def derived_name(stem: str, identity: str) -> str:
    """Make a valid, deterministic object name: ``stem`` cleaned and cut, plus a hash of ``identity``."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:10]
    clean = re.sub(r"[^a-z0-9-]+", "-", stem.lower()).strip("-")[: 63 - len(digest) - 1].rstrip("-")
    return f"{clean or 'netapp'}-{digest}"


@dataclass(frozen=True)
class _Started:
    obj: JSON
    created_by_task: bool
    result: dict[str, Any] | None


class KubernetesObjectOperator(NetAppOperator):
    """Create a Kubernetes object (or adopt it) and defer until it is ready.

    :param namespace: where the object goes; default: the connection's namespace, else ``default``.
    :param labels: labels for the new object (``app.kubernetes.io/managed-by`` is always added; it
        and keys under ``dataops.netapp.io/`` are the library's and cannot be given).
    :param kubernetes_conn_id: an Airflow ``kubernetes`` connection (the cncf provider's format:
        in-cluster, kubeconfig path or inline kubeconfig, context, namespace).
    :param failure_grace_period: seconds a controller's error must persist before the task fails.
    """

    template_fields: Sequence[str] = ("namespace", "labels", "kubernetes_conn_id")
    resource: ClassVar[Resource]
    trigger_class: ClassVar[type[KubernetesObjectTrigger]]

    def __init__(
        self,
        *,
        namespace: str | None = None,
        labels: dict[str, str] | None = None,
        kubernetes_conn_id: str = K8sHook.default_conn_name,
        failure_grace_period: float = 120.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.namespace = namespace
        self.labels = labels
        self.kubernetes_conn_id = kubernetes_conn_id
        self.failure_grace_period = failure_grace_period

    # --- what a subclass says -------------------------------------------------------------------

    def validate(self) -> None:
        """Check the parameters that need no cluster; raise :class:`InvalidInputError`."""

    def object_name(self, identity: str) -> str:
        """Return the name of the object to create."""
        raise NotImplementedError

    async def build(self, client: KubernetesClient, namespace: str, name: str) -> JSON:
        """Check the source in the cluster and return the object to create."""
        raise NotImplementedError

    def differences(self, existing: JSON, wanted: JSON) -> list[str]:
        """List how an existing object of the same name differs from the one this task would create."""
        raise NotImplementedError

    async def finished(self, client: KubernetesClient, obj: JSON) -> dict[str, Any] | None:
        """Return the result if the object is already ready; ``None`` to wait for it."""
        raise NotImplementedError

    # --- the shared flow ------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        """Validate, create or adopt the object, remember it, then return or defer."""
        self.validate()
        grace = number(self.failure_grace_period, "failure_grace_period", minimum=0, unit="seconds")
        labels = {**_unreserved(check_labels(self.labels)), **MANAGED_BY}
        settings = K8sHook(self.kubernetes_conn_id).get_connection_settings()
        namespace = check_namespace(self.namespace or settings.namespace or "default")
        identity = task_identity(context)
        name = self.object_name(identity)
        deadline = self.absolute_deadline()
        self.check_trigger(self._trigger(name, namespace, "", True, deadline, grace))
        started = run_blocking(
            lambda: self._start(settings.cluster_config(), namespace, name, identity, labels)
        )
        uid = str(dig(started.obj, "metadata", "uid"))
        context["task_state_store"].set(
            STATE_KEY,
            {"kind": self.resource.kind, "namespace": namespace, "name": name, "uid": uid,
             "created_by_task": started.created_by_task},
        )  # fmt: skip
        if started.result is not None:
            self.log.info("%s %s/%s is already ready", self.resource.kind, namespace, name)
            return self.report(context, started.result)
        self.defer_to(self._trigger(name, namespace, uid, started.created_by_task, deadline, grace))

    def execute_complete(self, context: Context, event: Mapping[str, Any] | None = None) -> Any:
        """Return the object's result (recording its lineage), or raise the error the event reports."""
        return self.report(context, super().execute_complete(context, event))

    def cluster_namespace(self) -> str:
        """Name the connection's cluster for lineage: ``kubernetes://<API server host:port>``."""
        config = K8sHook(self.kubernetes_conn_id).get_connection_settings().cluster_config()
        return lineage.kubernetes_namespace(None if config.in_cluster else config.identity[0])

    def _trigger(
        self, name: str, namespace: str, uid: str, created: bool, deadline: float | None, grace: float
    ) -> KubernetesObjectTrigger:
        return self.trigger_class(
            name=name,
            namespace=namespace,
            uid=uid,
            kubernetes_conn_id=self.kubernetes_conn_id,
            failure_grace_period=grace,
            deadline=deadline,
            # An adopted object belongs to someone else: a kill must never delete it.
            cancel_on_kill=self.cancel_on_kill and created,
        )

    async def _start(
        self, cluster: ClusterConfig, namespace: str, name: str, identity: str, labels: dict[str, str]
    ) -> _Started:
        async with shared_client(cluster) as client:
            wanted = await self.build(client, namespace, name)
            metadata = wanted["metadata"]
            metadata["labels"] = {**labels, **metadata.get("labels", {})}
            metadata["annotations"] = {**metadata.get("annotations", {}), TASK_ANNOTATION: identity}
            obj = await self._create_or_adopt(client, namespace, wanted)
            created = dig(obj, "metadata", "annotations", TASK_ANNOTATION) == identity
            return _Started(obj, created, await self.finished(client, obj))

    async def _create_or_adopt(self, client: KubernetesClient, namespace: str, wanted: JSON) -> JSON:
        name = wanted["metadata"]["name"]
        try:
            created = await client.create(self.resource, wanted, namespace)
        except ApiError as exc:
            if exc.reason != "AlreadyExists":
                raise
        else:
            self.log.info("Created %s %s/%s", self.resource.kind, namespace, name)
            return created
        existing = await client.get(self.resource, name, namespace)
        differences = self.differences(existing, wanted)
        if differences:
            raise InvalidInputError(
                f"{self.resource.kind} {namespace}/{name} already exists with a different spec "
                f"({'; '.join(differences)}); give another name or delete the existing object"
            )
        self.log.info(
            "%s %s/%s already exists with this spec; adopting it", self.resource.kind, namespace, name
        )
        return existing

    def on_deadline(self, context: Context, event: Mapping[str, Any]) -> Any:
        """Delete the object if this task created it, unless it is ready by now: then it is the result.

        A retry after the deletion starts afresh.
        """
        stored = context["task_state_store"].get(STATE_KEY)
        stored = stored if isinstance(stored, dict) else {}
        name = event.get("name") or stored.get("name")
        namespace = event.get("namespace") or stored.get("namespace")
        uid = event.get("uid") or stored.get("uid")
        if not name or not namespace:
            return None
        ours = bool(stored.get("created_by_task")) and stored.get("uid") == uid
        settings = K8sHook(self.kubernetes_conn_id).get_connection_settings()
        return run_blocking(
            lambda: self._settle(
                settings.cluster_config(),
                str(name),
                str(namespace),
                str(uid) if uid else None,
                delete=self.cancel_on_kill and ours,
            )
        )

    async def _settle(
        self, cluster: ClusterConfig, name: str, namespace: str, uid: str | None, *, delete: bool
    ) -> dict[str, Any] | None:
        """Delete the object (if ``delete``) unless it is ready; return the result of a ready one."""
        described = f"{self.resource.kind} {namespace}/{name}"
        ready = self.trigger_class.ready
        what: str
        async with shared_client(cluster) as client:
            if delete:
                what, obj = await delete_unless_ready(client, self.resource, name, namespace, uid, ready)
            else:
                obj = await sources.get_or_none(client, self.resource, name, namespace)
                same = obj is not None and uid in (None, dig(obj, "metadata", "uid"))
                what = "ready" if same and obj is not None and ready(obj) else "left"
            if what == "ready" and obj is not None:
                self.log.info("%s became ready after the deadline: it is the result", described)
                return await self.finished(client, obj)
            if what == "deleted":
                self.log.info("Deleted %s after the deadline", described)
            elif what == "gone":
                self.log.info("%s is already gone or replaced; nothing to delete", described)
            else:
                self.log.info("Leaving %s: this task did not create it, or cancel_on_kill=False", described)
            return None


class VolumeSnapshotOperator(KubernetesObjectOperator):
    """Take a CSI VolumeSnapshot of a PVC and wait until it is ready to use.

    The task's XCom describes the snapshot: name, namespace, uid, source PVC, VolumeSnapshotClass,
    VolumeSnapshotContent, snapshot handle, restore size, creation time, ready flag and
    ``derived_from`` (as recorded on the snapshot).

    :param pvc: the PersistentVolumeClaim to snapshot (templated); it must be Bound.
    :param snapshot: the VolumeSnapshot's name (templated); default: derived from the PVC and the
        task instance, so a retry finds the same snapshot.
    :param volume_snapshot_class: default: the cluster's default class for the volume's CSI driver.
    :param derived_from: the snapshot(s) this snapshot's data was produced from, e.g. the dataset
        snapshot a model was trained on (templated): a snapshot task's result (its XComArg), a
        ``"namespace/name"`` or ``"name"`` (this namespace), or a list of these. Recorded on the
        VolumeSnapshot as the annotation ``dataops.netapp.io/derived-from`` and returned as
        ``derived_from``: a list of ``{"namespace", "name"}``. The snapshots named are not read.

    See :class:`KubernetesObjectOperator` and
    :class:`~netapp_dataops_airflow.operators.base.NetAppOperator` for the other parameters.
    """

    template_fields: Sequence[str] = (
        *KubernetesObjectOperator.template_fields,
        "pvc",
        "snapshot",
        "volume_snapshot_class",
        "derived_from",
    )
    resource = VOLUME_SNAPSHOTS
    trigger_class = VolumeSnapshotReadyTrigger

    def __init__(
        self,
        *,
        pvc: str | None = None,
        snapshot: str | None = None,
        volume_snapshot_class: str | None = None,
        derived_from: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pvc = pvc
        self.snapshot = snapshot
        self.volume_snapshot_class = volume_snapshot_class
        self.derived_from = derived_from

    def validate(self) -> None:
        """Check the names and ``derived_from``."""
        check_name(self.pvc, "pvc")
        if self.snapshot is not None:
            check_name(self.snapshot, "snapshot")
        if self.volume_snapshot_class is not None:
            check_name(self.volume_snapshot_class, "volume_snapshot_class")
        check_derived_from(self.derived_from, "default")  # the real namespace is known in build()

    def object_name(self, identity: str) -> str:
        """Return the given snapshot name, or ``<pvc>-<hash of the task instance>``."""
        return self.snapshot or derived_name(str(self.pvc), identity)

    async def build(self, client: KubernetesClient, namespace: str, name: str) -> JSON:
        """Check the PVC and the class; return the VolumeSnapshot."""
        claim = await sources.bound_claim(client, namespace, str(self.pvc))
        driver = await sources.csi_driver(client, claim)
        snapshot_class = await sources.snapshot_class_for(client, driver, self.volume_snapshot_class)
        metadata: JSON = {"name": name, "namespace": namespace}
        derived_from = check_derived_from(self.derived_from, namespace)
        if derived_from:
            metadata["annotations"] = {DERIVED_FROM_ANNOTATION: format_derived_from(derived_from)}
        return {
            "apiVersion": VOLUME_SNAPSHOTS.api_version,
            "kind": VOLUME_SNAPSHOTS.kind,
            "metadata": metadata,
            "spec": {
                "volumeSnapshotClassName": snapshot_class,
                "source": {"persistentVolumeClaimName": self.pvc},
            },
        }

    def differences(self, existing: JSON, wanted: JSON) -> list[str]:
        """Compare the source PVC, the class and what the data was derived from."""
        return _differences(
            existing,
            wanted,
            ("spec", "source"),
            ("spec", "volumeSnapshotClassName"),
            ("metadata", "annotations", DERIVED_FROM_ANNOTATION),
        )

    async def finished(self, client: KubernetesClient, obj: JSON) -> dict[str, Any] | None:
        """Return the result if the snapshot is ready (Trident snapshots often are at once)."""
        if dig(obj, "status", "readyToUse") is not True:
            return None
        content_name = dig(obj, "status", "boundVolumeSnapshotContentName")
        content = await client.get(VOLUME_SNAPSHOT_CONTENTS, content_name) if content_name else None
        return snapshot_result(obj, content)

    def lineage_of(self, result: Mapping[str, Any]) -> lineage.Lineage:
        """Read the PVC and the ``derived_from`` snapshots; write the snapshot (event: on the PVC)."""
        cluster, namespace = self.cluster_namespace(), str(result["namespace"])
        claim = lineage.kubernetes_dataset(
            cluster, namespace, "persistentvolumeclaims", str(result["source_pvc"])
        )
        origins = [
            lineage.kubernetes_dataset(cluster, ref["namespace"], "volumesnapshots", ref["name"])
            for ref in result.get("derived_from") or []
        ]
        snapshot = lineage.kubernetes_dataset(cluster, namespace, "volumesnapshots", str(result["name"]))
        return lineage.Lineage("volume_snapshot", [claim, *origins], [snapshot], [claim], result)


class CloneVolumeOperator(KubernetesObjectOperator):
    """Create a PVC cloned from a PVC or a VolumeSnapshot (a FlexClone under Trident) and wait until Bound.

    The task's XCom describes the clone: name, namespace, uid, bound PV, capacity, storage class,
    access modes, source kind and name, clone method.

    :param new_pvc: the new claim's name (templated); default: derived from the source and the task
        instance, so a retry finds the same claim.
    :param source_pvc: clone this PVC (templated); it must be Bound. Give this or ``source_snapshot``.
    :param source_snapshot: restore this VolumeSnapshot (templated); it must be ready to use.
    :param storage_class: default: the source PVC's class (for a snapshot, its source PVC's). A PVC is
        cloned within its own class; classes that bind on first consumer are refused.
    :param size: e.g. ``"20Gi"``; default: the source's size (a snapshot's restore size). Smaller
        than the source is an error.
    :param access_modes: default: the source PVC's access modes (``ReadWriteMany`` for a snapshot
        whose source PVC is gone).
    :param clone_method: ``"csi"`` (default): the CSI ``dataSource``, the standard way; ``"trident"``:
        Trident's ``trident.netapp.io/cloneFromPVC`` annotation (PVC sources only).

    See :class:`KubernetesObjectOperator` and
    :class:`~netapp_dataops_airflow.operators.base.NetAppOperator` for the other parameters.
    """

    template_fields: Sequence[str] = (
        *KubernetesObjectOperator.template_fields,
        "new_pvc",
        "source_pvc",
        "source_snapshot",
        "storage_class",
        "size",
        "access_modes",
    )
    resource = PERSISTENT_VOLUME_CLAIMS
    trigger_class = PersistentVolumeClaimBoundTrigger

    def __init__(
        self,
        *,
        new_pvc: str | None = None,
        source_pvc: str | None = None,
        source_snapshot: str | None = None,
        storage_class: str | None = None,
        size: str | None = None,
        access_modes: list[str] | None = None,
        clone_method: str = "csi",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.new_pvc = new_pvc
        self.source_pvc = source_pvc
        self.source_snapshot = source_snapshot
        self.storage_class = storage_class
        self.size = size
        self.access_modes = access_modes
        self.clone_method = clone_method

    def validate(self) -> None:
        """Check names, the source, the size, the access modes and the method."""
        if (self.source_pvc is None) == (self.source_snapshot is None):
            raise InvalidInputError("give exactly one of source_pvc and source_snapshot")
        for field in ("new_pvc", "source_pvc", "source_snapshot", "storage_class"):
            if getattr(self, field) is not None:
                check_name(getattr(self, field), field)
        if self.size is not None:
            check_size(self.size, "size")
        if self.access_modes is not None:
            modes = self.access_modes
            if (
                not isinstance(modes, list)
                or not modes
                or not all(isinstance(mode, str) and mode in ACCESS_MODES for mode in modes)
            ):
                raise InvalidInputError(
                    f"access_modes {self.access_modes!r} must be a non-empty list of {sorted(ACCESS_MODES)}"
                )
        if self.clone_method not in CLONE_METHODS:
            raise InvalidInputError(f"clone_method {self.clone_method!r} must be one of {CLONE_METHODS}")
        if self.clone_method == "trident" and self.source_pvc is None:
            raise InvalidInputError("clone_method 'trident' clones PVCs only; use 'csi' for source_snapshot")

    def object_name(self, identity: str) -> str:
        """Return the given name, or ``<source>-clone-<hash of the task instance>``."""
        return self.new_pvc or derived_name(f"{self.source_pvc or self.source_snapshot}-clone", identity)

    async def build(self, client: KubernetesClient, namespace: str, name: str) -> JSON:
        """Check the source, class and size; return the new PVC."""
        if self.source_pvc is not None:
            source = await sources.bound_claim(client, namespace, self.source_pvc)
            source_size = dig(source, "status", "capacity", "storage") or dig(
                source, "spec", "resources", "requests", "storage"
            )
            class_name = self.storage_class or dig(source, "spec", "storageClassName")
            if class_name != dig(source, "spec", "storageClassName"):
                raise InvalidInputError(
                    f"storage_class {class_name!r} differs from the source PVC's "
                    f"{dig(source, 'spec', 'storageClassName')!r}: a PVC is cloned within its StorageClass"
                )
            source_ref = {"kind": "PersistentVolumeClaim", "name": self.source_pvc}
        else:
            snapshot = await sources.ready_snapshot(client, namespace, str(self.source_snapshot))
            source_size = dig(snapshot, "status", "restoreSize")
            origin_name = dig(snapshot, "spec", "source", "persistentVolumeClaimName")
            origin = (
                await sources.get_or_none(client, PERSISTENT_VOLUME_CLAIMS, origin_name, namespace)
                if origin_name
                else None
            )
            class_name = self.storage_class or dig(origin, "spec", "storageClassName")
            if not class_name:
                raise InvalidInputError(
                    f"the source PVC of VolumeSnapshot {self.source_snapshot!r} is gone, so its "
                    "StorageClass is unknown: set `storage_class`"
                )
            source = origin or {}
            source_ref = {
                "apiGroup": SNAPSHOT_API_GROUP,
                "kind": "VolumeSnapshot",
                "name": str(self.source_snapshot),
            }
        await sources.storage_class(client, str(class_name))
        size = self._size(source_size)
        spec: JSON = {
            "accessModes": self.access_modes or dig(source, "spec", "accessModes") or ["ReadWriteMany"],
            "resources": {"requests": {"storage": size}},
            "storageClassName": class_name,
        }
        metadata: JSON = {"name": name, "namespace": namespace}
        if self.clone_method == "trident":
            metadata["annotations"] = {TRIDENT_CLONE_ANNOTATION: self.source_pvc}
        else:
            spec["dataSource"] = source_ref
        return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata, "spec": spec}

    def _size(self, source_size: Any) -> str:
        if source_size is None:
            if self.size is None:
                raise InvalidInputError("the source's size is unknown: set `size`")
            return str(self.size)
        if self.size is None:
            return str(source_size)
        if parse_quantity(self.size, "size") < parse_quantity(source_size, "the source's size"):
            raise InvalidInputError(
                f"size {self.size!r} is smaller than the source's {source_size!r}; a clone must be at "
                "least as large as its source"
            )
        return str(self.size)

    def differences(self, existing: JSON, wanted: JSON) -> list[str]:
        """Compare the source, class, size and access modes."""
        found = _differences(
            existing,
            wanted,
            ("spec", "dataSource"),
            ("spec", "storageClassName"),
            ("metadata", "annotations", TRIDENT_CLONE_ANNOTATION),
        )
        sizes = [dig(obj, "spec", "resources", "requests", "storage") for obj in (existing, wanted)]
        if parse_quantity(sizes[0] or 0) != parse_quantity(sizes[1] or 0):
            found.append(f"size is {sizes[0]!r}, not {sizes[1]!r}")
        modes = [sorted(dig(obj, "spec", "accessModes") or []) for obj in (existing, wanted)]
        if modes[0] != modes[1]:
            found.append(f"access modes are {modes[0]}, not {modes[1]}")
        return found

    async def finished(self, client: KubernetesClient, obj: JSON) -> dict[str, Any] | None:
        """Return the result if the claim is already Bound."""
        return claim_result(obj) if dig(obj, "status", "phase") == "Bound" else None

    def lineage_of(self, result: Mapping[str, Any]) -> lineage.Lineage:
        """Read the source PVC or VolumeSnapshot; write the new PVC."""
        cluster, namespace = self.cluster_namespace(), str(result["namespace"])
        plural = (
            "volumesnapshots" if result.get("source_kind") == "VolumeSnapshot" else "persistentvolumeclaims"
        )
        source = lineage.kubernetes_dataset(cluster, namespace, plural, str(result["source_name"]))
        claim = lineage.kubernetes_dataset(cluster, namespace, "persistentvolumeclaims", str(result["name"]))
        return lineage.Lineage("volume_clone", [source], [claim], [claim], result)


def _differences(existing: JSON, wanted: JSON, *paths: tuple[str, ...]) -> list[str]:
    found = []
    for path in paths:
        have, want = dig(existing, *path), dig(wanted, *path)
        if have != want:
            found.append(f"{'.'.join(path[-2:])} is {have!r}, not {want!r}")
    return found
