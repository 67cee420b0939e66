"""Real Kubernetes clients against the simulator: the official client (sync) and kubernetes_asyncio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes
import pytest
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig
from kubernetes_asyncio import watch as awatch

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim
from tests.helpers.kubernetes import SNAPSHOT_GROUP, SNAPSHOT_VERSION, snapshot_body


def test_official_client_with_the_pytest_fixtures(
    kubernetes_simulator: KubernetesSimulator, kubeconfig_path: Path
) -> None:
    kubernetes_simulator.backend.seed(*bound_claim("data"))
    api_client = kubernetes.config.new_client_from_config(str(kubeconfig_path))
    custom = kubernetes.client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(
        SNAPSHOT_GROUP, SNAPSHOT_VERSION, "default", "volumesnapshots", snapshot_body("snap", "data")
    )
    watch = kubernetes.watch.Watch()
    for event in watch.stream(
        custom.list_namespaced_custom_object,
        SNAPSHOT_GROUP,
        SNAPSHOT_VERSION,
        "default",
        "volumesnapshots",
        timeout_seconds=20,
    ):
        if (event["object"].get("status") or {}).get("readyToUse"):
            watch.stop()
    core = kubernetes.client.CoreV1Api(api_client)
    restored = kubernetes.client.V1PersistentVolumeClaim(
        metadata=kubernetes.client.V1ObjectMeta(name="restored"),
        spec=kubernetes.client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteMany"],
            resources=kubernetes.client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}),
            data_source=kubernetes.client.V1TypedLocalObjectReference(
                api_group=SNAPSHOT_GROUP, kind="VolumeSnapshot", name="snap"
            ),
        ),
    )
    core.create_namespaced_persistent_volume_claim("default", restored)
    for event in watch.stream(
        core.list_namespaced_persistent_volume_claim,
        "default",
        field_selector="metadata.name=restored",
        timeout_seconds=20,
    ):
        if event["object"].status.phase == "Bound":
            watch.stop()
    status = core.read_namespaced_persistent_volume_claim_status("restored", "default")
    assert status.status.phase == "Bound"
    with pytest.raises(kubernetes.client.ApiException) as caught:
        core.read_namespaced_persistent_volume_claim("missing", "default")
    assert caught.value.status == 404
    api_client.close()


def snapshot_watch(custom: aclient.CustomObjectsApi, resource_version: str, **options: Any) -> Any:
    """A kubernetes_asyncio watch of the default namespace's VolumeSnapshots from ``resource_version``."""
    return awatch.Watch().stream(
        custom.list_namespaced_custom_object,
        SNAPSHOT_GROUP,
        SNAPSHOT_VERSION,
        "default",
        "volumesnapshots",
        resource_version=resource_version,
        **options,
    )


async def drain(custom: aclient.CustomObjectsApi, resource_version: str) -> None:
    async with snapshot_watch(custom, resource_version, timeout_seconds=5) as stream:
        async for _ in stream:
            pass


async def test_kubernetes_asyncio_over_tls_with_a_token(tmp_path: Path) -> None:
    async with KubernetesSimulator(tls=True, token=True) as sim:
        sim.backend.seed(*bound_claim("data"))
        configuration = aclient.Configuration()
        await aconfig.load_kube_config(
            str(sim.write_kubeconfig(tmp_path / "kc")), client_configuration=configuration
        )
        async with aclient.ApiClient(configuration) as api:
            custom = aclient.CustomObjectsApi(api)
            await custom.create_namespaced_custom_object(
                SNAPSHOT_GROUP, SNAPSHOT_VERSION, "default", "volumesnapshots", snapshot_body("snap", "data")
            )
            patched = await custom.patch_namespaced_custom_object(
                SNAPSHOT_GROUP,
                SNAPSHOT_VERSION,
                "default",
                "volumesnapshots",
                "snap",
                {"metadata": {"labels": {"a": "b"}}},
                _content_type="application/merge-patch+json",
            )
            assert patched["metadata"]["labels"] == {"a": "b"}
            listed = await custom.list_namespaced_custom_object(
                SNAPSHOT_GROUP, SNAPSHOT_VERSION, "default", "volumesnapshots"
            )
            seen = []
            async with snapshot_watch(
                custom, listed["metadata"]["resourceVersion"], allow_watch_bookmarks=True, timeout_seconds=20
            ) as stream:
                async for event in stream:
                    seen.append(event["type"])
                    if (event["object"].get("status") or {}).get("readyToUse"):
                        break
            assert "ADDED" not in seen  # resumed from the list's version: no synthetic ADDEDs
            sim.backend.compact()
            with pytest.raises(aclient.ApiException) as caught:
                await drain(custom, listed["metadata"]["resourceVersion"])
            assert caught.value.status == 410
