"""Request attributes as kube-apiserver's RequestInfoFactory derives them, which RBAC then matches."""

from __future__ import annotations

import pytest

from netapp_dataops_airflow.simulators.kubernetes.rbac import (
    Attributes,
    User,
    request_attributes,
    rule_allows,
)


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/namespaces/ns/pods", {}, Attributes("list", True, "", "v1", "ns", "pods", "", "")),
        (
            "GET",
            "/api/v1/namespaces/ns/pods",
            {"watch": "1"},
            Attributes("watch", True, "", "v1", "ns", "pods"),
        ),
        ("GET", "/api/v1/watch/namespaces/ns/pods", {}, Attributes("watch", True, "", "v1", "ns", "pods")),
        (
            "DELETE",
            "/api/v1/namespaces/ns/pods",
            {},
            Attributes("deletecollection", True, "", "v1", "ns", "pods"),
        ),
        (
            "POST",
            "/api/v1/namespaces/ns/pods/p/exec",
            {},
            Attributes("create", True, "", "v1", "ns", "pods", "exec", "p"),
        ),
        ("GET", "/api/v1/namespaces/ns", {}, Attributes("get", True, "", "v1", "ns", "namespaces", "", "ns")),
        (
            "PUT",
            "/api/v1/namespaces/ns/status",
            {},
            Attributes("update", True, "", "v1", "ns", "namespaces", "status", "ns"),
        ),
        (
            "GET",
            "/apis/storage.k8s.io/v1/storageclasses",
            {"fieldSelector": "metadata.name=gold"},
            Attributes("list", True, "storage.k8s.io", "v1", "", "storageclasses", "", "gold"),
        ),
    ],
)
def test_request_attributes(method: str, path: str, query: dict[str, str], expected: Attributes) -> None:
    assert request_attributes(method, path, query) == Attributes(**{**vars(expected), "path": path})


@pytest.mark.parametrize("path", ["/api", "/api/v1", "/apis/storage.k8s.io/v1", "/version", "/openapi/v3"])
def test_discovery_paths_are_non_resource_requests(path: str) -> None:
    attributes = request_attributes("GET", path, {})
    assert (attributes.resource_request, attributes.verb, attributes.path) == (False, "get", path)


def test_a_service_account_user_carries_its_groups() -> None:
    user = User.service_account("airflow", "worker")
    assert user.name == "system:serviceaccount:airflow:worker"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:airflow", "system:authenticated")
    assert user.service_account_ref == ("airflow", "worker")
    assert User("alice").service_account_ref is None


def test_a_subresource_is_not_its_resource() -> None:
    exec_ = request_attributes("POST", "/api/v1/namespaces/ns/pods/p/exec", {})
    assert not rule_allows(exec_, {"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]})
    assert rule_allows(exec_, {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]})
    assert rule_allows(exec_, {"apiGroups": ["*"], "resources": ["*"], "verbs": ["create"]})
    assert rule_allows(exec_, {"apiGroups": [""], "resources": ["*/exec"], "verbs": ["create"]})
    assert not rule_allows(exec_, {"apiGroups": ["apps"], "resources": ["pods/exec"], "verbs": ["create"]})
