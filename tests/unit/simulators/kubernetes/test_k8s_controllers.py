from __future__ import annotations

import json
import time
from typing import Any

from netapp_dataops_airflow.simulators.kubernetes import bound_claim, kinds
from tests.helpers.kubernetes import (
    SteppedKubernetes,
    claim_body,
    claim_source,
    snapshot_body,
    snapshot_source,
)

JSON = dict[str, Any]


def events_for(stepped: SteppedKubernetes, name: str) -> list[tuple[str, str, str]]:
    return [
        (e["type"], e["reason"], e["message"])
        for e in stepped.backend.objects(kinds.EVENTS, "default")
        if e["involvedObject"]["name"] == name
    ]


def pvc(stepped: SteppedKubernetes, name: str) -> JSON:
    return stepped.backend.get(kinds.PVCS, "default", name)


def vs(stepped: SteppedKubernetes, name: str) -> JSON:
    return stepped.backend.get(kinds.SNAPSHOTS, "default", name)


def warnings(stepped: SteppedKubernetes, name: str) -> list[str]:
    return [message for kind, _, message in events_for(stepped, name) if kind == "Warning"]


def test_immediate_claim_is_provisioned_and_bound(stepped: SteppedKubernetes) -> None:
    created = stepped.backend.create(
        kinds.PVCS, "default", claim_body("data", access_modes=["ReadWriteMany"])
    )
    stepped.settle()
    bound = pvc(stepped, "data")
    volume_name = f"pvc-{created['metadata']['uid']}"
    assert bound["status"] == {
        "phase": "Bound",
        "accessModes": ["ReadWriteMany"],
        "capacity": {"storage": "1Gi"},
    }
    assert bound["spec"]["volumeName"] == volume_name
    assert bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    assert (
        bound["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"]
        == "csi.trident.netapp.io"
    )
    volume = stepped.backend.get(kinds.PVS, None, volume_name)
    assert volume["spec"]["csi"]["volumeHandle"] == volume_name
    assert volume["spec"]["claimRef"]["uid"] == created["metadata"]["uid"]
    assert volume["status"]["phase"] == "Bound"
    assert [reason for _, reason, _ in events_for(stepped, "data")] == [
        "ExternalProvisioning",
        "Provisioning",
        "ProvisioningSuccess",
        "ProvisioningSucceeded",
    ]


def test_wait_for_first_consumer_stays_pending_until_a_pod_uses_the_claim(stepped: SteppedKubernetes) -> None:
    stepped.backend.create(kinds.PVCS, "default", claim_body("late", storage_class="ontap-nas-wffc"))
    stepped.step(3)
    assert pvc(stepped, "late")["status"]["phase"] == "Pending"
    wffc = [
        e for e in stepped.backend.objects(kinds.EVENTS, "default") if e["reason"] == "WaitForFirstConsumer"
    ]
    assert len(wffc) == 1
    assert wffc[0]["message"] == "waiting for first consumer to be created before binding"
    assert wffc[0]["count"] >= 2  # repeated, as the PV controller does on every sync
    pod = {
        "metadata": {"name": "user"},
        "spec": {
            "containers": [{"name": "c", "image": "busybox"}],
            "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "late"}}],
        },
    }
    stepped.backend.create(kinds.PODS, "default", pod)
    stepped.settle()
    assert pvc(stepped, "late")["status"]["phase"] == "Bound"


def test_snapshot_status_appears_progressively(stepped: SteppedKubernetes) -> None:
    source = stepped.backend.seed(*bound_claim("data"))[0]
    created = stepped.backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap", "data"))
    assert "status" not in created
    stepped.step()
    content_name = f"snapcontent-{created['metadata']['uid']}"
    first = vs(stepped, "snap")
    assert first["status"] == {"boundVolumeSnapshotContentName": content_name, "readyToUse": False}
    assert first["spec"]["volumeSnapshotClassName"] == "csi-snapclass"  # the default class was filled in
    assert (
        "snapshot.storage.kubernetes.io/pvc-as-source-protection"
        in pvc(stepped, "data")["metadata"]["finalizers"]
    )
    stepped.settle()
    ready = vs(stepped, "snap")
    assert ready["status"]["readyToUse"] is True
    assert ready["status"]["restoreSize"] == "1Gi"
    assert ready["status"]["creationTime"].endswith("Z")
    assert set(ready["metadata"]["finalizers"]) == {
        "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection",
        "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection",
    }
    content = stepped.backend.get(kinds.CONTENTS, None, content_name)
    volume_handle = source["spec"]["volumeName"]
    assert content["spec"]["source"] == {"volumeHandle": volume_handle}
    assert content["spec"]["volumeSnapshotRef"]["uid"] == created["metadata"]["uid"]
    assert content["status"]["snapshotHandle"] == f"{volume_handle}/snapshot-{created['metadata']['uid']}"
    assert content["status"]["restoreSize"] == 1024**3
    assert content["status"]["creationTime"] % 1_000_000_000 == 0  # Trident reports whole seconds
    assert "snapshot.storage.kubernetes.io/pvc-as-source-protection" not in pvc(stepped, "data")[
        "metadata"
    ].get("finalizers", [])
    assert [reason for _, reason, _ in events_for(stepped, "snap")] == [
        "CreatingSnapshot",
        "SnapshotCreated",
        "SnapshotReady",
    ]


def test_missing_snapshot_class_is_retried_until_created(stepped: SteppedKubernetes) -> None:
    stepped.backend.seed(*bound_claim("data"))
    stepped.backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap", "data", snapshot_class="gold"))
    stepped.step(2)
    message = (
        'Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io "gold" not found'
    )
    status = vs(stepped, "snap")["status"]
    assert status["error"]["message"] == message
    assert "readyToUse" not in status
    assert warnings(stepped, "snap") == [message]
    stepped.backend.create(
        kinds.SNAPSHOT_CLASSES,
        None,
        {"metadata": {"name": "gold"}, "driver": "csi.trident.netapp.io", "deletionPolicy": "Retain"},
    )
    stepped.settle()
    status = vs(stepped, "snap")["status"]
    assert status["readyToUse"] is True
    assert "error" not in status


def test_no_default_snapshot_class(stepped: SteppedKubernetes) -> None:
    stepped.backend.seed(*bound_claim("data"))
    stepped.backend.delete(kinds.SNAPSHOT_CLASSES, None, "csi-snapclass")
    stepped.backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap", "data"))
    stepped.step(2)
    assert vs(stepped, "snap")["status"]["error"]["message"] == (
        "Failed to set default snapshot class with error cannot find default snapshot class"
    )


def test_snapshot_of_missing_claim(stepped: SteppedKubernetes) -> None:
    stepped.backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap", "ghost"))
    stepped.step(2)
    status = vs(stepped, "snap")["status"]
    assert status["readyToUse"] is False
    assert status["error"]["message"] == (
        "Failed to create snapshot content with error snapshot controller failed to update snap "
        "on API server: "
        "cannot get claim from snapshot"
    )


def test_snapshot_of_unbound_claim(stepped: SteppedKubernetes) -> None:
    stepped.backend.create(kinds.PVCS, "default", claim_body("late", storage_class="ontap-nas-wffc"))
    stepped.backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap", "late"))
    stepped.step(2)
    assert vs(stepped, "snap")["status"]["error"]["message"] == (
        "Failed to create snapshot content with error failed to get input parameters to create "
        "snapshot snap: "
        '"the PVC late is not yet bound to a PV, will not attempt to take a snapshot"'
    )


def test_driver_error_on_snapshot_is_reported_then_retried(stepped: SteppedKubernetes) -> None:
    source = stepped.backend.seed(*bound_claim("data"))[0]
    stepped.backend.faults.fail_next_snapshot("ONTAP snapshot limit reached")
    stepped.backend.timing.retry = 3600  # hold the retry so the error stays visible
    created = stepped.backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap", "data"))
    stepped.settle()
    message = (
        "Failed to check and update snapshot content: failed to take snapshot of the volume "
        f'{source["spec"]["volumeName"]}: "rpc error: code = Internal desc = ONTAP snapshot limit reached"'
    )
    content = stepped.backend.get(kinds.CONTENTS, None, f"snapcontent-{created['metadata']['uid']}")
    assert content["status"]["error"]["message"] == message
    assert vs(stepped, "snap")["status"]["error"]["message"] == message
    assert vs(stepped, "snap")["status"]["readyToUse"] is False
    stepped.restart()
    stepped.backend.timing.retry = 0
    stepped.settle()
    assert vs(stepped, "snap")["status"]["readyToUse"] is True
    assert "error" not in vs(stepped, "snap")["status"]


def ready_snapshot(stepped: SteppedKubernetes, size: str = "1Gi") -> None:
    stepped.backend.seed(*bound_claim("data", size=size))
    stepped.backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap", "data"))
    stepped.settle()


def from_snapshot(name: str, size: str = "1Gi") -> JSON:
    return claim_body(name, size=size, dataSource=snapshot_source("snap"))


def test_clone_from_snapshot(stepped: SteppedKubernetes) -> None:
    ready_snapshot(stepped)
    created = stepped.backend.create(kinds.PVCS, "default", from_snapshot("restored"))
    assert created["spec"]["dataSourceRef"] == created["spec"]["dataSource"]  # AnyVolumeDataSource copy
    stepped.settle()
    assert pvc(stepped, "restored")["status"]["phase"] == "Bound"


def test_clone_from_snapshot_smaller_than_restore_size(stepped: SteppedKubernetes) -> None:
    ready_snapshot(stepped, "2Gi")
    stepped.backend.create(kinds.PVCS, "default", from_snapshot("small", "1Gi"))
    stepped.step(3)
    assert pvc(stepped, "small")["status"]["phase"] == "Pending"
    assert warnings(stepped, "small")[-1] == (
        'failed to provision volume with StorageClass "ontap-nas": error getting handle for DataSource Type '
        "VolumeSnapshot by Name snap: requested volume size 1073741824 is less than the size "
        "2147483648 for the "
        "source snapshot snap"
    )


def test_clone_from_snapshot_not_ready_then_ready(stepped: SteppedKubernetes) -> None:
    stepped.backend.seed(*bound_claim("data"))
    stepped.backend.faults.fail_next_snapshot("busy")
    stepped.backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap", "data"))
    stepped.backend.create(kinds.PVCS, "default", from_snapshot("restored"))
    stepped.step(3)
    assert any(w.endswith("snapshot snap is not Ready") for w in warnings(stepped, "restored"))
    stepped.settle()
    assert pvc(stepped, "restored")["status"]["phase"] == "Bound"


def test_clone_from_missing_snapshot(stepped: SteppedKubernetes) -> None:
    stepped.backend.create(kinds.PVCS, "default", from_snapshot("restored"))
    stepped.step(3)
    assert warnings(stepped, "restored")[-1].endswith(
        "error getting snapshot snap from api server: volumesnapshots.snapshot.storage.k8s.io "
        '"snap" not found'
    )


def from_claim(name: str, source: str, size: str = "1Gi") -> JSON:
    return claim_body(name, size=size, dataSourceRef=claim_source(source))


def test_clone_from_claim_and_its_failures(stepped: SteppedKubernetes) -> None:
    stepped.backend.seed(*bound_claim("data", size="2Gi"))
    stepped.backend.create(kinds.PVCS, "default", claim_body("late", storage_class="ontap-nas-wffc"))
    stepped.backend.create(kinds.PVCS, "default", from_claim("copy", "data", "2Gi"))
    stepped.backend.create(kinds.PVCS, "default", from_claim("small", "data", "1Gi"))
    stepped.backend.create(kinds.PVCS, "default", from_claim("unbound", "late"))
    stepped.backend.create(kinds.PVCS, "default", from_claim("orphan", "ghost"))
    stepped.step(4)
    assert pvc(stepped, "copy")["status"]["phase"] == "Bound"
    assert pvc(stepped, "copy")["spec"]["dataSource"]["kind"] == "PersistentVolumeClaim"
    prefix = 'failed to provision volume with StorageClass "ontap-nas": '
    assert warnings(stepped, "small")[-1] == prefix + (
        "error, new PVC request must be greater than or equal in size to the specified PVC data source, "
        "requested 1073741824 but source is 2147483648"
    )
    assert (
        warnings(stepped, "unbound")[-1]
        == prefix + "the PVC DataSource late must have a status of Bound.  Got Pending"
    )
    assert warnings(stepped, "orphan")[-1] == prefix + (
        'error getting PVC ghost (namespace "default") from api server: persistentvolumeclaims '
        '"ghost" not found'
    )


def test_trident_clone_annotation(stepped: SteppedKubernetes) -> None:
    stepped.backend.seed(*bound_claim("data"))
    annotated = claim_body("clone", storage_class="ontap-nas")
    annotated["metadata"]["annotations"] = {"trident.netapp.io/cloneFromPVC": "data"}
    other_class = claim_body("other", storage_class="ontap-nas-wffc")
    other_class["metadata"]["annotations"] = {"trident.netapp.io/cloneFromPVC": "data"}
    other_class["metadata"]["name"] = "other"
    stepped.backend.create(kinds.PVCS, "default", annotated)
    stepped.backend.create(
        kinds.PODS,
        "default",
        {
            "metadata": {"name": "p"},
            "spec": {
                "containers": [{"name": "c"}],
                "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "other"}}],
            },
        },
    )
    stepped.backend.create(kinds.PVCS, "default", other_class)
    stepped.step(5)
    assert pvc(stepped, "clone")["status"]["phase"] == "Bound"
    message = "cloning from a PVC requires both PVCs have the same storage class"
    assert ("Normal", "ProvisioningFailed", message) in events_for(stepped, "other")
    assert warnings(stepped, "other")[-1] == (
        'failed to provision volume with StorageClass "ontap-nas-wffc": rpc error: code = '
        f"Unknown desc = {message}"
    )


def test_driver_error_on_clone(stepped: SteppedKubernetes) -> None:
    ready_snapshot(stepped)
    stepped.backend.faults.fail_next_clone("FlexClone failed")
    stepped.backend.create(kinds.PVCS, "default", from_snapshot("restored"))
    stepped.step(2)
    assert warnings(stepped, "restored") == [
        'failed to provision volume with StorageClass "ontap-nas": rpc error: code = Internal '
        "desc = FlexClone failed"
    ]
    stepped.settle()
    assert pvc(stepped, "restored")["status"]["phase"] == "Bound"


def test_deleting_a_snapshot_deletes_its_content(stepped: SteppedKubernetes) -> None:
    ready_snapshot(stepped)
    content_name = vs(stepped, "snap")["status"]["boundVolumeSnapshotContentName"]
    stepped.backend.delete(kinds.SNAPSHOTS, "default", "snap")
    stepped.settle()
    assert stepped.backend.find(kinds.SNAPSHOTS, "default", "snap") is None
    assert stepped.backend.find(kinds.CONTENTS, None, content_name) is None


def test_snapshot_used_by_a_pending_restore_is_kept(stepped: SteppedKubernetes) -> None:
    ready_snapshot(stepped)
    stepped.backend.faults.fail_next_clone("slow")
    stepped.backend.create(kinds.PVCS, "default", from_snapshot("restored"))
    stepped.backend.delete(kinds.SNAPSHOTS, "default", "snap")
    stepped.step()
    pending = ("Warning", "SnapshotDeletePending", "Snapshot is being used to restore a PVC")
    assert pending in events_for(stepped, "snap")
    stepped.settle()
    assert (
        stepped.backend.find(kinds.SNAPSHOTS, "default", "snap") is not None
    )  # as stuck as on a real cluster
    stepped.backend.delete(kinds.PVCS, "default", "restored")
    stepped.settle()
    assert stepped.backend.find(kinds.SNAPSHOTS, "default", "snap") is None


def test_deleting_a_claim_reclaims_its_volume(stepped: SteppedKubernetes) -> None:
    stepped.backend.create(kinds.PVCS, "default", claim_body("data"))
    stepped.settle()
    volume_name = pvc(stepped, "data")["spec"]["volumeName"]
    stepped.backend.delete(kinds.PVCS, "default", "data")
    stepped.settle()
    assert stepped.backend.find(kinds.PVCS, "default", "data") is None
    assert stepped.backend.find(kinds.PVS, None, volume_name) is None


def test_a_pass_woken_by_a_content_change_follows_it_to_its_snapshot_alone(
    stepped: SteppedKubernetes,
) -> None:
    stepped.backend.seed(*bound_claim("data"))
    stepped.backend.timing.update(snapshot_ready=3600.0)  # the CSI driver is slow: we play it
    for name in ("snap", "other"):
        stepped.backend.create(kinds.SNAPSHOTS, "default", snapshot_body(name, "data"))
    stepped.settle()
    content = vs(stepped, "snap")["status"]["boundVolumeSnapshotContentName"]
    status = {"status": {"readyToUse": True, "snapshotHandle": "h/1", "restoreSize": 1 << 30}}
    stepped.backend.patch(
        kinds.CONTENTS,
        None,
        content,
        "application/merge-patch+json",
        json.dumps(status).encode(),
        subresource="status",
    )
    before = dict(stepped.controllers.passes)
    for _ in range(5):
        stepped.controllers.run_changes()
    assert stepped.controllers.passes["incremental"] > before["incremental"]
    assert stepped.controllers.passes["full"] == before["full"]
    assert vs(stepped, "snap")["status"]["readyToUse"] is True
    assert vs(stepped, "other")["status"]["readyToUse"] is False
    assert [r for _, r, _ in events_for(stepped, "snap")].count("SnapshotReady") == 1
    # "other" still uses the claim as its source: its protection stays.
    assert (
        "snapshot.storage.kubernetes.io/pvc-as-source-protection"
        in pvc(stepped, "data")["metadata"]["finalizers"]
    )


def test_a_step_coming_due_runs_a_full_pass(stepped: SteppedKubernetes) -> None:
    stepped.backend.seed(*bound_claim("data"))
    stepped.backend.timing.update(snapshot=0.2)
    stepped.backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap", "data"))
    stepped.controllers.run_changes()  # the first pass is a full one; the snapshot's step waits
    assert "status" not in vs(stepped, "snap")
    time.sleep(0.3)
    stepped.controllers.run_changes()
    assert stepped.controllers.passes == {"full": 2, "incremental": 0}
    assert vs(stepped, "snap")["status"]["boundVolumeSnapshotContentName"]
