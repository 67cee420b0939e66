"""The four PATCH flavours: JSON patch (RFC 6902), merge patch (RFC 7386), strategic merge, apply."""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from .errors import ApiError, bad_request

JSON = dict[str, Any]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
CUSTOM_PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, APPLY_PATCH)
CORE_PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)
MAX_JSON_PATCH_OPS = 10000

# Strategic merge: lists of objects merged by a key, and primitive lists merged as sets (patchStrategy
# "merge" in the Go types) — enough for PVC/PV/Namespace/Event/StorageClass/Pod fields clients patch.
_MERGE_KEYS = {
    "ownerReferences": "uid",
    "conditions": "type",
    "containers": "name",
    "volumes": "name",
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
}
_SET_LISTS = {"finalizers"}


def _invalid_patch(message: str) -> ApiError:
    return ApiError(422, "Invalid", message)


def decode_json(body: bytes) -> Any:
    """Decode a JSON request body; 400 as the apiserver answers undecodable bodies."""
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"error decoding patch: {exc}") from exc


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Strategic merge as the apiserver applies it to built-in kinds (approximation; see module doc)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            result[name] = [v for v in result.get(name) or [] if v not in value]
        elif key.startswith("$"):  # $setElementOrder/..., $retainKeys: ordering hints only
            continue
        elif value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(key, result[key], value)
        else:
            merged = strategic_merge_patch(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    return result


def _merge_list(key: str, current: list[Any], patch: list[Any]) -> list[Any]:
    if key in _SET_LISTS:
        return current + [v for v in patch if v not in current]
    merge_key = _MERGE_KEYS.get(key)
    if merge_key is None or not all(isinstance(v, dict) for v in current + patch):
        return copy.deepcopy(patch)
    merged = list(current)
    for item in patch:
        index = next((i for i, old in enumerate(merged) if old.get(merge_key) == item.get(merge_key)), None)
        if index is None:
            if item.get("$patch") != "delete":
                merged.append(copy.deepcopy(item))
        elif item.get("$patch") == "delete":
            del merged[index]
        else:
            merged[index] = strategic_merge_patch(merged[index], item)
    return merged


def decode_apply(body: bytes) -> JSON:
    """Decode a server-side apply body (YAML or JSON)."""
    try:
        config = yaml.safe_load(body.decode() or "null")
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise bad_request(f"error decoding YAML: {exc}") from exc
    if not isinstance(config, dict):
        raise bad_request("error decoding YAML: the apply configuration must be an object")
    return config


def apply_patch(target: JSON | None, config: JSON) -> JSON:
    """Server-side apply approximated as a merge of the applied configuration (no field ownership)."""
    result = merge_patch(target or {}, config)
    assert isinstance(result, dict)
    return result


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902; 400 for an undecodable patch, 422 when an operation does not apply."""
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    if len(operations) > MAX_JSON_PATCH_OPS:
        raise ApiError(
            413,
            "RequestEntityTooLarge",
            f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPS}, got {len(operations)}",
        )
    doc = copy.deepcopy(target)
    for op in operations:
        doc = _apply_op(doc, op)
    return doc


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise bad_request(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]] if path else []


def _parent(doc: Any, parts: list[str], op: str, path: str) -> Any:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _invalid_patch(f"{op} operation does not apply: doc is missing path: {path}")
    return node


def _get(doc: Any, path: str, op: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, last = _parent(doc, parts, op, path), parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise _invalid_patch(f"{op} operation does not apply: doc is missing key: {path}")


def _remove(doc: Any, path: str, op: str) -> Any:
    value = _get(doc, path, op)
    parts = _pointer(path)
    parent = _parent(doc, parts, op, path)
    if isinstance(parent, dict):
        del parent[parts[-1]]
    else:
        del parent[int(parts[-1])]
    return value


def _add(doc: Any, path: str, value: Any, op: str, replace: bool = False) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    parent, last = _parent(doc, parts, op, path), parts[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise _invalid_patch(f"{op} operation does not apply: doc is missing key: {path}")
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list):
        if last == "-" and not replace:
            parent.append(copy.deepcopy(value))
        elif last.isdigit() and int(last) < len(parent) + (0 if replace else 1):
            if replace:
                parent[int(last)] = copy.deepcopy(value)
            else:
                parent.insert(int(last), copy.deepcopy(value))
        else:
            raise _invalid_patch(f"{op} operation does not apply: doc is missing path: {path}")
    else:
        raise _invalid_patch(f"{op} operation does not apply: doc is missing path: {path}")
    return doc


def _apply_op(doc: Any, op: JSON) -> Any:
    name, path = op.get("op"), str(op.get("path", ""))
    if name in ("add", "replace", "test") and "value" not in op:
        raise bad_request(f"{name} operation missing value")
    if name == "add":
        return _add(doc, path, op["value"], "add")
    if name == "replace":
        return _add(doc, path, op["value"], "replace", replace=True)
    if name == "remove":
        _remove(doc, path, "remove")
        return doc
    if name == "test":
        if _get(doc, path, "test") != op["value"]:
            raise _invalid_patch(f"testing value {path} failed: test failed")
        return doc
    if name in ("move", "copy"):
        source = str(op.get("from", ""))
        value = _remove(doc, source, name) if name == "move" else copy.deepcopy(_get(doc, source, name))
        return _add(doc, path, value, name)
    raise bad_request(f"Unexpected kind: {name}")
