"""Discovery documents: /version, /api, /apis, /apis/{group} and per group-version resource lists."""

from __future__ import annotations

from . import kinds
from .meta import JSON

VERSION_MAJOR = "1"
# 27..33 makes the Google Cloud SDK kubectl dispatcher run the matching kubectl.1.<minor>.
VERSION_MINOR = "30"
GIT_VERSION = f"v{VERSION_MAJOR}.{VERSION_MINOR}.5"


def version() -> JSON:
    """``GET /version``."""
    return {
        "major": VERSION_MAJOR,
        "minor": VERSION_MINOR,
        "gitVersion": GIT_VERSION,
        "gitCommit": "74e84a90c725047b1328ff3d589fedb1cb7a120e",
        "gitTreeState": "clean",
        "buildDate": "2024-09-12T00:11:38Z",
        "goVersion": "go1.22.6",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def core_versions(server_address: str) -> JSON:
    """``GET /api``."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group(group: str) -> JSON:
    """``GET /apis/{group}``."""
    group_version = {"groupVersion": f"{group}/v1", "version": "v1"}
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": [group_version],
        "preferredVersion": group_version,
    }


def group_list() -> JSON:
    """``GET /apis``."""
    groups = [api_group(g) for g in kinds.GROUPS]
    for group in groups:
        del group["kind"], group["apiVersion"]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


# Resources served without being stored: TokenRequest and the access reviews (create only).
_UNSTORED: dict[str, list[JSON]] = {
    "": [
        {
            "name": "serviceaccounts/token",
            "singularName": "",
            "namespaced": True,
            "group": "authentication.k8s.io",
            "version": "v1",
            "kind": "TokenRequest",
            "verbs": ["create"],
        }
    ],
    kinds.AUTHORIZATION: [
        {"name": plural, "singularName": "", "namespaced": False, "kind": kind, "verbs": ["create"]}
        for plural, kind in (
            ("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
            ("selfsubjectrulesreviews", "SelfSubjectRulesReview"),
        )
    ],
}


def resource_list(group: str) -> JSON:
    """``GET /api/v1`` or ``GET /apis/{group}/v1``."""
    resources = []
    for kind in kinds.in_group(group):
        entry: JSON = {
            "name": kind.plural,
            "singularName": kind.singular,
            "namespaced": kind.namespaced,
            "kind": kind.kind,
            "verbs": list(kinds.ALL_VERBS),
        }
        if kind.short_names:
            entry["shortNames"] = list(kind.short_names)
        resources.append(entry)
        if kind.has_status:
            resources.append(
                {
                    "name": f"{kind.plural}/status",
                    "singularName": "",
                    "namespaced": kind.namespaced,
                    "kind": kind.kind,
                    "verbs": list(kinds.STATUS_VERBS),
                }
            )
    resources += _UNSTORED.get(group, [])
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/v1" if group else "v1",
        "resources": resources,
    }


def served_group_versions() -> list[tuple[str, str]]:
    """``(group, version)`` for every served group-version, core first."""
    return [("", "v1"), *((g, "v1") for g in kinds.GROUPS)]
