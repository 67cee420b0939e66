"""Small helpers for object metadata shared by the store, the controllers and seeding."""

from __future__ import annotations

import copy
import secrets
import time
import uuid
from typing import Any

JSON = dict[str, Any]

# apimachinery's SimpleNameGenerator alphabet: no vowels, no confusable digits.
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now() -> str:
    """Return the current time as RFC 3339 with seconds and ``Z``, as metav1.Time marshals."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def new_uid() -> str:
    """Make a fresh object UID."""
    return str(uuid.uuid4())


def generate_name(prefix: str) -> str:
    """``prefix`` plus five random characters, as ``metadata.generateName`` does."""
    return prefix + "".join(secrets.choice(_GENERATE_ALPHABET) for _ in range(5))


def metadata(obj: JSON) -> JSON:
    """Return the object's metadata dict, created if absent."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    return meta


def annotations_of(obj: JSON) -> JSON:
    """Return the object's annotations dict, created if absent."""
    meta = metadata(obj)
    if not isinstance(meta.get("annotations"), dict):
        meta["annotations"] = {}
    result: JSON = meta["annotations"]
    return result


def finalizers(obj: JSON) -> list[str]:
    """Return a copy of the object's finalizers."""
    return list(metadata(obj).get("finalizers") or [])


def add_finalizer(obj: JSON, name: str) -> None:
    """Add ``name`` to the object's finalizers if absent."""
    if name not in finalizers(obj):
        metadata(obj)["finalizers"] = [*finalizers(obj), name]


def remove_finalizer(obj: JSON, name: str) -> None:
    """Remove ``name`` from the object's finalizers if present."""
    remaining = [f for f in finalizers(obj) if f != name]
    if remaining:
        metadata(obj)["finalizers"] = remaining
    else:
        metadata(obj).pop("finalizers", None)


def deep(obj: JSON) -> JSON:
    """Copy deeply (stored objects never leak to callers).

    Stored objects are JSON (dicts, lists and immutable scalars), so a plain recursive copy does
    what ``copy.deepcopy`` does at a fraction of its cost; the controllers copy every object on
    every pass, and a cluster with a thousand snapshots must keep up.
    """
    return _copy_json(obj)  # type: ignore[no-any-return]


def _copy_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return copy.deepcopy(value)  # anything else (never expected) still gets a real copy


def dig(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]...`` or None when any step is missing."""
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj
