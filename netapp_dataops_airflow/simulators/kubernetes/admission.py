"""Admission on create: what the apiserver's plugins add before an object is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import kinds
from .kinds import Kind
from .meta import JSON, add_finalizer, metadata
from .seed import IS_DEFAULT_CLASS, PV_FINALIZERS, PVC_PROTECTION

if TYPE_CHECKING:
    from .models import KubernetesBackend


def admit_create(backend: KubernetesBackend, kind: Kind, obj: JSON) -> None:
    """Mutate ``obj`` as admission would: protection finalizers, default class, data-source copies."""
    if kind is kinds.PVCS:
        add_finalizer(obj, PVC_PROTECTION)
        spec = obj.setdefault("spec", {})
        spec.setdefault("volumeMode", "Filesystem")
        if "storageClassName" not in spec:  # DefaultStorageClass plugin
            defaults = [
                c
                for c in backend.objects(kinds.STORAGE_CLASSES)
                if metadata(c).get("annotations", {}).get(IS_DEFAULT_CLASS) == "true"
            ]
            if defaults:
                spec["storageClassName"] = metadata(defaults[-1])["name"]
        _copy_data_source(spec)
    elif kind is kinds.PVS:
        for name in PV_FINALIZERS[:1]:
            add_finalizer(obj, name)
    elif kind is kinds.NAMESPACES:
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["status"] = {"phase": "Active"}
    elif kind is kinds.PODS:
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}


def _copy_data_source(spec: JSON) -> None:
    # AnyVolumeDataSource: dataSource and dataSourceRef mirror each other when no namespace is given.
    source, ref = spec.get("dataSource"), spec.get("dataSourceRef")
    if source and not ref:
        spec["dataSourceRef"] = dict(source)
    elif ref and not source and not ref.get("namespace"):
        spec["dataSource"] = {k: v for k, v in ref.items() if k != "namespace"}
