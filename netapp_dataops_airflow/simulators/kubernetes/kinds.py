"""The resource table: every kind the simulator serves, with its REST and discovery facts."""

from __future__ import annotations

from dataclasses import dataclass

CORE = ""
STORAGE = "storage.k8s.io"
SNAPSHOT = "snapshot.storage.k8s.io"
RBAC = "rbac.authorization.k8s.io"
AUTHORIZATION = "authorization.k8s.io"

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
STATUS_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class Kind:
    """One served resource: where it lives on the wire and how it behaves."""

    group: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    has_status: bool = False
    short_names: tuple[str, ...] = ()
    # Custom resources (CRDs) differ in small ways: no strategic merge, apiVersion/kind in list items.
    custom: bool = False
    # Field labels a fieldSelector may use besides metadata.name and metadata.namespace.
    extra_field_labels: tuple[str, ...] = ()
    version: str = "v1"

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, ``<group>/<version>`` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """The resource name used in error messages: ``<plural>`` or ``<plural>.<group>``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """The kind name used in validation messages: ``<Kind>`` or ``<Kind>.<group>``."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def field_labels(self) -> frozenset[str]:
        """Every field label a fieldSelector may use on this resource."""
        base = {"metadata.name"} | ({"metadata.namespace"} if self.namespaced else set())
        return frozenset(base | set(self.extra_field_labels))


_INVOLVED = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
EVENT_FIELDS = (
    *(f"involvedObject.{field}" for field in _INVOLVED),
    "reason",
    "source",
    "type",
    "reportingComponent",
)

NAMESPACES = Kind(
    CORE,
    "namespaces",
    "namespace",
    "Namespace",
    False,
    short_names=("ns",),
    extra_field_labels=("status.phase",),
)
PVCS = Kind(
    CORE,
    "persistentvolumeclaims",
    "persistentvolumeclaim",
    "PersistentVolumeClaim",
    True,
    has_status=True,
    short_names=("pvc",),
)
PVS = Kind(
    CORE,
    "persistentvolumes",
    "persistentvolume",
    "PersistentVolume",
    False,
    has_status=True,
    short_names=("pv",),
)
EVENTS = Kind(CORE, "events", "event", "Event", True, short_names=("ev",), extra_field_labels=EVENT_FIELDS)
PODS = Kind(
    CORE,
    "pods",
    "pod",
    "Pod",
    True,
    short_names=("po",),
    extra_field_labels=("spec.nodeName", "status.phase"),
)
STORAGE_CLASSES = Kind(STORAGE, "storageclasses", "storageclass", "StorageClass", False, short_names=("sc",))
SNAPSHOTS = Kind(
    SNAPSHOT,
    "volumesnapshots",
    "volumesnapshot",
    "VolumeSnapshot",
    True,
    has_status=True,
    short_names=("vs",),
    custom=True,
)
CONTENTS = Kind(
    SNAPSHOT,
    "volumesnapshotcontents",
    "volumesnapshotcontent",
    "VolumeSnapshotContent",
    False,
    has_status=True,
    short_names=("vsc", "vscs"),
    custom=True,
)
SNAPSHOT_CLASSES = Kind(
    SNAPSHOT,
    "volumesnapshotclasses",
    "volumesnapshotclass",
    "VolumeSnapshotClass",
    False,
    short_names=("vsclass", "vsclasses"),
    custom=True,
)

SERVICE_ACCOUNTS = Kind(
    CORE, "serviceaccounts", "serviceaccount", "ServiceAccount", True, short_names=("sa",)
)
ROLES = Kind(RBAC, "roles", "role", "Role", True)
CLUSTER_ROLES = Kind(RBAC, "clusterroles", "clusterrole", "ClusterRole", False)
ROLE_BINDINGS = Kind(RBAC, "rolebindings", "rolebinding", "RoleBinding", True)
CLUSTER_ROLE_BINDINGS = Kind(RBAC, "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", False)

KINDS: tuple[Kind, ...] = (
    NAMESPACES,
    PVCS,
    PVS,
    EVENTS,
    PODS,
    STORAGE_CLASSES,
    SNAPSHOTS,
    CONTENTS,
    SNAPSHOT_CLASSES,
    SERVICE_ACCOUNTS,
    ROLES,
    CLUSTER_ROLES,
    ROLE_BINDINGS,
    CLUSTER_ROLE_BINDINGS,
)
# authorization.k8s.io serves only the access reviews (not stored; see reviews.py).
GROUPS: tuple[str, ...] = (STORAGE, SNAPSHOT, RBAC, AUTHORIZATION)

_BY_PLURAL = {(k.group, k.version, k.plural): k for k in KINDS}
_BY_KIND = {(k.api_version, k.kind): k for k in KINDS}


def by_plural(group: str, version: str, plural: str) -> Kind | None:
    """Return the kind served at ``<group>/<version>/<plural>``, if any."""
    return _BY_PLURAL.get((group, version, plural))


def by_kind(api_version: str, kind: str) -> Kind | None:
    """Return the kind named by an object's ``apiVersion`` and ``kind``, if served."""
    return _BY_KIND.get((api_version, kind))


def in_group(group: str) -> tuple[Kind, ...]:
    """Every kind of ``group`` (``""`` is the core group)."""
    return tuple(k for k in KINDS if k.group == group)
