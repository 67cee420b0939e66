"""Reading and building the Kubernetes objects this library deals with: PVCs and VolumeSnapshots.

Pure functions over plain dicts (as :mod:`~netapp_dataops_airflow.clients.kubernetes` returns them),
so operators, triggers and tests share one reading of every field.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

# dig is re-exported: operators and triggers read objects with it from here.
from netapp_dataops_airflow.clients._json import dig as dig
from netapp_dataops_airflow.clients.kubernetes import JSON
from netapp_dataops_airflow.exceptions import InvalidInputError

DEFAULT_SNAPSHOT_CLASS_ANNOTATION = "snapshot.storage.kubernetes.io/is-default-class"
DEFAULT_STORAGE_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
TRIDENT_CLONE_ANNOTATION = "trident.netapp.io/cloneFromPVC"
#: On a VolumeSnapshot: the snapshots its data was produced from, ``namespace/name`` joined by commas.
DERIVED_FROM_ANNOTATION = "dataops.netapp.io/derived-from"
SNAPSHOT_API_GROUP = "snapshot.storage.k8s.io"

#: The largest storage size Kubernetes can hold (a signed 64-bit number of bytes).
MAX_STORAGE_BYTES = 2**63 - 1
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUANTITY = re.compile(r"^([0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|[eE][0-9]+)?$")
_FACTORS = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}  # fmt: skip


def check_name(value: Any, what: str) -> str:
    """Return ``value`` if it is a valid object name (a DNS-1123 subdomain), else explain the rule."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > 253 or not _DNS_SUBDOMAIN.fullmatch(value):
        raise InvalidInputError(
            f"{what} {value!r} is not a valid Kubernetes name: use at most 253 lowercase letters, "
            "digits, '-' and '.', starting and ending with a letter or digit"
        )
    return value


def check_namespace(value: Any) -> str:
    """Return ``value`` if it is a valid namespace name (a DNS-1123 label)."""
    if not isinstance(value, str) or len(value) > 63 or not _DNS_LABEL.fullmatch(value):
        raise InvalidInputError(
            f"namespace {value!r} is not a valid namespace name: use at most 63 lowercase letters, "
            "digits and '-', starting and ending with a letter or digit"
        )
    return value


def check_labels(labels: Any) -> dict[str, str]:
    """Return ``labels`` if every key and value is valid for Kubernetes; else name the bad one."""
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise InvalidInputError(f"labels must be a dict of strings, got {type(labels).__name__}")
    for key, value in labels.items():
        prefix, _, name = str(key).rpartition("/")
        if (
            not isinstance(key, str)
            or not name
            or len(name) > 63
            or not _LABEL_VALUE.fullmatch(name)
            or (prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)))
        ):
            raise InvalidInputError(
                f"label key {key!r} is invalid: an optional DNS prefix and '/', then at most 63 "
                "letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
            )
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
            raise InvalidInputError(
                f"label {key!r} has an invalid value {value!r}: use a string of at most 63 letters, "
                "digits, '-', '_' or '.', starting and ending with a letter or digit"
            )
    return dict(labels)


def parse_quantity(value: Any, what: str = "size") -> int:
    """Bytes in a storage quantity such as ``10Gi``, ``500M`` or ``1e9`` (rounded up).

    At most :data:`MAX_STORAGE_BYTES`: Kubernetes reads storage sizes as 64-bit integers, and a huge
    exponent (``1e999999999``) must not turn into a billion-digit integer here.
    """
    match = _QUANTITY.fullmatch(str(value).strip()) if isinstance(value, (str, int)) else None
    if match is None or isinstance(value, bool):
        raise InvalidInputError(
            f"{what} {value!r} is not a storage quantity: use a number with an optional suffix "
            "such as 10Gi, 500Mi or 1T"
        )
    number, suffix = match.groups()
    exponent = bool(suffix) and suffix[0] in "eE" and suffix[1:].isdigit()  # "E" and "Ei" are units
    try:
        amount = Decimal(number + suffix) if exponent else Decimal(number)
        total = amount * (1 if exponent else _FACTORS.get(suffix or "", 1))
    except ArithmeticError:  # InvalidOperation ("1.2.3"), Overflow
        total = None
    if total is None or not total.is_finite():
        raise InvalidInputError(f"{what} {value!r} is not a storage quantity")
    if total > MAX_STORAGE_BYTES:
        raise InvalidInputError(f"{what} {value!r} is too large: Kubernetes holds at most 8Ei (2^63-1 bytes)")
    return math.ceil(total)


def check_size(value: Any, what: str = "size") -> int:
    """Return the bytes of a storage size a user gave; refuse blanks (``"1 Gi"``), zero and overflow.

    The text is sent to Kubernetes as given, so it must be what the API server accepts, not just
    what :func:`parse_quantity` can read.
    """
    if isinstance(value, str) and any(character.isspace() for character in value):
        raise InvalidInputError(
            f"{what} {value!r} contains blanks: write the quantity without spaces, such as 10Gi"
        )
    size = parse_quantity(value, what)
    if size <= 0:
        raise InvalidInputError(f"{what} {value!r} must be more than 0 bytes")
    return size


def is_default_class(storage_or_snapshot_class: JSON, annotation: str) -> bool:
    """Whether a StorageClass or VolumeSnapshotClass carries its 'default class' annotation."""
    return str(dig(storage_or_snapshot_class, "metadata", "annotations", annotation)).lower() == "true"


def snapshot_result(snapshot: JSON, content: JSON | None) -> dict[str, Any]:
    """Summarize a snapshot as its task's XCom: what a later task needs to restore or clone from it."""
    status = snapshot.get("status") or {}
    return {
        "name": dig(snapshot, "metadata", "name"),
        "namespace": dig(snapshot, "metadata", "namespace"),
        "uid": dig(snapshot, "metadata", "uid"),
        "source_pvc": dig(snapshot, "spec", "source", "persistentVolumeClaimName"),
        "volume_snapshot_class": dig(snapshot, "spec", "volumeSnapshotClassName"),
        "volume_snapshot_content": status.get("boundVolumeSnapshotContentName"),
        "snapshot_handle": dig(content, "status", "snapshotHandle"),
        "restore_size": status.get("restoreSize"),
        "creation_time": status.get("creationTime"),
        "ready_to_use": status.get("readyToUse") is True,
        "derived_from": parse_derived_from(dig(snapshot, "metadata", "annotations", DERIVED_FROM_ANNOTATION)),
    }


def claim_result(claim: JSON) -> dict[str, Any]:
    """Summarize a cloned claim as its task's XCom: the claim and what it was cloned from."""
    source = dig(claim, "spec", "dataSource") or {}
    annotations = dig(claim, "metadata", "annotations") or {}
    if source:
        source_kind, source_name, method = source.get("kind"), source.get("name"), "csi"
    else:
        source_kind, source_name = "PersistentVolumeClaim", annotations.get(TRIDENT_CLONE_ANNOTATION)
        method = "trident"
    return {
        "name": dig(claim, "metadata", "name"),
        "namespace": dig(claim, "metadata", "namespace"),
        "uid": dig(claim, "metadata", "uid"),
        "volume": dig(claim, "spec", "volumeName"),
        "capacity": dig(claim, "status", "capacity", "storage"),
        "storage_class": dig(claim, "spec", "storageClassName"),
        "access_modes": dig(claim, "status", "accessModes") or dig(claim, "spec", "accessModes"),
        "phase": dig(claim, "status", "phase"),
        "source_kind": source_kind,
        "source_name": source_name,
        "clone_method": method,
    }


_DERIVED_FROM_FIX = (
    "give a snapshot task's result (a dict with 'name' and 'namespace'), 'namespace/name', 'name' "
    "(this snapshot's namespace), or a list of these"
)


def check_derived_from(value: Any, namespace: str) -> list[dict[str, str]]:
    """Read the snapshots a snapshot's data was produced from; ``[]`` for ``None``.

    Each entry becomes ``{"namespace": ..., "name": ...}``; a name without a namespace is in
    ``namespace``. A clone's result (a PVC) is refused: lineage names snapshots, which stay put.
    """
    if value is None:
        return []
    entries = value if isinstance(value, (list, tuple)) else [value]
    found: list[dict[str, str]] = []
    for entry in entries:
        reference = _snapshot_reference(entry, namespace)
        if reference not in found:
            found.append(reference)
    return found


def _snapshot_reference(entry: Any, namespace: str) -> dict[str, str]:
    if isinstance(entry, dict):
        if "source_kind" in entry or "name" not in entry:
            what = "a clone's result (a PVC)" if "source_kind" in entry else "a dict without 'name'"
            raise InvalidInputError(f"derived_from entry {entry!r} is {what}; {_DERIVED_FROM_FIX}")
        name, where = entry["name"], entry.get("namespace") or namespace
    elif isinstance(entry, str) and entry.count("/") <= 1:
        where, _, name = entry.strip().rpartition("/")
        where = where or namespace
    else:
        raise InvalidInputError(f"derived_from entry {entry!r} names no snapshot; {_DERIVED_FROM_FIX}")
    try:
        return {"namespace": check_namespace(where), "name": check_name(name, "derived_from name")}
    except InvalidInputError as exc:
        raise InvalidInputError(f"derived_from entry {entry!r}: {exc}") from None


def format_derived_from(references: list[dict[str, str]]) -> str:
    """Return the annotation's value: ``namespace/name`` joined by commas (names hold neither)."""
    return ",".join(f"{reference['namespace']}/{reference['name']}" for reference in references)


def parse_derived_from(annotation: Any) -> list[dict[str, str]]:
    """Read the annotation back; anything unreadable (edited by hand) is left out."""
    if not isinstance(annotation, str):
        return []
    found = []
    for item in annotation.split(","):
        namespace, _, name = item.strip().partition("/")
        if namespace and name and _DNS_LABEL.fullmatch(namespace) and _DNS_SUBDOMAIN.fullmatch(name):
            found.append({"namespace": namespace, "name": name})
    return found
