"""The cncf provider's ``kubernetes`` connection format, read into cluster configurations."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from netapp_dataops_airflow.exceptions import InvalidInputError
from netapp_dataops_airflow.hooks.kubernetes import KubernetesConnection

KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "sim", "cluster": {"server": "https://127.0.0.1:6443"}}],
    "users": [{"name": "u", "user": {"token": "s3cret-token"}}],
    "contexts": [{"name": "ctx", "context": {"cluster": "sim", "user": "u"}}],
    "current-context": "ctx",
}


@pytest.fixture(autouse=True)
def _outside_a_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_inline_kubeconfig_as_json_text() -> None:
    settings = KubernetesConnection.from_extras(
        "k8s", {"kube_config": json.dumps(KUBECONFIG), "cluster_context": "ctx", "namespace": "ml"}
    )
    cluster = settings.cluster_config()
    assert cluster.kubeconfig == KUBECONFIG
    assert cluster.context == "ctx"
    assert settings.namespace == "ml"
    assert cluster.verify_ssl is True


def test_legacy_prefixed_fields_are_read() -> None:
    settings = KubernetesConnection.from_extras(
        "k8s",
        {"extra__kubernetes__kube_config": KUBECONFIG, "extra__kubernetes__disable_verify_ssl": "true"},
    )
    assert settings.cluster_config().verify_ssl is False


def test_kubeconfig_path(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(KUBECONFIG))
    cluster = KubernetesConnection.from_extras("k8s", {"kube_config_path": str(path)}).cluster_config()
    assert cluster.kubeconfig == KUBECONFIG


def test_no_fields_falls_back_to_kubeconfig_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "from-env"
    path.write_text(yaml.safe_dump(KUBECONFIG))
    monkeypatch.setenv("KUBECONFIG", f"{path}:/nonexistent")
    assert KubernetesConnection.from_extras("k8s", {}).cluster_config().kubeconfig == KUBECONFIG


def test_no_fields_inside_a_pod_uses_the_service_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    assert KubernetesConnection.from_extras("k8s", {}).cluster_config().in_cluster is True


async def test_async_resolution_reads_the_file_in_a_thread(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(KUBECONFIG))
    cluster = await KubernetesConnection.from_extras("k8s", {"kube_config_path": str(path)}).acluster_config()
    assert cluster.kubeconfig == KUBECONFIG


@pytest.mark.parametrize(
    ("extras", "expected"),
    [
        ({"kube_config": "{not json"}, "'kube_config' is not valid JSON"),
        ({"kube_config": "[1, 2]"}, "'kube_config' must be a JSON object"),
        ({"in_cluster": True, "kube_config": KUBECONFIG}, "set only one of"),
        (
            {"kube_config_path": "/nonexistent/kubeconfig"},
            "cannot read the kubeconfig '/nonexistent/kubeconfig'",
        ),
    ],
)
def test_bad_connections_name_the_problem(extras: dict[str, object], expected: str) -> None:
    with pytest.raises(InvalidInputError, match=expected) as raised:
        KubernetesConnection.from_extras("k8s", extras).cluster_config()
    assert "connection 'k8s'" in str(raised.value)
    assert "s3cret-token" not in str(raised.value)


@pytest.mark.parametrize(
    ("content", "expected"), [("a: [b", "is not valid YAML"), ("kind: Config\n", "defines no clusters")]
)
def test_bad_kubeconfig_files(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "config"
    path.write_text(content)
    with pytest.raises(InvalidInputError, match=expected):
        KubernetesConnection.from_extras("k8s", {"kube_config_path": str(path)}).cluster_config()


def test_cluster_key_hides_credentials_and_tells_clusters_apart() -> None:
    one = KubernetesConnection.from_extras("a", {"kube_config": KUBECONFIG}).cluster_config()
    other_cluster = json.loads(json.dumps(KUBECONFIG))
    other_cluster["clusters"][0]["cluster"]["server"] = "https://127.0.0.2:6443"
    two = KubernetesConnection.from_extras("b", {"kube_config": other_cluster}).cluster_config()
    assert one.key != two.key
    assert "s3cret" not in one.key
    assert "s3cret" not in repr(one)
    assert "s3cret" not in repr(KubernetesConnection.from_extras("a", {"kube_config": KUBECONFIG}))


def test_a_kubeconfig_file_is_read_again_once_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(KUBECONFIG))
    settings = KubernetesConnection.from_extras("k8s", {"kube_config_path": str(path)})
    first = settings.cluster_config().kubeconfig
    assert first is not None
    assert first["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    moved = {**KUBECONFIG, "clusters": [{"name": "sim", "cluster": {"server": "https://10.0.0.9:6443"}}]}
    path.write_text(yaml.safe_dump(moved))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    second = settings.cluster_config().kubeconfig
    assert second is not None
    assert second["clusters"][0]["cluster"]["server"] == "https://10.0.0.9:6443"
