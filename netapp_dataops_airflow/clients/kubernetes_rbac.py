"""What a Kubernetes 403 means for the user: the permission that is missing, and the rule that grants it.

The RBAC authorizer words every refusal the same way (``responsewriters.forbiddenMessage``)::

    User "<user>" cannot <verb> resource "<resource>[/<subresource>]" in API group "<group>"
    in the namespace "<namespace>"            (or: at the cluster scope)

so the library can say which rule to add, and to which kind of role, instead of passing the
apiserver's sentence through. A refusal worded otherwise (another authorizer, a webhook) is not
parsed: the caller shows it as it came.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The manifests in the project's repository that grant what the library needs.
RBAC_MANIFEST = "k8s/rbac.yaml in the netapp_dataops_airflow repository"

_RESOURCE = re.compile(
    r'User "(?P<user>[^"]*)" cannot (?P<verb>\S+) resource "(?P<resource>[^"]*)" '
    r'in API group "(?P<group>[^"]*)" (?:in the namespace "(?P<namespace>[^"]*)"|at the cluster scope)'
    r"(?:: (?P<reason>.*))?$"
)
_PATH = re.compile(
    r'User "(?P<user>[^"]*)" cannot (?P<verb>\S+) path "(?P<path>[^"]*)"(?:: (?P<reason>.*))?$'
)


@dataclass(frozen=True)
class MissingPermission:
    """One permission RBAC refused: who asked, for what, where; ``namespace`` None = cluster scope."""

    user: str
    verb: str
    resource: str = ""
    group: str = ""
    namespace: str | None = None
    path: str = ""
    reason: str = ""

    @property
    def rule(self) -> str:
        """The PolicyRule that grants it, in the flow style of the manifests."""
        if self.path:
            return f'{{nonResourceURLs: ["{self.path}"], verbs: ["{self.verb}"]}}'
        return f'{{apiGroups: ["{self.group}"], resources: ["{self.resource}"], verbs: ["{self.verb}"]}}'

    def explain(self) -> str:
        """Say what was refused to whom, and which rule to add to which role."""
        if self.path:
            what = f'{self.verb} the path "{self.path}"'
        else:
            group = f'API group "{self.group}"' if self.group else 'the core API group ""'
            what = f"{self.verb} {self.resource} ({group})"
        if self.namespace is not None:
            where = f'in namespace "{self.namespace}"'
            role = f'a Role bound to "{self.user}" by a RoleBinding in namespace "{self.namespace}"'
        else:
            where = "at the cluster scope"
            role = f'a ClusterRole bound to "{self.user}" by a ClusterRoleBinding'
        cause = f" (the API server adds: {self.reason})" if self.reason else ""
        return (
            f'permission denied (403 Forbidden): "{self.user}" may not {what} {where}{cause}. '
            f"To fix it, add the rule {self.rule} to {role}; "
            f"{RBAC_MANIFEST} lists every rule the library needs"
        )


def forbidden_permission(message: str) -> MissingPermission | None:
    """Parse the RBAC authorizer's 403 message; None if it is worded otherwise."""
    found = _RESOURCE.search(message)
    if found is not None:
        return MissingPermission(
            user=found["user"],
            verb=found["verb"],
            resource=found["resource"],
            group=found["group"],
            namespace=found["namespace"],
            reason=found["reason"] or "",
        )
    found = _PATH.search(message)
    if found is not None:
        return MissingPermission(
            user=found["user"], verb=found["verb"], path=found["path"], reason=found["reason"] or ""
        )
    return None
