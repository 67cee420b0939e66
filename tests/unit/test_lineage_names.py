"""How datasets are named: the asset URIs and OpenLineage namespaces docs/lineage.md promises."""

from __future__ import annotations

import pytest
from airflow.sdk import Asset

from netapp_dataops_airflow.operators.lineage import (
    endpoint_dataset,
    kubernetes_dataset,
    kubernetes_namespace,
    nfs_dataset,
    ontap_dataset,
)


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("https://10.0.0.1:6443", "kubernetes://10.0.0.1:6443"),
        ("https://API.Example.com", "kubernetes://api.example.com:443"),
        ("http://localhost:8080/", "kubernetes://localhost:8080"),
        ("https://[fd00::1]:6443", "kubernetes://[fd00::1]:6443"),
        (None, "kubernetes://kubernetes.default.svc:443"),
    ],
)
def test_a_cluster_is_named_by_its_api_servers_host_and_port(server: str | None, expected: str) -> None:
    assert kubernetes_namespace(server) == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("cluster.example.com", "ontap://cluster.example.com/svm_dr/vol1"),
        ("https://Cluster.example.com:443", "ontap://cluster.example.com/svm_dr/vol1"),
        ("10.0.0.9:8443", "ontap://10.0.0.9:8443/svm_dr/vol1"),
        ("[fd00::9]", "ontap://[fd00::9]/svm_dr/vol1"),
    ],
)
def test_an_ontap_volume_is_named_by_the_connections_host(host: str, expected: str) -> None:
    dataset = ontap_dataset(host, "svm_dr:vol1")
    assert dataset is not None
    assert dataset.uri == expected


def test_endpoints_drop_the_paths_slashes_and_unknown_places_are_no_dataset() -> None:
    assert endpoint_dataset("S3", "lake", "raw/") == endpoint_dataset("s3", "lake", "/raw")
    assert nfs_dataset("nfs2:/projects/p1") == endpoint_dataset("nfs", "nfs2", "projects/p1")
    assert nfs_dataset("no-colon") is None
    assert endpoint_dataset("nfs", None, "/x") is None
    assert ontap_dataset("cluster", None) is None


def test_every_name_is_an_asset_uri_airflow_keeps_as_it_is() -> None:
    datasets = [
        kubernetes_dataset(kubernetes_namespace("https://[fd00::1]:6443"), "ml", "volumesnapshots", "a.b"),
        ontap_dataset("https://cluster:8443", "svm:vol"),
        endpoint_dataset("s3", "lake", "raw/2026"),
        nfs_dataset("server:/export/dir"),
    ]
    for dataset in datasets:
        assert dataset is not None
        assert Asset(uri=dataset.uri).uri == dataset.uri
