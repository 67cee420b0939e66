"""ClusterConfig: an identity that survives a credential rotation, a key that does not."""

from __future__ import annotations

import copy
from typing import Any

from netapp_dataops_airflow.clients.kubernetes import ClusterConfig


def kubeconfig(
    token: str, *, server: str = "https://api.example:6443", user: str = "airflow"
) -> dict[str, Any]:
    return {
        "clusters": [{"name": "prod", "cluster": {"server": server}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": user}}],
        "current-context": "prod",
    }


def test_a_rotated_token_keeps_the_identity_and_changes_the_key() -> None:
    old, new = (
        ClusterConfig(kubeconfig=kubeconfig("token-1")),
        ClusterConfig(kubeconfig=kubeconfig("token-2")),
    )
    assert old.identity == new.identity == ("https://api.example:6443", "prod", "airflow")
    assert old.key != new.key
    assert "token" not in repr(old.identity)


def test_another_server_user_or_context_is_another_identity() -> None:
    base = ClusterConfig(kubeconfig=kubeconfig("t"))
    assert ClusterConfig(kubeconfig=kubeconfig("t", server="https://other:6443")).identity != base.identity
    assert ClusterConfig(kubeconfig=kubeconfig("t", user="admin")).identity != base.identity
    two_contexts = copy.deepcopy(kubeconfig("t"))
    two_contexts["contexts"].append({"name": "dev", "context": {"cluster": "prod", "user": "airflow"}})
    assert ClusterConfig(kubeconfig=two_contexts, context="dev").identity != base.identity
    assert ClusterConfig(in_cluster=True).identity != base.identity


def test_a_kubeconfig_without_the_context_still_has_an_identity() -> None:
    assert ClusterConfig(kubeconfig={"current-context": "gone"}).identity == ("", "gone", "")
