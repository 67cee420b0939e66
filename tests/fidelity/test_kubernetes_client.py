"""The official ``kubernetes`` Python client (36.x), unchanged, against the Kubernetes simulator."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator
from tests.helpers.kubernetes import (
    NAMESPACE,
    SNAPSHOT_CLASS,
    SNAPSHOT_GROUP,
    SNAPSHOT_VERSION,
    VS_ARGS,
    claim_body,
    snapshot_body,
)
from tests.helpers.waiting import poll

pytestmark = pytest.mark.fidelity

WATCH_SECONDS = 30


def bound_pvc(core_v1: client.CoreV1Api, name: str, **options: Any) -> client.V1PersistentVolumeClaim:
    core_v1.create_namespaced_persistent_volume_claim(NAMESPACE, claim_body(name, **options))
    return poll(
        lambda: core_v1.read_namespaced_persistent_volume_claim_status(name, NAMESPACE),
        lambda claim: claim.status.phase == "Bound",
        f"PVC {name} to bind",
    )


def gone(read: Callable[[], Any]) -> Callable[[], bool]:
    def check() -> bool:
        try:
            read()
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        return False

    return check


def wait_gone(read: Callable[[], Any], what: str) -> None:
    poll(gone(read), bool, f"{what} to be deleted")


def status_of(exc: ApiException) -> dict[str, Any]:
    body = json.loads(exc.body)
    assert body["kind"] == "Status", body
    assert body["apiVersion"] == "v1", body
    assert body["status"] == "Failure", body
    assert body["code"] == exc.status, body
    return body  # type: ignore[no-any-return]


def test_pvc_create_read_status_list_patch_replace_delete(core_v1: client.CoreV1Api) -> None:
    created = core_v1.create_namespaced_persistent_volume_claim(
        NAMESPACE, claim_body("py-data", labels={"suite": "py"})
    )
    assert created.metadata.uid
    assert created.metadata.namespace == NAMESPACE
    assert created.metadata.generation == 1
    assert "kubernetes.io/pvc-protection" in created.metadata.finalizers
    assert created.status.phase == "Pending"

    read = core_v1.read_namespaced_persistent_volume_claim("py-data", NAMESPACE)
    assert read.metadata.uid == created.metadata.uid
    bound = poll(
        lambda: core_v1.read_namespaced_persistent_volume_claim_status("py-data", NAMESPACE),
        lambda claim: claim.status.phase == "Bound",
        "py-data to bind",
    )
    # /status answers with the whole object (netapp-dataops-k8s relies on that).
    assert bound.spec.volume_name == f"pvc-{created.metadata.uid}"
    assert bound.status.capacity == {"storage": "1Gi"}
    assert bound.status.access_modes == ["ReadWriteOnce"]
    volume = core_v1.read_persistent_volume(bound.spec.volume_name)
    assert volume.spec.claim_ref.uid == created.metadata.uid
    assert volume.status.phase == "Bound"

    listed = core_v1.list_namespaced_persistent_volume_claim(NAMESPACE, label_selector="suite=py")
    assert [item.metadata.name for item in listed.items] == ["py-data"]
    assert int(listed.metadata.resource_version) >= int(bound.metadata.resource_version)
    by_name = core_v1.list_namespaced_persistent_volume_claim(
        NAMESPACE, field_selector="metadata.name=py-data"
    )
    assert [item.metadata.name for item in by_name.items] == ["py-data"]
    others = core_v1.list_namespaced_persistent_volume_claim(NAMESPACE, label_selector="suite!=py")
    assert "py-data" not in [item.metadata.name for item in others.items]
    everywhere = core_v1.list_persistent_volume_claim_for_all_namespaces(label_selector="suite=py")
    assert [item.metadata.namespace for item in everywhere.items] == [NAMESPACE]

    # A dict body goes out as a strategic merge patch.
    patched = core_v1.patch_namespaced_persistent_volume_claim(
        "py-data",
        NAMESPACE,
        {"metadata": {"labels": {"tier": "gold"}, "annotations": {"example.com/a": "1"}}},
    )
    assert patched.metadata.labels == {"suite": "py", "tier": "gold"}
    assert patched.metadata.annotations["example.com/a"] == "1"
    assert patched.status.phase == "Bound"
    assert int(patched.metadata.resource_version) > int(bound.metadata.resource_version)

    stale = bound
    stale.metadata.labels = {"suite": "py", "tier": "silver"}
    with pytest.raises(ApiException) as conflict:
        core_v1.replace_namespaced_persistent_volume_claim("py-data", NAMESPACE, stale)
    assert conflict.value.status == 409
    assert conflict.value.reason == "Conflict"
    body = status_of(conflict.value)
    assert body["reason"] == "Conflict"
    assert body["message"] == (
        'Operation cannot be fulfilled on persistentvolumeclaims "py-data": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    current = core_v1.read_namespaced_persistent_volume_claim("py-data", NAMESPACE)
    current.metadata.labels["tier"] = "silver"
    replaced = core_v1.replace_namespaced_persistent_volume_claim("py-data", NAMESPACE, current)
    assert replaced.metadata.labels["tier"] == "silver"

    deleted = core_v1.delete_namespaced_persistent_volume_claim("py-data", NAMESPACE)
    assert deleted.metadata.name == "py-data"
    wait_gone(lambda: core_v1.read_namespaced_persistent_volume_claim("py-data", NAMESPACE), "py-data")


def test_volume_snapshot_custom_object_crud_status_and_patches(
    core_v1: client.CoreV1Api, custom_objects: client.CustomObjectsApi
) -> None:
    source = bound_pvc(core_v1, "py-snap-source")
    created = custom_objects.create_namespaced_custom_object(
        body=snapshot_body(
            "py-snap", "py-snap-source", snapshot_class=SNAPSHOT_CLASS, labels={"suite": "py"}
        ),
        **VS_ARGS,
    )
    assert created["kind"] == "VolumeSnapshot"
    assert created["apiVersion"] == f"{SNAPSHOT_GROUP}/{SNAPSHOT_VERSION}"
    assert created["metadata"]["uid"]
    assert "status" not in created or not created["status"].get("readyToUse")

    ready = poll(
        lambda: custom_objects.get_namespaced_custom_object_status(name="py-snap", **VS_ARGS),
        lambda snap: snap.get("status", {}).get("readyToUse") is True,
        "py-snap to become ready",
    )
    assert ready["spec"]["source"] == {"persistentVolumeClaimName": "py-snap-source"}
    assert ready["status"]["boundVolumeSnapshotContentName"] == f"snapcontent-{created['metadata']['uid']}"
    assert ready["status"]["restoreSize"] == "1Gi"
    content = custom_objects.get_cluster_custom_object(
        SNAPSHOT_GROUP,
        SNAPSHOT_VERSION,
        "volumesnapshotcontents",
        ready["status"]["boundVolumeSnapshotContentName"],
    )
    assert content["spec"]["source"] == {"volumeHandle": source.spec.volume_name}

    listed = custom_objects.list_namespaced_custom_object(label_selector="suite=py", **VS_ARGS)
    assert listed["kind"] == "VolumeSnapshotList"
    assert [item["metadata"]["name"] for item in listed["items"]] == ["py-snap"]

    # A dict body goes out as a JSON merge patch: null removes a key.
    merged = custom_objects.patch_namespaced_custom_object(
        name="py-snap", body={"metadata": {"labels": {"suite": None, "tier": "gold"}}}, **VS_ARGS
    )
    assert merged["metadata"]["labels"] == {"tier": "gold"}
    # A JSON patch needs its content type spelled out (the client only declares merge patch here).
    json_patched = custom_objects.patch_namespaced_custom_object(
        name="py-snap",
        body=[{"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}],
        _content_type="application/json-patch+json",
        **VS_ARGS,
    )
    assert json_patched["metadata"]["annotations"] == {"a": "b"}
    # Writes to the main resource leave the status subresource alone.
    ignored = custom_objects.patch_namespaced_custom_object(
        name="py-snap", body={"status": {"readyToUse": False}}, **VS_ARGS
    )
    assert ignored["status"]["readyToUse"] is True

    deleted = custom_objects.delete_namespaced_custom_object(name="py-snap", **VS_ARGS)
    assert deleted["metadata"]["name"] == "py-snap"
    wait_gone(lambda: custom_objects.get_namespaced_custom_object(name="py-snap", **VS_ARGS), "py-snap")
    core_v1.delete_namespaced_persistent_volume_claim("py-snap-source", NAMESPACE)
    wait_gone(lambda: core_v1.read_namespaced_persistent_volume_claim("py-snap-source", NAMESPACE), "source")


def test_list_pages_dry_run_and_generate_name(core_v1: client.CoreV1Api) -> None:
    for index in range(3):
        core_v1.create_namespaced_persistent_volume_claim(
            NAMESPACE, claim_body(f"py-page-{index}", labels={"suite": "page"})
        )
    names, token, pages = [], None, 0
    while True:
        page = core_v1.list_namespaced_persistent_volume_claim(
            NAMESPACE, label_selector="suite=page", limit=2, _continue=token
        )
        names += [item.metadata.name for item in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert names == ["py-page-0", "py-page-1", "py-page-2"]
    assert pages == 2

    dry = core_v1.create_namespaced_persistent_volume_claim(NAMESPACE, claim_body("py-dry"), dry_run="All")
    assert dry.metadata.name == "py-dry"
    assert dry.status.phase == "Pending"
    with pytest.raises(ApiException) as missing:
        core_v1.read_namespaced_persistent_volume_claim("py-dry", NAMESPACE)
    assert missing.value.status == 404

    body = claim_body("unused")
    body["metadata"] = {"generateName": "py-gen-"}
    generated = core_v1.create_namespaced_persistent_volume_claim(NAMESPACE, body)
    assert re.fullmatch(r"py-gen-[a-z0-9]{5}", generated.metadata.name), generated.metadata.name
    assert generated.metadata.generate_name == "py-gen-"


def create_twice(core_v1: client.CoreV1Api, name: str) -> None:
    core_v1.create_namespaced_persistent_volume_claim(NAMESPACE, claim_body(name))
    core_v1.create_namespaced_persistent_volume_claim(NAMESPACE, claim_body(name))


INVALID_NAME_DETAIL = (
    'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case '
    "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
    "'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
ERROR_CASES: dict[
    str, tuple[Callable[[client.CoreV1Api, client.CustomObjectsApi], Any], int, str, str, str]
] = {
    "missing pvc": (
        lambda core, custom: core.read_namespaced_persistent_volume_claim("nope", NAMESPACE),
        404,
        "Not Found",
        "NotFound",
        'persistentvolumeclaims "nope" not found',
    ),
    "missing snapshot": (
        lambda core, custom: custom.get_namespaced_custom_object(name="nope", **VS_ARGS),
        404,
        "Not Found",
        "NotFound",
        'volumesnapshots.snapshot.storage.k8s.io "nope" not found',
    ),
    "missing namespace": (
        lambda core, custom: core.create_namespaced_persistent_volume_claim("nowhere", claim_body("x")),
        404,
        "Not Found",
        "NotFound",
        'namespaces "nowhere" not found',
    ),
    "duplicate": (
        lambda core, custom: create_twice(core, "py-twice"),
        409,
        "Conflict",
        "AlreadyExists",
        'persistentvolumeclaims "py-twice" already exists',
    ),
    "invalid name": (
        lambda core, custom: core.create_namespaced_persistent_volume_claim(
            NAMESPACE, claim_body("Bad_Name")
        ),
        422,
        "Unprocessable Entity",
        "Invalid",
        f'PersistentVolumeClaim "Bad_Name" is invalid: {INVALID_NAME_DETAIL}',
    ),
    "snapshot with two sources": (
        lambda core, custom: custom.create_namespaced_custom_object(
            body={
                **snapshot_body("py-two-sources", "a", snapshot_class=SNAPSHOT_CLASS),
                "spec": {"source": {"persistentVolumeClaimName": "a", "volumeSnapshotContentName": "b"}},
            },
            **VS_ARGS,
        ),
        422,
        "Unprocessable Entity",
        "Invalid",
        'VolumeSnapshot.snapshot.storage.k8s.io "py-two-sources" is invalid: spec.source: Invalid value: '
        '"object": exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set',
    ),
    "strategic merge patch on a custom resource": (
        lambda core, custom: custom.patch_namespaced_custom_object(
            name="py-any",
            body={"metadata": {"labels": {"a": "b"}}},
            _content_type="application/strategic-merge-patch+json",
            **VS_ARGS,
        ),
        415,
        "Unsupported Media Type",
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    ),
    "unsupported field selector": (
        lambda core, custom: core.list_namespaced_persistent_volume_claim(
            NAMESPACE, field_selector="spec.storageClassName=x"
        ),
        400,
        "Bad Request",
        "BadRequest",
        "field label not supported: spec.storageClassName",
    ),
}


@pytest.mark.parametrize("case", ERROR_CASES)
def test_errors_surface_as_api_exception_with_a_status_body(
    case: str, core_v1: client.CoreV1Api, custom_objects: client.CustomObjectsApi
) -> None:
    call, code, http_reason, reason, message = ERROR_CASES[case]
    with pytest.raises(ApiException) as raised:
        call(core_v1, custom_objects)
    assert raised.value.status == code
    assert raised.value.reason == http_reason
    body = status_of(raised.value)
    assert body["reason"] == reason
    assert body["message"] == message


def watch_claims(
    core_v1: client.CoreV1Api, until: Callable[[dict[str, Any]], bool], **params: Any
) -> tuple[list[dict[str, Any]], watch.Watch]:
    """Watch the namespace's claims until an event satisfies ``until`` (or the server timeout ends it)."""
    w = watch.Watch()
    params.setdefault("timeout_seconds", WATCH_SECONDS)
    events = []
    for event in w.stream(core_v1.list_namespaced_persistent_volume_claim, NAMESPACE, **params):
        events.append(event)
        if until(event):
            w.stop()
    return events, w


def first(event: dict[str, Any]) -> bool:
    return True


def labelled(key: str, value: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: (event["object"].metadata.labels or {}).get(key) == value


def names_and_types(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(event["type"], event["object"].metadata.name) for event in events]


def test_watch_replays_from_a_resource_version_and_resumes(core_v1: client.CoreV1Api) -> None:
    start = core_v1.list_namespaced_persistent_volume_claim(NAMESPACE).metadata.resource_version
    core_v1.create_namespaced_persistent_volume_claim(
        NAMESPACE, claim_body("py-w1", labels={"suite": "watch"})
    )
    core_v1.patch_namespaced_persistent_volume_claim(
        "py-w1", NAMESPACE, {"metadata": {"labels": {"step": "2"}}}
    )
    core_v1.delete_namespaced_persistent_volume_claim("py-w1", NAMESPACE)

    events, w = watch_claims(
        core_v1,
        lambda event: event["type"] == "DELETED",
        label_selector="suite=watch",
        resource_version=start,
    )
    seen = names_and_types(events)
    assert seen[0] == ("ADDED", "py-w1"), seen
    assert seen[-1] == ("DELETED", "py-w1"), seen
    assert {kind for kind, _ in seen[1:-1]} <= {"MODIFIED"}, seen
    assert any(labelled("step", "2")(event) for event in events), seen
    assert all(isinstance(event["object"], client.V1PersistentVolumeClaim) for event in events)
    assert w.resource_version == events[-1]["object"].metadata.resource_version

    # Resume from the last event seen: nothing older comes back.
    core_v1.create_namespaced_persistent_volume_claim(
        NAMESPACE, claim_body("py-w2", labels={"suite": "watch"})
    )
    events, _ = watch_claims(
        core_v1, first, label_selector="suite=watch", resource_version=w.resource_version
    )
    assert names_and_types(events) == [("ADDED", "py-w2")]

    # No resource version: a synthetic ADDED for what exists now.
    events, _ = watch_claims(core_v1, first, label_selector="suite=watch")
    assert names_and_types(events) == [("ADDED", "py-w2")]


def test_watch_ends_when_the_server_timeout_passes(core_v1: client.CoreV1Api) -> None:
    now = core_v1.list_namespaced_persistent_volume_claim(NAMESPACE).metadata.resource_version
    events, _ = watch_claims(
        core_v1, first, label_selector="suite=quiet", resource_version=now, timeout_seconds=1
    )
    assert events == []


def test_watch_from_a_compacted_resource_version_raises_410(
    core_v1: client.CoreV1Api, kubernetes_simulator: KubernetesSimulator
) -> None:
    start = core_v1.list_namespaced_persistent_volume_claim(NAMESPACE).metadata.resource_version
    core_v1.create_namespaced_persistent_volume_claim(NAMESPACE, claim_body("py-expired"))
    core_v1.patch_namespaced_persistent_volume_claim(
        "py-expired", NAMESPACE, {"metadata": {"labels": {"n": "0"}}}
    )
    kubernetes_simulator.backend.compact()
    with pytest.raises(ApiException) as expired:
        watch_claims(core_v1, first, resource_version=start, timeout_seconds=5)
    assert expired.value.status == 410
    assert expired.value.reason.startswith("Expired: too old resource version"), expired.value.reason
    # A list is always served; watching from its resourceVersion works again.
    now = core_v1.list_namespaced_persistent_volume_claim(NAMESPACE).metadata.resource_version
    core_v1.patch_namespaced_persistent_volume_claim(
        "py-expired", NAMESPACE, {"metadata": {"labels": {"n": "1"}}}
    )
    events, _ = watch_claims(core_v1, labelled("n", "1"), resource_version=now)
    assert events[-1]["type"] == "MODIFIED"
