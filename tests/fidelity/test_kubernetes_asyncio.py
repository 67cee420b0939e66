"""``kubernetes_asyncio`` (36.1.0), unchanged, against the Kubernetes simulator."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.rest import ApiException

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator
from tests.helpers.kubernetes import NAMESPACE, SNAPSHOT_CLASS, VS_ARGS, claim_body, snapshot_body
from tests.helpers.waiting import WAIT_SECONDS

pytestmark = pytest.mark.fidelity

MERGE_PATCH = "application/merge-patch+json"


@pytest.fixture
async def api(kubeconfig_path: Path) -> AsyncIterator[client.ApiClient]:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig_path), client_configuration=configuration)
    async with client.ApiClient(configuration) as api_client:
        yield api_client
    # A watch left early closes its TLS connection outside the pool; give the close handshake the
    # moment aiohttp's "Graceful Shutdown" guide asks for before pytest-asyncio closes the loop.
    await asyncio.sleep(0.25)


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


async def poll(read: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], what: str) -> Any:
    """Await ``read`` until ``done(result)``; the limit only guards against a hang."""

    async def until_done() -> Any:
        while True:
            result = await read()
            if done(result):
                return result
            await asyncio.sleep(0.05)

    try:
        return await asyncio.wait_for(until_done(), WAIT_SECONDS)
    except asyncio.TimeoutError:
        pytest.fail(f"gave up waiting for {what}")


async def wait_gone(read: Callable[[], Awaitable[Any]]) -> None:
    async def missing() -> bool:
        try:
            await read()
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        return False

    await poll(missing, bool, "deletion")


async def bound_pvc(core: client.CoreV1Api, name: str, **options: Any) -> client.V1PersistentVolumeClaim:
    await core.create_namespaced_persistent_volume_claim(NAMESPACE, claim_body(name, **options))
    return await poll(
        lambda: core.read_namespaced_persistent_volume_claim_status(name, NAMESPACE),
        lambda claim: claim.status.phase == "Bound",
        f"{name} to bind",
    )


async def read_until(
    stream: watch.Watch, enough: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """Read watch events until ``enough(events)``; a keep-alive or other non-event line fails the test."""
    events: list[dict[str, Any]] = []

    async def read() -> None:
        async for event in stream:
            assert isinstance(event, dict), f"a watch line that is not an event: {event!r}"
            events.append(event)
            if enough(events):
                return
        pytest.fail(f"the watch ended early: {events}")

    try:
        await asyncio.wait_for(read(), WAIT_SECONDS)
    except asyncio.TimeoutError:
        pytest.fail(f"not enough watch events: {events}")
    return events


def one(events: list[dict[str, Any]]) -> bool:
    return len(events) == 1


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(event["type"], event["object"].metadata.name) for event in events]


async def test_pvc_create_status_list_patch_delete(core: client.CoreV1Api) -> None:
    created = await core.create_namespaced_persistent_volume_claim(
        NAMESPACE, claim_body("aio-data", labels={"suite": "aio"})
    )
    assert created.status.phase == "Pending"
    bound = await poll(
        lambda: core.read_namespaced_persistent_volume_claim_status("aio-data", NAMESPACE),
        lambda claim: claim.status.phase == "Bound",
        "aio-data to bind",
    )
    assert bound.spec.volume_name == f"pvc-{created.metadata.uid}"
    listed = await core.list_namespaced_persistent_volume_claim(NAMESPACE, label_selector="suite in (aio)")
    assert [item.metadata.name for item in listed.items] == ["aio-data"]
    patched = await core.patch_namespaced_persistent_volume_claim(
        "aio-data", NAMESPACE, {"metadata": {"labels": {"tier": "gold"}}}
    )
    assert patched.metadata.labels == {"suite": "aio", "tier": "gold"}
    with pytest.raises(ApiException) as missing:
        await core.read_namespaced_persistent_volume_claim("aio-nope", NAMESPACE)
    assert missing.value.status == 404
    assert json.loads(missing.value.body)["message"] == 'persistentvolumeclaims "aio-nope" not found'
    await core.delete_namespaced_persistent_volume_claim("aio-data", NAMESPACE)
    await wait_gone(lambda: core.read_namespaced_persistent_volume_claim("aio-data", NAMESPACE))


async def test_custom_object_crud_and_patch_content_types(
    core: client.CoreV1Api, custom: client.CustomObjectsApi
) -> None:
    await bound_pvc(core, "aio-snap-source")
    created = await custom.create_namespaced_custom_object(
        body=snapshot_body("aio-snap", "aio-snap-source", snapshot_class=SNAPSHOT_CLASS), **VS_ARGS
    )
    ready = await poll(
        lambda: custom.get_namespaced_custom_object_status(name="aio-snap", **VS_ARGS),
        lambda snap: snap.get("status", {}).get("readyToUse") is True,
        "aio-snap to become ready",
    )
    assert ready["metadata"]["uid"] == created["metadata"]["uid"]

    merged = await custom.patch_namespaced_custom_object(
        name="aio-snap", body={"metadata": {"labels": {"tier": "gold"}}}, _content_type=MERGE_PATCH, **VS_ARGS
    )
    assert merged["metadata"]["labels"] == {"tier": "gold"}

    # kubernetes_asyncio sends a dict as a JSON patch by default: a real server cannot decode it.
    with pytest.raises(ApiException) as undecodable:
        await custom.patch_namespaced_custom_object(
            name="aio-snap", body={"metadata": {"labels": {"tier": "silver"}}}, **VS_ARGS
        )
    assert undecodable.value.status == 400
    assert json.loads(undecodable.value.body)["reason"] == "BadRequest"

    # ... and a list is a proper JSON patch.
    json_patched = await custom.patch_namespaced_custom_object(
        name="aio-snap",
        body=[{"op": "replace", "path": "/metadata/labels/tier", "value": "bronze"}],
        **VS_ARGS,
    )
    assert json_patched["metadata"]["labels"] == {"tier": "bronze"}
    with pytest.raises(ApiException) as failed_test_op:
        await custom.patch_namespaced_custom_object(
            name="aio-snap",
            body=[{"op": "test", "path": "/metadata/labels/tier", "value": "gold"}],
            **VS_ARGS,
        )
    assert failed_test_op.value.status == 422
    assert json.loads(failed_test_op.value.body)["reason"] == "Invalid"

    listed = await custom.list_namespaced_custom_object(label_selector="tier=bronze", **VS_ARGS)
    assert [item["metadata"]["name"] for item in listed["items"]] == ["aio-snap"]
    await custom.delete_namespaced_custom_object(name="aio-snap", **VS_ARGS)
    await wait_gone(lambda: custom.get_namespaced_custom_object(name="aio-snap", **VS_ARGS))
    await core.delete_namespaced_persistent_volume_claim("aio-snap-source", NAMESPACE)


@contextlib.asynccontextmanager
async def watching(
    core: client.CoreV1Api, *, forever: bool = False, **params: Any
) -> AsyncIterator[watch.Watch]:
    """Watch the namespace's claims; without ``forever`` the server ends the watch after a while."""
    if not forever:
        params.setdefault("timeout_seconds", WAIT_SECONDS)
    async with watch.Watch().stream(
        core.list_namespaced_persistent_volume_claim, NAMESPACE, **params
    ) as stream:
        yield stream


async def test_watch_resumes_from_a_resource_version(core: client.CoreV1Api) -> None:
    start = (await core.list_namespaced_persistent_volume_claim(NAMESPACE)).metadata.resource_version
    await core.create_namespaced_persistent_volume_claim(
        NAMESPACE, claim_body("aio-w1", labels={"suite": "aio-watch"})
    )
    await core.delete_namespaced_persistent_volume_claim("aio-w1", NAMESPACE)

    async with watching(core, label_selector="suite=aio-watch", resource_version=start) as stream:
        events = await read_until(stream, lambda events: events[-1]["type"] == "DELETED")
    seen = summary(events)
    assert seen[0] == ("ADDED", "aio-w1"), seen
    assert seen[-1] == ("DELETED", "aio-w1"), seen
    assert {kind for kind, _ in seen[1:-1]} <= {"MODIFIED"}, seen
    last = stream.resource_version
    assert last == events[-1]["object"].metadata.resource_version

    await core.create_namespaced_persistent_volume_claim(
        NAMESPACE, claim_body("aio-w2", labels={"suite": "aio-watch"})
    )
    async with watching(core, label_selector="suite=aio-watch", resource_version=last) as stream:
        events = await read_until(stream, one)
    assert summary(events) == [("ADDED", "aio-w2")]


async def test_watch_sends_bookmarks_as_raw_dicts(core: client.CoreV1Api) -> None:
    now = (await core.list_namespaced_persistent_volume_claim(NAMESPACE)).metadata.resource_version
    async with watching(
        core, label_selector="suite=none", resource_version=now, allow_watch_bookmarks=True
    ) as stream:
        events = await read_until(stream, lambda events: len(events) == 2)
    for bookmark in events:
        assert bookmark["type"] == "BOOKMARK", events
        obj = bookmark["object"]
        assert obj["kind"] == "PersistentVolumeClaim", bookmark
        assert obj["apiVersion"] == "v1", bookmark
        assert isinstance(obj["metadata"]["resourceVersion"], str), bookmark
    assert stream.resource_version == events[-1]["object"]["metadata"]["resourceVersion"]


async def test_watch_expired_resource_version_raises_410_and_relist_recovers(
    core: client.CoreV1Api, kubernetes_simulator: KubernetesSimulator
) -> None:
    await bound_pvc(core, "aio-gone", labels={"suite": "aio-410"})
    # Without timeout_seconds the client reconnects by itself from the last resourceVersion it saw.
    # Expire the history under it (after an unrelated change, so that version is really gone): the
    # reconnect gets a 410 ERROR event, the client retries once, then raises.
    async with watching(core, forever=True, label_selector="suite=aio-410") as stream:
        assert summary(await read_until(stream, one)) == [("ADDED", "aio-gone")]
        await core.create_namespaced_persistent_volume_claim(NAMESPACE, claim_body("aio-bystander"))
        kubernetes_simulator.backend.expire_watches()
        with pytest.raises(ApiException) as expired:
            await read_until(stream, one)
    assert expired.value.status == 410
    assert expired.value.reason.startswith("Expired: too old resource version"), expired.value.reason

    # From an expired resourceVersion with timeout_seconds: no retry, straight to the 410.
    with pytest.raises(ApiException) as again:
        async with watching(core, resource_version=stream.resource_version) as retry:
            await read_until(retry, one)
    assert again.value.status == 410

    # Recovery: relist, then watch from the list's resourceVersion.
    listed = await core.list_namespaced_persistent_volume_claim(NAMESPACE, label_selector="suite=aio-410")
    assert [item.metadata.name for item in listed.items] == ["aio-gone"]
    await core.patch_namespaced_persistent_volume_claim(
        "aio-gone", NAMESPACE, {"metadata": {"labels": {"n": "1"}}}
    )
    async with watching(
        core, label_selector="suite=aio-410", resource_version=listed.metadata.resource_version
    ) as stream:
        events = await read_until(stream, one)
    assert summary(events) == [("MODIFIED", "aio-gone")]
    assert events[0]["object"].metadata.labels["n"] == "1"
