"""Wire-format helpers: compact JSON bodies, Go-style booleans, request targets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import kinds
from .discovery import served_group_versions
from .errors import ApiError, bad_request
from .kinds import Kind
from .patching import decode_json

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


async def json_body(request: web.Request, *, empty: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read the request's JSON object (400 as the apiserver words it); ``empty``: a bodiless request's."""
    raw = await request.read()
    if empty is not None and not raw.strip():
        return empty
    try:
        body = decode_json(raw)
    except ApiError as error:
        raise bad_request(error.message.replace("error decoding patch", "error decoding body")) from None
    if not isinstance(body, dict):
        raise bad_request("the body of the request must be a JSON object")
    return body


def dumps(obj: Any) -> str:
    """Single-line compact JSON: clients parse bodies and watch streams line by line."""
    return json.dumps(obj, separators=(",", ":"))


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Answer JSON as the apiserver writes it."""
    return web.Response(text=dumps(obj), status=status, content_type="application/json", headers=headers)


def error_response(error: ApiError) -> web.Response:
    """Answer a ``metav1.Status``."""
    return json_response(error.status(), error.code, error.headers)


def go_bool(value: str | None) -> bool:
    """Parse a query flag like Go's ``strconv.ParseBool`` (``watch=True`` from Python clients)."""
    if value is None or value == "":
        return False
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ApiError(400, "BadRequest", f'strconv.ParseBool: parsing "{value}": invalid syntax')


def wants_table(request: web.Request) -> bool:
    """Whether the client asked for ``meta.k8s.io`` Table output (kubectl get)."""
    return "as=Table" in request.headers.get("Accept", "")


@dataclass(frozen=True)
class Target:
    """What a resource URL names: a group-version, maybe a kind, namespace, object and subresource."""

    group: str
    kind: Kind | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


def parse_target(path: str) -> Target | None:
    """Resolve an ``/api/v1/...`` or ``/apis/<g>/<v>/...`` path; None when nothing is served there."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if (group, version) not in served_group_versions():
        return None
    if not rest:
        return Target(group)
    namespace = None
    # /namespaces/{ns}/{plural} must win over /{plural}/{name}/{subresource}.
    if rest[0] == "namespaces" and len(rest) >= 3:
        inner = kinds.by_plural(group, version, rest[2])
        if inner is not None and inner.namespaced:
            namespace, rest = rest[1], rest[2:]
    kind = kinds.by_plural(group, version, rest[0])
    if kind is None or len(rest) > 3:
        return None
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if subresource is not None and (subresource != "status" or not kind.has_status):
        return None
    if kind.namespaced and namespace is None and name is not None:
        return None
    return Target(group, kind, namespace, name, subresource)
