"""RBAC as kube-apiserver evaluates it: request attributes, bindings, rules, and the answer's reason.

Mirrors ``k8s.io/apiserver`` (``RequestInfoFactory``) and ``plugin/pkg/auth/authorizer/rbac``: a request
is allowed when any rule of any role bound to the user (ClusterRoleBindings, then RoleBindings of the
request's namespace) allows it; ``system:masters`` is allowed everything before RBAC is asked, as by
the apiserver's privileged-groups authorizer. A binding to a role that does not exist allows nothing
and is named in the denial's reason (``RBAC: role.rbac.authorization.k8s.io "x" not found``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import kinds
from .errors import ApiError

JSON = dict[str, Any]

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"

_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}
# A path segment after /namespaces/{ns} that is the namespace's own subresource, not a resource.
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class User:
    """Who a request is: a user name and its groups (``user.Info``)."""

    name: str
    groups: tuple[str, ...] = ()

    @classmethod
    def service_account(cls, namespace: str, name: str) -> User:
        """Return the user a ServiceAccount's token authenticates as, with the groups the apiserver adds."""
        return cls(
            f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
            ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED),
        )

    @property
    def service_account_ref(self) -> tuple[str, str] | None:
        """``(namespace, name)`` for a ServiceAccount user, else None."""
        if not self.name.startswith(SERVICE_ACCOUNT_PREFIX):
            return None
        namespace, _, name = self.name.removeprefix(SERVICE_ACCOUNT_PREFIX).partition(":")
        return (namespace, name) if namespace and name else None


#: The identity of the simulator's own token (and of every request when it requires none).
ADMIN = User("kubernetes-admin", (MASTERS, AUTHENTICATED))


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do (``authorizer.Attributes``)."""

    verb: str
    resource_request: bool = True
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""

    @property
    def combined_resource(self) -> str:
        """``resource`` or ``resource/subresource``, as rules name it."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def request_attributes(method: str, path: str, query: Mapping[str, str]) -> Attributes:
    """Parse a request the way ``RequestInfoFactory.NewRequestInfo`` does."""
    verb = _VERBS.get(method, method.lower())
    parts = [p for p in path.strip("/").split("/") if p]
    # A group-version alone (/api/v1, /apis/<group>/<version>) is discovery: a non-resource path.
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return Attributes(method.lower(), resource_request=False, path=path)
    if rest[:1] in (["watch"], ["proxy"]) and len(rest) >= 2:
        verb, rest = rest[0], rest[1:]
    namespace = ""
    if rest[:1] == ["namespaces"] and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 else ""
    if not name and verb == "delete":
        verb = "deletecollection"
    if not name and verb == "get":
        verb = "watch" if query.get("watch") in ("1", "t", "T", "true", "TRUE", "True") else "list"
        name = _exact_name(query.get("fieldSelector", ""))
    return Attributes(verb, True, group, version, namespace, resource, subresource, name, path)


def _exact_name(selector: str) -> str:
    # A list or watch of one object (fieldSelector metadata.name=x) is authorized as that object.
    for term in selector.split(","):
        for op in ("==", "="):
            key, found, value = term.partition(op)
            if found and key.strip() == "metadata.name" and "!" not in key:
                return value.strip()
    return ""


# -- rules ----------------------------------------------------------------------------------------


def rule_allows(attributes: Attributes, rule: JSON) -> bool:
    """Whether one PolicyRule allows the request (``rbac.RuleAllows``)."""
    if not _matches(rule.get("verbs"), attributes.verb):
        return False
    if not attributes.resource_request:
        return any(_url_matches(url, attributes.path) for url in rule.get("nonResourceURLs") or ())
    return (
        _matches(rule.get("apiGroups"), attributes.group)
        and _resource_matches(rule.get("resources") or (), attributes)
        and (not rule.get("resourceNames") or attributes.name in rule["resourceNames"])
    )


def _matches(values: Any, wanted: str) -> bool:
    return any(value in ("*", wanted) for value in values or ())


def _resource_matches(resources: Any, attributes: Attributes) -> bool:
    for resource in resources:
        if resource in ("*", attributes.combined_resource):
            return True
        if attributes.subresource and resource == f"*/{attributes.subresource}":
            return True
    return False


def _url_matches(rule_url: str, path: str) -> bool:
    if rule_url in ("*", path):
        return True
    return rule_url.endswith("*") and path.startswith(rule_url.rstrip("*"))


# -- bindings -------------------------------------------------------------------------------------


class Store:
    """What the authorizer reads: the RBAC objects (a backend's ``objects`` method suffices)."""

    def __init__(self, objects: Any) -> None:
        self._objects = objects

    def bindings(self, namespace: str) -> Iterator[tuple[kinds.Kind, JSON]]:
        """ClusterRoleBindings, then the RoleBindings of ``namespace`` (if any)."""
        for binding in self._objects(kinds.CLUSTER_ROLE_BINDINGS):
            yield kinds.CLUSTER_ROLE_BINDINGS, binding
        if namespace:
            for binding in self._objects(kinds.ROLE_BINDINGS, namespace):
                yield kinds.ROLE_BINDINGS, binding

    def role_rules(self, ref: JSON, namespace: str) -> tuple[list[JSON], str | None]:
        """Return the rules of the role a binding refers to, or an error text when it does not exist."""
        name = str(ref.get("name", ""))
        if ref.get("kind") == "Role":
            found = [r for r in self._objects(kinds.ROLES, namespace) if r["metadata"]["name"] == name]
            missing = f'role.rbac.authorization.k8s.io "{name}" not found'
        else:
            found = [r for r in self._objects(kinds.CLUSTER_ROLES) if r["metadata"]["name"] == name]
            missing = f'clusterrole.rbac.authorization.k8s.io "{name}" not found'
        if not found:
            return [], missing
        return list(found[0].get("rules") or []), None


def _applies(subject: JSON, user: User, namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        sa_namespace = subject.get("namespace") or namespace
        return bool(sa_namespace) and user.name == f"{SERVICE_ACCOUNT_PREFIX}{sa_namespace}:{name}"
    return False


def _describe(kind: kinds.Kind, binding: JSON, subject: JSON) -> str:
    meta, ref = binding["metadata"], binding.get("roleRef") or {}
    if subject.get("kind") == "ServiceAccount":
        who = (
            f'ServiceAccount "{subject.get("name")}/{subject.get("namespace") or meta.get("namespace", "")}"'
        )
    else:
        who = f'{subject.get("kind")} "{subject.get("name")}"'
    if kind is kinds.ROLE_BINDINGS:
        return (
            f'RoleBinding "{meta["name"]}/{meta["namespace"]}" of {ref.get("kind")} "{ref.get("name")}" '
            f"to {who}"
        )
    return f'ClusterRoleBinding "{meta["name"]}" of {ref.get("kind")} "{ref.get("name")}" to {who}'


@dataclass
class Decision:
    """An authorizer's answer: allowed or not, and why (the text the apiserver puts in reasons)."""

    allowed: bool
    reason: str = ""
    errors: list[str] = field(default_factory=list)


def authorize(store: Store, user: User, attributes: Attributes) -> Decision:
    """Decide a request as the privileged-groups and RBAC authorizers do, in that order."""
    if MASTERS in user.groups:
        return Decision(True)
    errors: list[str] = []
    for kind, binding in store.bindings(attributes.namespace):
        binding_ns = binding["metadata"].get("namespace", "")
        subject = next((s for s in binding.get("subjects") or () if _applies(s, user, binding_ns)), None)
        if subject is None:
            continue
        rules, error = store.role_rules(binding.get("roleRef") or {}, binding_ns)
        if error is not None:
            errors.append(error)
        if any(rule_allows(attributes, rule) for rule in rules):
            return Decision(True, f"RBAC: allowed by {_describe(kind, binding, subject)}")
    return Decision(False, f"RBAC: {_aggregate(errors)}" if errors else "", errors)


def _aggregate(errors: list[str]) -> str:
    # utilerrors.NewAggregate: one message alone, several (deduplicated) in brackets.
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def rules_for(store: Store, user: User, namespace: str) -> tuple[list[JSON], list[JSON], list[str]]:
    """Every rule bound to ``user`` in ``namespace``: resource rules, non-resource rules, errors."""
    resource_rules: list[JSON] = []
    url_rules: list[JSON] = []
    errors: list[str] = []
    for _kind, binding in store.bindings(namespace):
        binding_ns = binding["metadata"].get("namespace", "")
        if not any(_applies(s, user, binding_ns) for s in binding.get("subjects") or ()):
            continue
        rules, error = store.role_rules(binding.get("roleRef") or {}, binding_ns)
        if error is not None:
            errors.append(error)
        for rule in rules:
            verbs = list(rule.get("verbs") or [])
            if rule.get("nonResourceURLs"):
                url_rules.append({"verbs": verbs, "nonResourceURLs": list(rule["nonResourceURLs"])})
            else:
                entry: JSON = {
                    "verbs": verbs,
                    "apiGroups": list(rule.get("apiGroups") or []),
                    "resources": list(rule.get("resources") or []),
                }
                if rule.get("resourceNames"):
                    entry["resourceNames"] = list(rule["resourceNames"])
                resource_rules.append(entry)
    return resource_rules, url_rules, errors


# -- the 403 --------------------------------------------------------------------------------------


def forbidden(user: User, attributes: Attributes, reason: str = "") -> ApiError:
    """403 worded as ``responsewriters.Forbidden`` and ``apierrors.NewForbidden`` word it."""
    if not attributes.resource_request:
        text = f'User "{user.name}" cannot {attributes.verb} path "{attributes.path}"'
    else:
        where = (
            f'in the namespace "{attributes.namespace}"' if attributes.namespace else "at the cluster scope"
        )
        text = (
            f'User "{user.name}" cannot {attributes.verb} resource "{attributes.combined_resource}" '
            f'in API group "{attributes.group}" {where}'
        )
    if reason:
        text = f"{text}: {reason}"
    details: JSON = {}
    if not attributes.resource:
        return ApiError(403, "Forbidden", f"forbidden: {text}", details)
    qualified = f"{attributes.resource}.{attributes.group}" if attributes.group else attributes.resource
    if attributes.name:
        details["name"] = attributes.name
        message = f'{qualified} "{attributes.name}" is forbidden: {text}'
    else:
        message = f"{qualified} is forbidden: {text}"
    if attributes.group:
        details["group"] = attributes.group
    details["kind"] = attributes.resource
    return ApiError(403, "Forbidden", message, details)
