"""Object validation as kube-apiserver and the snapshot CRDs' CEL rules do it (422 causes)."""

from __future__ import annotations

import re
from typing import Any

from . import kinds
from .errors import Cause, invalid
from .kinds import Kind
from .quantities import parse_quantity
from .rbac_validation import (
    cluster_role_binding_causes,
    cluster_role_causes,
    role_binding_causes,
    role_causes,
)

JSON = dict[str, Any]

_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = rf"{_LABEL_FMT}(\.{_LABEL_FMT})*"
_QUALIFIED_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    f"validation is '{_SUBDOMAIN_FMT}')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    f"validation is '{_LABEL_FMT}')"
)
_NAME_PART_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    f"'{_QUALIFIED_FMT}')"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    f"regex used for validation is '({_QUALIFIED_FMT})?')"
)
_MAX_ANNOTATIONS_BYTES = 256 * 1024
PVC_ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
DELETION_POLICIES = ("Delete", "Retain")


def _full(pattern: str, text: str) -> bool:
    return re.fullmatch(pattern, text) is not None


def dns_subdomain_errors(name: str) -> list[str]:
    """Messages for a name that is not a DNS-1123 subdomain (empty list when valid)."""
    errors = ["must be no more than 253 characters"] if len(name) > 253 else []
    if not _full(_SUBDOMAIN_FMT, name):
        errors.append(_SUBDOMAIN_MSG)
    return errors


def dns_label_errors(name: str) -> list[str]:
    """Messages for a name that is not a DNS-1123 label."""
    errors = ["must be no more than 63 characters"] if len(name) > 63 else []
    if not _full(_LABEL_FMT, name):
        errors.append(_LABEL_MSG)
    return errors


def qualified_name_errors(key: str) -> list[str]:
    """Messages for a label or annotation key (``[prefix/]name``)."""
    prefix, _, name = key.rpartition("/")
    errors = []
    if "/" in key and not prefix:
        errors.append("prefix part must be non-empty")
    elif prefix:
        errors += [f"prefix part {msg}" for msg in dns_subdomain_errors(prefix)]
    if not name:
        errors.append("name part must be non-empty")
    else:
        if len(name) > 63:
            errors.append("name part must be no more than 63 characters")
        if not _full(_QUALIFIED_FMT, name):
            errors.append(_NAME_PART_MSG)
    return errors


def label_value_errors(value: str) -> list[str]:
    """Messages for a label value."""
    errors = ["must be no more than 63 characters"] if len(value) > 63 else []
    if value and not _full(_QUALIFIED_FMT, value):
        errors.append(_LABEL_VALUE_MSG)
    return errors


def _invalid(field: str, value: object, detail: str) -> Cause:
    return Cause("FieldValueInvalid", field, detail, value)


def _required(field: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", field, detail)


def _unsupported(field: str, value: object, supported: tuple[str, ...]) -> Cause:
    listed = ", ".join(f'"{s}"' for s in supported)
    return Cause("FieldValueNotSupported", field, f"supported values: {listed}", value)


def _forbidden(field: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", field, detail)


def _cel(field: str, value_type: str, message: str) -> Cause:
    # CEL rule failures print the value's type, not its value.
    return _invalid(field, value_type, message)


def metadata_causes(kind: Kind, meta: JSON) -> list[Cause]:
    """Name, label and annotation errors."""
    causes = []
    name = meta.get("name") or ""
    if not name:
        causes.append(_required("metadata.name", "name or generateName is required"))
    else:
        check = dns_label_errors if kind is kinds.NAMESPACES else dns_subdomain_errors
        causes += [_invalid("metadata.name", name, msg) for msg in check(name)]
    for key, value in (meta.get("labels") or {}).items():
        causes += [_invalid("metadata.labels", key, msg) for msg in qualified_name_errors(key)]
        causes += [_invalid("metadata.labels", value, msg) for msg in label_value_errors(str(value))]
    annotations = meta.get("annotations") or {}
    for key in annotations:
        causes += [_invalid("metadata.annotations", key, msg) for msg in qualified_name_errors(key.lower())]
    if sum(len(k) + len(str(v)) for k, v in annotations.items()) > _MAX_ANNOTATIONS_BYTES:
        causes.append(
            Cause(
                "FieldValueTooLong",
                "metadata.annotations",
                f"must have at most {_MAX_ANNOTATIONS_BYTES} bytes",
            )
        )
    return causes


def _pvc_causes(obj: JSON, old: JSON | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes = []
    modes = spec.get("accessModes") or []
    if not modes:
        causes.append(_required("spec.accessModes", "at least 1 access mode is required"))
    causes += [
        _unsupported("spec.accessModes", m, PVC_ACCESS_MODES) for m in modes if m not in PVC_ACCESS_MODES
    ]
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is None:
        causes.append(_required("spec.resources[storage]"))
    else:
        parse_quantity(storage)
    source, ref = spec.get("dataSource"), spec.get("dataSourceRef")
    if source and ref and not ref.get("namespace") and _ref_key(source) != _ref_key(ref):
        causes.append(_invalid("spec.dataSource", source, "must match dataSourceRef"))
    if old is not None:
        causes += _pvc_update_causes(spec, old.get("spec") or {}, (old.get("status") or {}).get("phase"))
    return causes


def _ref_key(ref: JSON) -> tuple[str, str, str]:
    return (ref.get("apiGroup") or "", ref.get("kind") or "", ref.get("name") or "")


def _pvc_update_causes(spec: JSON, old_spec: JSON, phase: str | None) -> list[Cause]:
    # Only requests (expansion of bound claims) and volumeAttributesClassName may change; the binder
    # may fill volumeName and a defaulted storageClassName once.
    mutable = {"resources", "volumeAttributesClassName"}
    fillable = {"volumeName", "storageClassName"}
    changed = {
        key
        for key in set(spec) | set(old_spec)
        if spec.get(key) != old_spec.get(key) and not (key in fillable and not old_spec.get(key))
    }
    causes = []
    if changed - mutable:
        causes.append(
            _forbidden(
                "spec",
                "spec is immutable after creation except resources.requests and volumeAttributesClassName "
                "for bound claims",
            )
        )
    new_req = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    old_req = ((old_spec.get("resources") or {}).get("requests") or {}).get("storage")
    if "resources" in changed and new_req is not None and old_req is not None:
        if parse_quantity(new_req) < parse_quantity(old_req):
            causes.append(
                _forbidden("spec.resources.requests.storage", "field can not be less than status.capacity")
            )
        elif phase != "Bound":
            causes.append(
                _forbidden(
                    "spec",
                    "spec is immutable after creation except resources.requests and "
                    "volumeAttributesClassName for bound claims",
                )
            )
    return causes


def _snapshot_causes(obj: JSON, old: JSON | None) -> list[Cause]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [_required("spec")]
    source = spec.get("source")
    causes = []
    if spec.get("volumeSnapshotClassName") == "":
        causes.append(
            _cel(
                "spec.volumeSnapshotClassName",
                "string",
                "volumeSnapshotClassName must not be the empty string when set",
            )
        )
    if not isinstance(source, dict):
        return [*causes, _required("spec.source")]
    fields = ("persistentVolumeClaimName", "volumeSnapshotContentName")
    if sum(1 for f in fields if f in source) != 1:
        causes.append(
            _cel(
                "spec.source",
                "object",
                "exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set",
            )
        )
    old_source = ((old or {}).get("spec") or {}).get("source") or {}
    causes += _immutable_fields("spec.source", source, old_source, fields) if old else []
    return causes


def _immutable_fields(prefix: str, new: JSON, old: JSON, fields: tuple[str, ...]) -> list[Cause]:
    causes = []
    for f in fields:
        if f in old and f not in new:
            causes.append(_cel(prefix, "object", f"{f} is required once set"))
        elif f in old and new[f] != old[f]:
            causes.append(_cel(f"{prefix}.{f}", "string", f"{f} is immutable"))
    return causes


def _content_causes(obj: JSON, old: JSON | None) -> list[Cause]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [_required("spec")]
    causes = [
        _required(f"spec.{f}")
        for f in ("deletionPolicy", "driver", "source", "volumeSnapshotRef")
        if f not in spec
    ]
    policy = spec.get("deletionPolicy")
    if policy is not None and policy not in DELETION_POLICIES:
        causes.append(_unsupported("spec.deletionPolicy", policy, DELETION_POLICIES))
    source = spec.get("source")
    handles = ("volumeHandle", "snapshotHandle")
    if isinstance(source, dict):
        if sum(1 for h in handles if h in source) != 1:
            causes.append(
                _cel("spec.source", "object", "exactly one of volumeHandle and snapshotHandle must be set")
            )
        if old:
            causes += _immutable_fields(
                "spec.source", source, (old.get("spec") or {}).get("source") or {}, handles
            )
    ref = spec.get("volumeSnapshotRef")
    if isinstance(ref, dict) and not (ref.get("name") and ref.get("namespace")):
        causes.append(
            _cel(
                "spec.volumeSnapshotRef",
                "object",
                "both spec.volumeSnapshotRef.name and spec.volumeSnapshotRef.namespace must be set",
            )
        )
    old_mode = ((old or {}).get("spec") or {}).get("sourceVolumeMode")
    if old_mode is not None and spec.get("sourceVolumeMode") != old_mode:
        causes.append(_cel("spec.sourceVolumeMode", "string", "sourceVolumeMode is immutable"))
    return causes


def _snapshot_class_causes(obj: JSON, old: JSON | None) -> list[Cause]:
    causes = [_required(f) for f in ("deletionPolicy", "driver") if f not in obj]
    policy = obj.get("deletionPolicy")
    if policy is not None and policy not in DELETION_POLICIES:
        causes.append(_unsupported("deletionPolicy", policy, DELETION_POLICIES))
    return causes


def _storage_class_causes(obj: JSON, old: JSON | None) -> list[Cause]:
    causes = [] if obj.get("provisioner") else [_required("provisioner")]
    policy = obj.get("reclaimPolicy")
    if policy is not None and policy not in (*DELETION_POLICIES, "Recycle"):
        causes.append(_unsupported("reclaimPolicy", policy, DELETION_POLICIES))
    mode = obj.get("volumeBindingMode")
    modes = ("Immediate", "WaitForFirstConsumer")
    if mode is not None and mode not in modes:
        causes.append(_unsupported("volumeBindingMode", mode, modes))
    for field in ("parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"):
        if old is not None and obj.get(field) != old.get(field):
            causes.append(_forbidden(field, f"updates to {field} are forbidden."))
    return causes


def _pv_causes(obj: JSON, old: JSON | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes = [] if (spec.get("capacity") or {}).get("storage") else [_required("spec.capacity")]
    if not spec.get("accessModes"):
        causes.append(_required("spec.accessModes"))
    return causes


def _pod_causes(obj: JSON, old: JSON | None) -> list[Cause]:
    return [] if (obj.get("spec") or {}).get("containers") else [_required("spec.containers")]


_RULES = {
    kinds.PVCS: _pvc_causes,
    kinds.PVS: _pv_causes,
    kinds.PODS: _pod_causes,
    kinds.SNAPSHOTS: _snapshot_causes,
    kinds.CONTENTS: _content_causes,
    kinds.SNAPSHOT_CLASSES: _snapshot_class_causes,
    kinds.STORAGE_CLASSES: _storage_class_causes,
    kinds.ROLES: role_causes,
    kinds.CLUSTER_ROLES: cluster_role_causes,
    kinds.ROLE_BINDINGS: role_binding_causes,
    kinds.CLUSTER_ROLE_BINDINGS: cluster_role_binding_causes,
}


def validate(kind: Kind, obj: JSON, old: JSON | None = None) -> None:
    """Raise 422 Invalid when ``obj`` (a create, or an update of ``old``) breaks a rule."""
    meta = obj.get("metadata") or {}
    causes = metadata_causes(kind, meta)
    rule = _RULES.get(kind)
    if rule is not None:
        causes += rule(obj, old)
    if causes:
        raise invalid(kind, meta.get("name") or meta.get("generateName") or "", causes)
