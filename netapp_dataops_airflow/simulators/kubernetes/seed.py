"""Ready-made objects: the default cluster contents and bound claims with their volumes."""

from __future__ import annotations

from .meta import JSON, new_uid

TRIDENT = "csi.trident.netapp.io"
DEFAULT_CLASS = "ontap-nas"
WFFC_CLASS = "ontap-nas-wffc"
DEFAULT_SNAPSHOT_CLASS = "csi-snapclass"
IS_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
IS_DEFAULT_SNAPSHOT_CLASS = "snapshot.storage.kubernetes.io/is-default-class"
PV_FINALIZERS = ["kubernetes.io/pv-protection", "external-provisioner.volume.kubernetes.io/finalizer"]
PVC_PROTECTION = "kubernetes.io/pvc-protection"
# A made-up Trident backend: PVs carry its UUID in their CSI volume attributes.
BACKEND_UUID = "2f4b0c4e-7d1a-4c55-9a3e-5b0d1c7e9f10"


def storage_class(name: str, *, binding_mode: str = "Immediate", default: bool = False) -> JSON:
    """Build a Trident ontap-nas StorageClass."""
    annotations = {IS_DEFAULT_CLASS: "true"} if default else {}
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name, "annotations": annotations},
        "provisioner": TRIDENT,
        "parameters": {"backendType": "ontap-nas"},
        "reclaimPolicy": "Delete",
        "volumeBindingMode": binding_mode,
        "allowVolumeExpansion": True,
    }


_RBAC_V1 = "rbac.authorization.k8s.io/v1"
_DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*"]
_PUBLIC_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
# The part of kube-apiserver's bootstrap policy every authenticated user relies on, and the admin.
_BOOTSTRAP_ROLES: tuple[tuple[str, list[JSON], list[str]], ...] = (
    (
        "cluster-admin",
        [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]},
        ],
        ["system:masters"],
    ),
    (
        "system:discovery",
        [{"nonResourceURLs": sorted({*_DISCOVERY_URLS, *_PUBLIC_URLS}), "verbs": ["get"]}],
        ["system:authenticated"],
    ),
    (
        "system:basic-user",
        [
            {
                "apiGroups": ["authorization.k8s.io"],
                "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                "verbs": ["create"],
            },
            {
                "apiGroups": ["authentication.k8s.io"],
                "resources": ["selfsubjectreviews"],
                "verbs": ["create"],
            },
        ],
        ["system:authenticated"],
    ),
    (
        "system:public-info-viewer",
        [{"nonResourceURLs": _PUBLIC_URLS, "verbs": ["get"]}],
        ["system:authenticated", "system:unauthenticated"],
    ),
)


def bootstrap_rbac() -> list[JSON]:
    """Return the ClusterRoles and ClusterRoleBindings a fresh cluster has for admins and every user."""
    objects: list[JSON] = []
    for name, rules, groups in _BOOTSTRAP_ROLES:
        labels = {"kubernetes.io/bootstrapping": "rbac-defaults"}
        annotations = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
        meta = {"name": name, "labels": labels, "annotations": annotations}
        objects.append({"apiVersion": _RBAC_V1, "kind": "ClusterRole", "metadata": meta, "rules": rules})
        objects.append(
            {
                "apiVersion": _RBAC_V1,
                "kind": "ClusterRoleBinding",
                "metadata": meta,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}
                    for group in groups
                ],
            }
        )
    return objects


def default_objects() -> list[JSON]:
    """Return what a fresh simulated cluster holds."""
    namespaces = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }
        for name in ("default", "kube-system")
    ]
    return [
        *namespaces,
        storage_class(DEFAULT_CLASS, default=True),
        storage_class(WFFC_CLASS, binding_mode="WaitForFirstConsumer"),
        {
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshotClass",
            "metadata": {"name": DEFAULT_SNAPSHOT_CLASS, "annotations": {IS_DEFAULT_SNAPSHOT_CLASS: "true"}},
            "driver": TRIDENT,
            "deletionPolicy": "Delete",
        },
        *bootstrap_rbac(),
    ]


def volume_for(claim: JSON, *, reclaim_policy: str = "Delete") -> JSON:
    """Build the PV Trident provisions for ``claim`` (named ``pvc-<claim uid>``), already Bound."""
    meta, spec = claim["metadata"], claim["spec"]
    name = f"pvc-{meta['uid']}"
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": name,
            "annotations": {
                "pv.kubernetes.io/provisioned-by": TRIDENT,
                "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                "volume.kubernetes.io/provisioner-deletion-secret-namespace": "",
            },
            "finalizers": list(PV_FINALIZERS),
        },
        "spec": {
            "accessModes": list(spec["accessModes"]),
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "csi": {
                "driver": TRIDENT,
                "volumeHandle": name,
                "volumeAttributes": {
                    "backendUUID": BACKEND_UUID,
                    "internalName": "trident_" + name.replace("-", "_"),
                    "name": name,
                    "protocol": "file",
                    "storage.kubernetes.io/csiProvisionerIdentity": f"1700000000000-8081-{TRIDENT}",
                },
            },
            "persistentVolumeReclaimPolicy": reclaim_policy,
            "storageClassName": spec.get("storageClassName", ""),
            "volumeMode": spec.get("volumeMode", "Filesystem"),
        },
        "status": {"phase": "Bound"},
    }


def bind(claim: JSON, volume_name: str) -> None:
    """Make ``claim`` Bound to ``volume_name`` the way the PV controller does."""
    spec = claim["spec"]
    claim["spec"]["volumeName"] = volume_name
    claim["metadata"].setdefault("annotations", {}).update(
        {
            "pv.kubernetes.io/bind-completed": "yes",
            "pv.kubernetes.io/bound-by-controller": "yes",
            "volume.beta.kubernetes.io/storage-provisioner": TRIDENT,
            "volume.kubernetes.io/storage-provisioner": TRIDENT,
        }
    )
    claim["status"] = {
        "phase": "Bound",
        "accessModes": list(spec["accessModes"]),
        "capacity": {"storage": spec["resources"]["requests"]["storage"]},
    }


def bound_claim(
    name: str,
    namespace: str = "default",
    *,
    size: str = "1Gi",
    storage_class_name: str = DEFAULT_CLASS,
    access_modes: tuple[str, ...] = ("ReadWriteMany",),
    labels: dict[str, str] | None = None,
) -> list[JSON]:
    """Build a Bound PVC and its PV, ready for :meth:`~.models.KubernetesBackend.seed`."""
    claim: JSON = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": new_uid(),
            "labels": dict(labels or {}),
            "finalizers": [PVC_PROTECTION],
        },
        "spec": {
            "accessModes": list(access_modes),
            "resources": {"requests": {"storage": size}},
            "storageClassName": storage_class_name,
            "volumeMode": "Filesystem",
        },
    }
    volume = volume_for(claim)
    bind(claim, volume["metadata"]["name"])
    return [claim, volume]
