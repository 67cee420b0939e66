"""Just enough OpenAPI for kubectl's create/apply: a v3 index with per-GV documents, and a v2 stub.

kubectl >= 1.27 only checks that each kind's PATCH operation advertises the ``fieldValidation``
parameter, then relies on server-side validation; kubectl 1.20 needs any parseable protobuf v2
document (gnostic ``Document``).
"""

from __future__ import annotations

import hashlib
import json

from . import kinds
from .discovery import GIT_VERSION, served_group_versions
from .meta import JSON

V2_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def gv_path(group: str, version: str) -> str:
    """Return the index key of a group-version: ``api/v1`` or ``apis/<group>/<version>``."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def document(group: str, version: str) -> JSON:
    """Build the OpenAPI v3 document of one group-version."""
    paths: JSON = {}
    for kind in kinds.in_group(group):
        prefix = f"/{gv_path(group, version)}"
        path = (
            f"{prefix}/namespaces/{{namespace}}/{kind.plural}/{{name}}"
            if kind.namespaced
            else f"{prefix}/{kind.plural}/{{name}}"
        )
        gvk = {"group": group, "version": version, "kind": kind.kind}
        paths[path] = {
            "patch": {
                "operationId": f"patch{kind.kind}",
                "parameters": [
                    {
                        "name": "fieldValidation",
                        "in": "query",
                        "schema": {"type": "string", "uniqueItems": True},
                    },
                    {
                        "name": "fieldManager",
                        "in": "query",
                        "schema": {"type": "string", "uniqueItems": True},
                    },
                    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                ],
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
            }
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "components": {"schemas": {}},
    }


def _hash(doc: JSON) -> str:
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:128].upper()


def index() -> JSON:
    """``GET /openapi/v3``: where each group-version's document lives."""
    return {
        "paths": {
            gv_path(g, v): {"serverRelativeURL": f"/openapi/v3/{gv_path(g, v)}?hash={_hash(document(g, v))}"}
            for g, v in served_group_versions()
        }
    }


def _field(number: int, payload: bytes) -> bytes:
    # Protobuf length-delimited field (wire type 2); every payload here is shorter than 128 bytes.
    return bytes([number << 3 | 2, len(payload)]) + payload


def v2_protobuf() -> bytes:
    """``GET /openapi/v2`` as gnostic protobuf: ``Document{swagger, info{title, version}, paths{}}``."""
    info = _field(1, b"Kubernetes") + _field(2, GIT_VERSION.encode())
    return _field(1, b"2.0") + _field(2, info) + _field(8, b"")
