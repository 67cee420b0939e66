"""Validation of Roles, ClusterRoles and their bindings as ``pkg/apis/rbac/validation`` does it."""

from __future__ import annotations

from typing import Any

from . import kinds
from .errors import Cause, GoLiteral

JSON = dict[str, Any]
_SUBJECT_KINDS = ("ServiceAccount", "User", "Group")


def _go_strings(values: list[Any]) -> GoLiteral:
    # field.Invalid prints a []string value with Go's %#v.
    return GoLiteral("[]string{" + ", ".join(f'"{v}"' for v in values) + "}")


def _supported(field: str, value: object, supported: tuple[str, ...]) -> Cause:
    listed = ", ".join(f'"{s}"' for s in supported)
    return Cause("FieldValueNotSupported", field, f"supported values: {listed}", value)


def rule_causes(rules: Any, namespaced: bool) -> list[Cause]:
    """Errors of a role's ``rules`` (verbs required; resource or non-resource rules, not both)."""
    causes = []
    for index, rule in enumerate(rules or []):
        where = f"rules[{index}]"
        if not rule.get("verbs"):
            causes.append(
                Cause("FieldValueRequired", f"{where}.verbs", "verbs must contain at least one value")
            )
        urls = rule.get("nonResourceURLs") or []
        if urls:
            if namespaced:
                detail = "namespaced rules cannot apply to non-resource URLs"
                causes.append(
                    Cause("FieldValueInvalid", f"{where}.nonResourceURLs", detail, _go_strings(urls))
                )
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                detail = "rules cannot apply to both regular resources and non-resource URLs"
                causes.append(
                    Cause("FieldValueInvalid", f"{where}.nonResourceURLs", detail, _go_strings(urls))
                )
            continue
        if not rule.get("apiGroups"):
            detail = "resource rules must supply at least one api group"
            causes.append(Cause("FieldValueRequired", f"{where}.apiGroups", detail))
        if not rule.get("resources"):
            detail = "resource rules must supply at least one resource"
            causes.append(Cause("FieldValueRequired", f"{where}.resources", detail))
    return causes


def role_causes(obj: JSON, old: JSON | None) -> list[Cause]:
    """Role: namespaced rules."""
    return rule_causes(obj.get("rules"), namespaced=True)


def cluster_role_causes(obj: JSON, old: JSON | None) -> list[Cause]:
    """ClusterRole: rules that may name non-resource URLs."""
    return rule_causes(obj.get("rules"), namespaced=False)


def _binding_causes(
    obj: JSON, old: JSON | None, role_kinds: tuple[str, ...], namespaced: bool
) -> list[Cause]:
    ref = obj.get("roleRef") or {}
    causes = []
    if ref.get("apiGroup", "") != kinds.RBAC:
        causes.append(_supported("roleRef.apiGroup", ref.get("apiGroup", ""), (kinds.RBAC,)))
    if ref.get("kind", "") not in role_kinds:
        causes.append(_supported("roleRef.kind", ref.get("kind", ""), role_kinds))
    if not ref.get("name"):
        causes.append(Cause("FieldValueRequired", "roleRef.name", ""))
    for index, subject in enumerate(obj.get("subjects") or []):
        where = f"subjects[{index}]"
        if not subject.get("name"):
            causes.append(Cause("FieldValueRequired", f"{where}.name", ""))
        kind, group = subject.get("kind", ""), subject.get("apiGroup", "")
        if kind == "ServiceAccount":
            if group:
                causes.append(_supported(f"{where}.apiGroup", group, ("",)))
            if not namespaced and not subject.get("namespace"):
                causes.append(Cause("FieldValueRequired", f"{where}.namespace", ""))
        elif kind in ("User", "Group"):
            if group not in ("", kinds.RBAC):  # "" is defaulted to the RBAC group in v1
                causes.append(_supported(f"{where}.apiGroup", group, (kinds.RBAC,)))
        else:
            causes.append(_supported(f"{where}.kind", kind, _SUBJECT_KINDS))
    if old is not None and (old.get("roleRef") or {}) != ref:
        value = GoLiteral(
            f'rbac.RoleRef{{APIGroup:"{ref.get("apiGroup", "")}", Kind:"{ref.get("kind", "")}", '
            f'Name:"{ref.get("name", "")}"}}'
        )
        causes.append(Cause("FieldValueInvalid", "roleRef", "cannot change roleRef", value))
    return causes


def role_binding_causes(obj: JSON, old: JSON | None) -> list[Cause]:
    """RoleBinding: to a Role or a ClusterRole, subjects of the three kinds; roleRef immutable."""
    return _binding_causes(obj, old, ("Role", "ClusterRole"), namespaced=True)


def cluster_role_binding_causes(obj: JSON, old: JSON | None) -> list[Cause]:
    """ClusterRoleBinding: to a ClusterRole; ServiceAccount subjects name their namespace."""
    return _binding_causes(obj, old, ("ClusterRole",), namespaced=False)
