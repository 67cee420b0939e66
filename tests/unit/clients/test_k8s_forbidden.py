"""A Kubernetes 403 becomes the missing permission and the rule that grants it."""

from __future__ import annotations

from netapp_dataops_airflow.clients.kubernetes_rbac import MissingPermission, forbidden_permission

SA = "system:serviceaccount:airflow:airflow-worker"


def test_a_namespaced_refusal_names_the_rule_for_the_role() -> None:
    message = (
        f'volumesnapshots.snapshot.storage.k8s.io is forbidden: User "{SA}" cannot create resource '
        '"volumesnapshots" in API group "snapshot.storage.k8s.io" in the namespace "airflow"'
    )
    denied = forbidden_permission(message)
    assert denied == MissingPermission(SA, "create", "volumesnapshots", "snapshot.storage.k8s.io", "airflow")
    assert denied.explain() == (
        f'permission denied (403 Forbidden): "{SA}" may not create volumesnapshots (API group '
        '"snapshot.storage.k8s.io") in namespace "airflow". To fix it, add the rule {apiGroups: '
        '["snapshot.storage.k8s.io"], resources: ["volumesnapshots"], verbs: ["create"]} to a Role bound to '
        f'"{SA}" by a RoleBinding in namespace "airflow"; k8s/rbac.yaml in the netapp_dataops_airflow '
        "repository lists every rule the library needs"
    )


def test_a_cluster_scope_refusal_names_a_cluster_role_and_keeps_the_servers_reason() -> None:
    message = (
        f'persistentvolumes "pv-1" is forbidden: User "{SA}" cannot get resource "persistentvolumes" in API '
        'group "" at the cluster scope: RBAC: clusterrole.rbac.authorization.k8s.io "reader" not found'
    )
    denied = forbidden_permission(message)
    assert denied is not None
    assert (denied.namespace, denied.resource, denied.group) == (None, "persistentvolumes", "")
    text = denied.explain()
    assert 'may not get persistentvolumes (the core API group "") at the cluster scope' in text
    assert '(the API server adds: RBAC: clusterrole.rbac.authorization.k8s.io "reader" not found)' in text
    assert f'to a ClusterRole bound to "{SA}" by a ClusterRoleBinding' in text
    assert '{apiGroups: [""], resources: ["persistentvolumes"], verbs: ["get"]}' in text


def test_subresources_and_paths() -> None:
    exec_ = forbidden_permission(
        f'pods "p" is forbidden: User "{SA}" cannot create resource "pods/exec" in API group "" '
        'in the namespace "airflow"'
    )
    assert exec_ is not None
    assert exec_.resource == "pods/exec"
    path = forbidden_permission(f'forbidden: User "{SA}" cannot get path "/metrics"')
    assert path is not None
    assert path.rule == '{nonResourceURLs: ["/metrics"], verbs: ["get"]}'
    assert 'may not get the path "/metrics" at the cluster scope' in path.explain()


def test_other_wordings_are_not_guessed_at() -> None:
    assert forbidden_permission("admission webhook denied the request") is None
