from __future__ import annotations

import asyncio

import pytest

from netapp_dataops_airflow.simulators.kubernetes import KubernetesBackend, bound_claim, kinds
from netapp_dataops_airflow.simulators.kubernetes.errors import ApiError
from netapp_dataops_airflow.simulators.kubernetes.selectors import (
    FieldSelector,
    LabelSelector,
    parse_label_selector,
)
from tests.helpers.kubernetes import claim_body, snapshot_body

MERGE = "application/merge-patch+json"


def error_of(call: object, *args: object, **kwargs: object) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value


@pytest.fixture
def backend() -> KubernetesBackend:
    return KubernetesBackend()


def test_default_seed(backend: KubernetesBackend) -> None:
    state = backend.dump()
    assert [n["metadata"]["name"] for n in state["namespaces"]] == ["default", "kube-system"]
    classes = {c["metadata"]["name"]: c for c in state["storageclasses"]}
    assert (
        classes["ontap-nas"]["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"]
        == "true"
    )
    assert classes["ontap-nas-wffc"]["volumeBindingMode"] == "WaitForFirstConsumer"
    assert state["volumesnapshotclasses"][0]["deletionPolicy"] == "Delete"


def test_create_sets_server_metadata_and_admission(backend: KubernetesBackend) -> None:
    body = claim_body("data")
    del body["apiVersion"], body["kind"]  # the server fills them in
    created = backend.create(kinds.PVCS, "default", {**body, "status": {"phase": "Bound"}})
    meta = created["metadata"]
    assert meta["namespace"] == "default"
    assert meta["generation"] == 1
    assert int(meta["resourceVersion"]) == backend.resource_version
    assert meta["uid"]
    assert meta["creationTimestamp"].endswith("Z")
    assert meta["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert created["spec"]["storageClassName"] == "ontap-nas"  # DefaultStorageClass admission
    assert created["status"] == {"phase": "Pending"}  # a supplied status is reset
    assert created["apiVersion"] == "v1"
    assert created["kind"] == "PersistentVolumeClaim"


def test_custom_resource_create_drops_status(backend: KubernetesBackend) -> None:
    created = backend.create(
        kinds.SNAPSHOTS, "default", {**snapshot_body("snap", "data"), "status": {"readyToUse": True}}
    )
    assert "status" not in created


def test_generate_name_and_dry_run(backend: KubernetesBackend) -> None:
    body = claim_body("")
    body["metadata"]["generateName"] = "gen-"
    created = backend.create(kinds.PVCS, "default", body)
    assert created["metadata"]["name"].startswith("gen-")
    assert len(created["metadata"]["name"]) == len("gen-") + 5
    before = backend.resource_version
    backend.create(kinds.PVCS, "default", claim_body("dry"), dry_run=True)
    assert backend.resource_version == before
    assert backend.find(kinds.PVCS, "default", "dry") is None


def test_create_errors(backend: KubernetesBackend) -> None:
    backend.create(kinds.PVCS, "default", claim_body("data"))
    duplicate = error_of(backend.create, kinds.PVCS, "default", claim_body("data"))
    assert (duplicate.code, duplicate.reason, duplicate.message) == (
        409,
        "AlreadyExists",
        'persistentvolumeclaims "data" already exists',
    )
    missing_ns = error_of(backend.create, kinds.PVCS, "nope", claim_body("data"))
    assert (missing_ns.code, missing_ns.message) == (404, 'namespaces "nope" not found')
    mismatch = error_of(backend.create, kinds.PVCS, "default", claim_body("x", namespace="kube-system"))
    assert mismatch.code == 400
    assert (
        mismatch.message
        == "the namespace of the provided object does not match the namespace sent on the request"
    )


def test_not_found_messages_use_qualified_resource(backend: KubernetesBackend) -> None:
    error = error_of(backend.get, kinds.SNAPSHOTS, "default", "x")
    assert error.message == 'volumesnapshots.snapshot.storage.k8s.io "x" not found'
    assert error.details == {"name": "x", "group": "snapshot.storage.k8s.io", "kind": "volumesnapshots"}


def test_update_optimistic_concurrency(backend: KubernetesBackend) -> None:
    created = backend.create(kinds.PVCS, "default", claim_body("data"))
    created["metadata"]["labels"] = {"a": "b"}
    updated = backend.update(kinds.PVCS, "default", "data", created)
    assert updated["metadata"]["labels"] == {"a": "b"}
    stale = error_of(backend.update, kinds.PVCS, "default", "data", created)
    assert stale.code == 409
    assert stale.reason == "Conflict"
    assert "the object has been modified" in stale.message


def test_custom_resource_update_requires_resource_version(backend: KubernetesBackend) -> None:
    backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap", "data"))
    error = error_of(backend.update, kinds.SNAPSHOTS, "default", "snap", snapshot_body("snap", "data"))
    assert error.code == 422
    assert "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update" in error.message


def test_status_subresource_separates_spec_and_status(backend: KubernetesBackend) -> None:
    created = backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap", "data"))
    body = {
        **created,
        "spec": {"source": {"persistentVolumeClaimName": "other"}},
        "status": {"readyToUse": True},
    }
    via_status = backend.update(kinds.SNAPSHOTS, "default", "snap", body, subresource="status")
    assert via_status["status"] == {"readyToUse": True}
    assert via_status["spec"]["source"]["persistentVolumeClaimName"] == "data"
    patched, _ = backend.patch(kinds.SNAPSHOTS, "default", "snap", MERGE, b'{"status":{"readyToUse":false}}')
    assert patched["status"] == {"readyToUse": True}  # the main resource ignores status


def test_generation_counts_spec_changes_only(backend: KubernetesBackend) -> None:
    backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap", "data"))
    labelled, _ = backend.patch(
        kinds.SNAPSHOTS, "default", "snap", MERGE, b'{"metadata":{"labels":{"a":"b"}}}'
    )
    assert labelled["metadata"]["generation"] == 1
    classed, _ = backend.patch(
        kinds.SNAPSHOTS, "default", "snap", MERGE, b'{"spec":{"volumeSnapshotClassName":"csi-snapclass"}}'
    )
    assert classed["metadata"]["generation"] == 2


def test_patch_content_types(backend: KubernetesBackend) -> None:
    backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap", "data"))
    strategic = error_of(
        backend.patch, kinds.SNAPSHOTS, "default", "snap", "application/strategic-merge-patch+json", b"{}"
    )
    assert strategic.code == 415
    assert strategic.message == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    )
    json_patched, _ = backend.patch(
        kinds.SNAPSHOTS,
        "default",
        "snap",
        "application/json-patch+json",
        b'[{"op":"add","path":"/metadata/labels","value":{"x":"y"}}]',
    )
    assert json_patched["metadata"]["labels"] == {"x": "y"}


def test_server_side_apply_creates_if_absent(backend: KubernetesBackend) -> None:
    body = (
        b"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: applied\nspec:\n"
        b"  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n"
    )
    created, was_created = backend.patch(
        kinds.PVCS, "default", "applied", "application/apply-patch+yaml", body
    )
    assert was_created
    assert created["metadata"]["name"] == "applied"
    again, was_created = backend.patch(kinds.PVCS, "default", "applied", "application/apply-patch+yaml", body)
    assert not was_created
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]  # no change


def test_delete_with_finalizers(backend: KubernetesBackend) -> None:
    backend.create(kinds.PVCS, "default", claim_body("data"))
    marked = backend.delete(kinds.PVCS, "default", "data")
    assert marked["metadata"]["deletionTimestamp"]
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 0
    assert backend.find(kinds.PVCS, "default", "data") is not None
    adding = {
        **marked,
        "metadata": {**marked["metadata"], "finalizers": ["kubernetes.io/pvc-protection", "new"]},
    }
    assert error_of(backend.update, kinds.PVCS, "default", "data", adding).code == 422
    backend.patch(kinds.PVCS, "default", "data", MERGE, b'{"metadata":{"finalizers":null}}')
    assert backend.find(kinds.PVCS, "default", "data") is None


def test_delete_preconditions(backend: KubernetesBackend) -> None:
    backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap", "data"))
    error = error_of(backend.delete, kinds.SNAPSHOTS, "default", "snap", {"preconditions": {"uid": "other"}})
    assert error.code == 409


def test_list_selectors_and_pagination(backend: KubernetesBackend) -> None:
    for index in range(5):
        backend.create(kinds.PVCS, "default", claim_body(f"c{index}", labels={"n": str(index % 2)}))
    items, rv, token = backend.list_objects(kinds.PVCS, "default", parse_label_selector("n=1"))
    assert [i["metadata"]["name"] for i in items] == ["c1", "c3"]
    assert rv == str(backend.resource_version)
    assert token == ""
    page, _, token = backend.list_objects(kinds.PVCS, None, limit=2)
    names = [i["metadata"]["name"] for i in page]
    while token:
        page, _, token = backend.list_objects(kinds.PVCS, None, limit=2, continue_token=token)
        names += [i["metadata"]["name"] for i in page]
    assert names == ["c0", "c1", "c2", "c3", "c4"]


def test_expired_continue_token(backend: KubernetesBackend) -> None:
    for index in range(3):
        backend.create(kinds.PVCS, "default", claim_body(f"c{index}"))
    _, _, token = backend.list_objects(kinds.PVCS, None, limit=1)
    backend.create(kinds.PVCS, "default", claim_body("later"))
    backend.compact()
    error = error_of(backend.list_objects, kinds.PVCS, None, limit=1, continue_token=token)
    assert error.code == 410
    assert error.reason == "Expired"


async def test_watch_initial_replay_and_expiry(backend: KubernetesBackend) -> None:
    loop = asyncio.get_running_loop()
    start = str(backend.resource_version)
    backend.create(kinds.PVCS, "default", claim_body("a"))
    initial, watcher = backend.watch(kinds.PVCS, "default", None, LabelSelector(), FieldSelector(), loop)
    assert [(t, o["metadata"]["name"]) for t, o in initial] == [("ADDED", "a")]
    backend.patch(kinds.PVCS, "default", "a", MERGE, b'{"metadata":{"labels":{"x":"y"}}}')
    event_type, obj = await asyncio.wait_for(watcher.queue.get(), 5)  # type: ignore[misc]
    assert (event_type, obj["metadata"]["labels"]) == ("MODIFIED", {"x": "y"})
    backend.unwatch(watcher)

    replay, watcher = backend.watch(kinds.PVCS, "default", start, LabelSelector(), FieldSelector(), loop)
    assert [t for t, _ in replay] == ["ADDED", "MODIFIED"]
    backend.unwatch(watcher)

    backend.expire_watches()
    error = error_of(backend.watch, kinds.PVCS, "default", start, LabelSelector(), FieldSelector(), loop)
    assert (error.code, error.reason) == (410, "Expired")
    assert error.message == f"too old resource version: {start} ({backend.resource_version})"


async def test_watch_selector_transitions(backend: KubernetesBackend) -> None:
    loop = asyncio.get_running_loop()
    backend.create(kinds.PVCS, "default", claim_body("a"))
    _, watcher = backend.watch(
        kinds.PVCS, "default", None, parse_label_selector("x=y"), FieldSelector(), loop
    )
    backend.patch(kinds.PVCS, "default", "a", MERGE, b'{"metadata":{"labels":{"x":"y"}}}')
    backend.patch(kinds.PVCS, "default", "a", MERGE, b'{"metadata":{"labels":{"x":"z"}}}')
    seen = []
    while len(seen) < 2:
        item = await asyncio.wait_for(watcher.queue.get(), 5)
        assert item is not None
        if item[0] != "PROGRESS":
            seen.append(item[0])
    assert seen == ["ADDED", "DELETED"]


def test_history_is_bounded() -> None:
    backend = KubernetesBackend(history_size=3)
    start = str(backend.resource_version)
    for index in range(4):
        backend.create(kinds.PVCS, "default", claim_body(f"c{index}"))
    loop = asyncio.new_event_loop()
    try:
        assert (
            error_of(backend.watch, kinds.PVCS, None, start, LabelSelector(), FieldSelector(), loop).code
            == 410
        )
    finally:
        loop.close()


def test_seed_bound_claim_and_reset(backend: KubernetesBackend) -> None:
    backend.seed(*bound_claim("ready", "team", size="2Gi"))
    pvc = backend.get(kinds.PVCS, "team", "ready")
    assert pvc["status"]["phase"] == "Bound"
    assert backend.get(kinds.PVS, None, pvc["spec"]["volumeName"])["spec"]["claimRef"]["name"] == "ready"
    rv = backend.resource_version
    backend.reset()
    assert backend.find(kinds.PVCS, "team", "ready") is None
    assert backend.resource_version > rv  # versions never go back, so clients never see an old one again


def test_an_index_follows_creates_changes_and_deletes() -> None:
    backend = KubernetesBackend()
    backend.ensure_index(kinds.PVCS, "class", lambda obj: obj.get("spec", {}).get("storageClassName"))
    backend.create(kinds.PVCS, "default", claim_body("a", storage_class="gold"))
    backend.create(kinds.PVCS, "default", claim_body("b", storage_class="gold"))
    assert [o["metadata"]["name"] for o in backend.find_by(kinds.PVCS, "class", "gold")] == ["a", "b"]
    backend.mutate(kinds.PVCS, "default", "a", lambda c: c["spec"].update(storageClassName="silver"))
    assert [o["metadata"]["name"] for o in backend.find_by(kinds.PVCS, "class", "gold")] == ["b"]
    assert backend.any_by(kinds.PVCS, "class", "silver", lambda obj: obj["metadata"]["name"] == "a")
    backend.delete(kinds.PVCS, "default", "b")
    backend.mutate(kinds.PVCS, "default", "b", lambda c: c["metadata"].pop("finalizers", None))
    assert backend.find_by(kinds.PVCS, "class", "gold") == []


def test_changes_since_says_when_the_history_lost_some() -> None:
    backend = KubernetesBackend(history_size=3)
    start = backend.resource_version
    backend.create(kinds.PVCS, "default", claim_body("a"))
    assert [c.type for c in backend.changes_since(start) or []] == ["ADDED"]
    for name in "bcde":
        backend.create(kinds.PVCS, "default", claim_body(name))
    assert backend.changes_since(start) is None
    assert len(backend.changes_since(backend.resource_version - 2) or []) == 2
