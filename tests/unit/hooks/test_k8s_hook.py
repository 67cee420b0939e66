"""The cncf provider's ``kubernetes`` connection format, read into cluster configurations."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from netapp_dataops_airflow.exceptions import InvalidInputError
from netapp_dataops_airflow.hooks.kubernetes import K8sHook, KubernetesConnection

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


@pytest.fixture
def ambient_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, object]:
    """A valid $KUBECONFIG of another cluster: what a lenient hook would fall back to."""
    other = json.loads(json.dumps(KUBECONFIG))
    other["clusters"][0]["cluster"]["server"] = "https://ambient.example.com:6443"
    path = tmp_path / "ambient"
    path.write_text(yaml.safe_dump(other))
    monkeypatch.setenv("KUBECONFIG", str(path))
    return other


@pytest.mark.parametrize(
    ("extras", "expected"),
    [
        (
            {"kubeconfig_path": "/etc/k8s/config"},
            "unknown extra field 'kubeconfig_path' (did you mean 'kube_config_path'?)",
        ),
        ({"kube_config_path": 5}, "'kube_config_path' must be text, got a number"),
        ({"kube_config_path": ["/etc/k8s/config"]}, "'kube_config_path' must be text, got a JSON list"),
        ({"kube_config_path": True}, "'kube_config_path' must be text, got a boolean"),
        ({"kube_config": {}}, "'kube_config' defines no clusters"),
        ({"kube_config": "{}"}, "'kube_config' defines no clusters"),
        ({"in_cluster": "flase"}, "'in_cluster' must be true or false, got 'flase'"),
        ({"in_cluster": 2}, "'in_cluster' must be true or false, got 2"),
        ({"disable_verify_ssl": "ja"}, "'disable_verify_ssl' must be true or false"),
        ({"namespace": {"name": "ml"}}, "'namespace' must be text, got a JSON object"),
        ({"cluster_context": 7}, "'cluster_context' must be text"),
    ],
)
def test_a_mistaken_connection_never_falls_back_to_the_ambient_cluster(
    ambient_kubeconfig: dict[str, object], extras: dict[str, object], expected: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        KubernetesConnection.from_extras("k8s", extras).cluster_config()
    assert expected in str(raised.value)
    assert str(raised.value).startswith("connection 'k8s': ")


@pytest.mark.parametrize(
    "extras",
    [
        {},
        {"namespace": "ml"},
        {"cluster_context": "ctx"},
        {"disable_verify_ssl": "false"},
        {"in_cluster": False, "kube_config_path": "", "kube_config": ""},  # what the connection form stores
        {"xcom_sidecar_container_image": "alpine:3"},
    ],
)
def test_without_config_fields_the_ambient_kubeconfig_is_used(
    ambient_kubeconfig: dict[str, object], extras: dict[str, object]
) -> None:
    assert KubernetesConnection.from_extras("k8s", extras).cluster_config().kubeconfig == ambient_kubeconfig


def test_in_cluster_means_the_service_account_even_with_a_kubeconfig_around(
    ambient_kubeconfig: dict[str, object],
) -> None:
    cluster = KubernetesConnection.from_extras("k8s", {"in_cluster": "yes"}).cluster_config()
    assert (cluster.in_cluster, cluster.kubeconfig) == (True, None)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"host": "https://10.0.0.1:6443"}, "'host' is"),
        ({"login": "svc", "password": "s3cret-token"}, "'login', 'password' are"),
        ({"port": 6443}, "'port' is"),
        ({"schema": "https"}, "'schema' is"),
    ],
)
async def test_fields_the_kubernetes_type_does_not_read_are_refused(
    airflow_connection: Callable[..., str],
    ambient_kubeconfig: dict[str, object],
    fields: dict[str, Any],
    named: str,
) -> None:
    airflow_connection("k8s_hosted", "kubernetes", **fields)
    expected = f"connection 'k8s_hosted': {named} not read from kubernetes connections"
    with pytest.raises(InvalidInputError, match=expected) as raised:
        K8sHook("k8s_hosted").get_connection_settings()
    assert "s3cret-token" not in str(raised.value)
    with pytest.raises(InvalidInputError, match=expected):
        await K8sHook("k8s_hosted").aget_connection_settings()


async def test_the_hook_reads_a_real_connection_on_workers_and_in_triggers(
    airflow_connection: Callable[..., str],
) -> None:
    airflow_connection("k8s_real", "kubernetes", extra={"kube_config": KUBECONFIG, "namespace": " ml "})
    on_worker = K8sHook("k8s_real").get_connection_settings()
    in_trigger = await K8sHook("k8s_real").aget_connection_settings()
    assert on_worker == in_trigger
    assert (on_worker.conn_id, on_worker.namespace, on_worker.kube_config) == ("k8s_real", "ml", KUBECONFIG)
