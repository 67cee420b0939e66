from __future__ import annotations

from typing import Any

from k8s_cluster import Cluster

from netapp_dataops_airflow.simulators.kubernetes import bound_claim, kinds

JSON = dict[str, Any]


def claim(name: str, size: str = "1Gi", **spec: object) -> JSON:
    return {
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": size}}, **spec},
    }


def snapshot(name: str, pvc: str, **spec: object) -> JSON:
    return {"metadata": {"name": name}, "spec": {"source": {"persistentVolumeClaimName": pvc}, **spec}}


def events_for(cluster: Cluster, name: str) -> list[tuple[str, str, str]]:
    return [
        (e["type"], e["reason"], e["message"])
        for e in cluster.backend.objects(kinds.EVENTS, "default")
        if e["involvedObject"]["name"] == name
    ]


def pvc(cluster: Cluster, name: str) -> JSON:
    return cluster.backend.get(kinds.PVCS, "default", name)


def vs(cluster: Cluster, name: str) -> JSON:
    return cluster.backend.get(kinds.SNAPSHOTS, "default", name)


def warnings(cluster: Cluster, name: str) -> list[str]:
    return [message for kind, _, message in events_for(cluster, name) if kind == "Warning"]


def test_immediate_claim_is_provisioned_and_bound(cluster: Cluster) -> None:
    created = cluster.backend.create(kinds.PVCS, "default", claim("data"))
    cluster.settle()
    bound = pvc(cluster, "data")
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
    volume = cluster.backend.get(kinds.PVS, None, volume_name)
    assert volume["spec"]["csi"]["volumeHandle"] == volume_name
    assert volume["spec"]["claimRef"]["uid"] == created["metadata"]["uid"]
    assert volume["status"]["phase"] == "Bound"
    assert [reason for _, reason, _ in events_for(cluster, "data")] == [
        "ExternalProvisioning",
        "Provisioning",
        "ProvisioningSuccess",
        "ProvisioningSucceeded",
    ]


def test_wait_for_first_consumer_stays_pending_until_a_pod_uses_the_claim(cluster: Cluster) -> None:
    cluster.backend.create(kinds.PVCS, "default", claim("late", storageClassName="ontap-nas-wffc"))
    cluster.step(3)
    assert pvc(cluster, "late")["status"]["phase"] == "Pending"
    wffc = [
        e for e in cluster.backend.objects(kinds.EVENTS, "default") if e["reason"] == "WaitForFirstConsumer"
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
    cluster.backend.create(kinds.PODS, "default", pod)
    cluster.settle()
    assert pvc(cluster, "late")["status"]["phase"] == "Bound"


def test_snapshot_status_appears_progressively(cluster: Cluster) -> None:
    source = cluster.backend.seed(*bound_claim("data"))[0]
    created = cluster.backend.create(kinds.SNAPSHOTS, "default", snapshot("snap", "data"))
    assert "status" not in created
    cluster.step()
    content_name = f"snapcontent-{created['metadata']['uid']}"
    first = vs(cluster, "snap")
    assert first["status"] == {"boundVolumeSnapshotContentName": content_name, "readyToUse": False}
    assert first["spec"]["volumeSnapshotClassName"] == "csi-snapclass"  # the default class was filled in
    assert (
        "snapshot.storage.kubernetes.io/pvc-as-source-protection"
        in pvc(cluster, "data")["metadata"]["finalizers"]
    )
    cluster.settle()
    ready = vs(cluster, "snap")
    assert ready["status"]["readyToUse"] is True
    assert ready["status"]["restoreSize"] == "1Gi"
    assert ready["status"]["creationTime"].endswith("Z")
    assert set(ready["metadata"]["finalizers"]) == {
        "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection",
        "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection",
    }
    content = cluster.backend.get(kinds.CONTENTS, None, content_name)
    volume_handle = source["spec"]["volumeName"]
    assert content["spec"]["source"] == {"volumeHandle": volume_handle}
    assert content["spec"]["volumeSnapshotRef"]["uid"] == created["metadata"]["uid"]
    assert content["status"]["snapshotHandle"] == f"{volume_handle}/snapshot-{created['metadata']['uid']}"
    assert content["status"]["restoreSize"] == 1024**3
    assert content["status"]["creationTime"] % 1_000_000_000 == 0  # Trident reports whole seconds
    assert "snapshot.storage.kubernetes.io/pvc-as-source-protection" not in pvc(cluster, "data")[
        "metadata"
    ].get("finalizers", [])
    assert [reason for _, reason, _ in events_for(cluster, "snap")] == [
        "CreatingSnapshot",
        "SnapshotCreated",
        "SnapshotReady",
    ]


def test_missing_snapshot_class_is_retried_until_created(cluster: Cluster) -> None:
    cluster.backend.seed(*bound_claim("data"))
    cluster.backend.create(
        kinds.SNAPSHOTS, "default", snapshot("snap", "data", volumeSnapshotClassName="gold")
    )
    cluster.step(2)
    message = (
        'Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io "gold" not found'
    )
    status = vs(cluster, "snap")["status"]
    assert status["error"]["message"] == message
    assert "readyToUse" not in status
    assert warnings(cluster, "snap") == [message]
    cluster.backend.create(
        kinds.SNAPSHOT_CLASSES,
        None,
        {"metadata": {"name": "gold"}, "driver": "csi.trident.netapp.io", "deletionPolicy": "Retain"},
    )
    cluster.settle()
    status = vs(cluster, "snap")["status"]
    assert status["readyToUse"] is True
    assert "error" not in status


def test_no_default_snapshot_class(cluster: Cluster) -> None:
    cluster.backend.seed(*bound_claim("data"))
    cluster.backend.delete(kinds.SNAPSHOT_CLASSES, None, "csi-snapclass")
    cluster.backend.create(kinds.SNAPSHOTS, "default", snapshot("snap", "data"))
    cluster.step(2)
    assert vs(cluster, "snap")["status"]["error"]["message"] == (
        "Failed to set default snapshot class with error cannot find default snapshot class"
    )


def test_snapshot_of_missing_claim(cluster: Cluster) -> None:
    cluster.backend.create(kinds.SNAPSHOTS, "default", snapshot("snap", "ghost"))
    cluster.step(2)
    status = vs(cluster, "snap")["status"]
    assert status["readyToUse"] is False
    assert status["error"]["message"] == (
        "Failed to create snapshot content with error snapshot controller failed to update snap "
        "on API server: "
        "cannot get claim from snapshot"
    )


def test_snapshot_of_unbound_claim(cluster: Cluster) -> None:
    cluster.backend.create(kinds.PVCS, "default", claim("late", storageClassName="ontap-nas-wffc"))
    cluster.backend.create(kinds.SNAPSHOTS, "default", snapshot("snap", "late"))
    cluster.step(2)
    assert vs(cluster, "snap")["status"]["error"]["message"] == (
        "Failed to create snapshot content with error failed to get input parameters to create "
        "snapshot snap: "
        '"the PVC late is not yet bound to a PV, will not attempt to take a snapshot"'
    )


def test_driver_error_on_snapshot_is_reported_then_retried(cluster: Cluster) -> None:
    source = cluster.backend.seed(*bound_claim("data"))[0]
    cluster.backend.faults.fail_next_snapshot("ONTAP snapshot limit reached")
    cluster.backend.timing.retry = 3600  # hold the retry so the error stays visible
    created = cluster.backend.create(kinds.SNAPSHOTS, "default", snapshot("snap", "data"))
    cluster.settle()
    message = (
        "Failed to check and update snapshot content: failed to take snapshot of the volume "
        f'{source["spec"]["volumeName"]}: "rpc error: code = Internal desc = ONTAP snapshot limit reached"'
    )
    content = cluster.backend.get(kinds.CONTENTS, None, f"snapcontent-{created['metadata']['uid']}")
    assert content["status"]["error"]["message"] == message
    assert vs(cluster, "snap")["status"]["error"]["message"] == message
    assert vs(cluster, "snap")["status"]["readyToUse"] is False
    cluster.restart()
    cluster.backend.timing.retry = 0
    cluster.settle()
    assert vs(cluster, "snap")["status"]["readyToUse"] is True
    assert "error" not in vs(cluster, "snap")["status"]


def ready_snapshot(cluster: Cluster, size: str = "1Gi") -> None:
    cluster.backend.seed(*bound_claim("data", size=size))
    cluster.backend.create(kinds.SNAPSHOTS, "default", snapshot("snap", "data"))
    cluster.settle()


def from_snapshot(name: str, size: str = "1Gi") -> JSON:
    source = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "snap"}
    return claim(name, size, dataSource=source)


def test_clone_from_snapshot(cluster: Cluster) -> None:
    ready_snapshot(cluster)
    created = cluster.backend.create(kinds.PVCS, "default", from_snapshot("restored"))
    assert created["spec"]["dataSourceRef"] == created["spec"]["dataSource"]  # AnyVolumeDataSource copy
    cluster.settle()
    assert pvc(cluster, "restored")["status"]["phase"] == "Bound"


def test_clone_from_snapshot_smaller_than_restore_size(cluster: Cluster) -> None:
    ready_snapshot(cluster, "2Gi")
    cluster.backend.create(kinds.PVCS, "default", from_snapshot("small", "1Gi"))
    cluster.step(3)
    assert pvc(cluster, "small")["status"]["phase"] == "Pending"
    assert warnings(cluster, "small")[-1] == (
        'failed to provision volume with StorageClass "ontap-nas": error getting handle for DataSource Type '
        "VolumeSnapshot by Name snap: requested volume size 1073741824 is less than the size "
        "2147483648 for the "
        "source snapshot snap"
    )


def test_clone_from_snapshot_not_ready_then_ready(cluster: Cluster) -> None:
    cluster.backend.seed(*bound_claim("data"))
    cluster.backend.faults.fail_next_snapshot("busy")
    cluster.backend.create(kinds.SNAPSHOTS, "default", snapshot("snap", "data"))
    cluster.backend.create(kinds.PVCS, "default", from_snapshot("restored"))
    cluster.step(3)
    assert any(w.endswith("snapshot snap is not Ready") for w in warnings(cluster, "restored"))
    cluster.settle()
    assert pvc(cluster, "restored")["status"]["phase"] == "Bound"


def test_clone_from_missing_snapshot(cluster: Cluster) -> None:
    cluster.backend.create(kinds.PVCS, "default", from_snapshot("restored"))
    cluster.step(3)
    assert warnings(cluster, "restored")[-1].endswith(
        "error getting snapshot snap from api server: volumesnapshots.snapshot.storage.k8s.io "
        '"snap" not found'
    )


def from_claim(name: str, source: str, size: str = "1Gi") -> JSON:
    return claim(name, size, dataSourceRef={"apiGroup": "", "kind": "PersistentVolumeClaim", "name": source})


def test_clone_from_claim_and_its_failures(cluster: Cluster) -> None:
    cluster.backend.seed(*bound_claim("data", size="2Gi"))
    cluster.backend.create(kinds.PVCS, "default", claim("late", storageClassName="ontap-nas-wffc"))
    cluster.backend.create(kinds.PVCS, "default", from_claim("copy", "data", "2Gi"))
    cluster.backend.create(kinds.PVCS, "default", from_claim("small", "data", "1Gi"))
    cluster.backend.create(kinds.PVCS, "default", from_claim("unbound", "late"))
    cluster.backend.create(kinds.PVCS, "default", from_claim("orphan", "ghost"))
    cluster.step(4)
    assert pvc(cluster, "copy")["status"]["phase"] == "Bound"
    assert pvc(cluster, "copy")["spec"]["dataSource"]["kind"] == "PersistentVolumeClaim"
    prefix = 'failed to provision volume with StorageClass "ontap-nas": '
    assert warnings(cluster, "small")[-1] == prefix + (
        "error, new PVC request must be greater than or equal in size to the specified PVC data source, "
        "requested 1073741824 but source is 2147483648"
    )
    assert (
        warnings(cluster, "unbound")[-1]
        == prefix + "the PVC DataSource late must have a status of Bound.  Got Pending"
    )
    assert warnings(cluster, "orphan")[-1] == prefix + (
        'error getting PVC ghost (namespace "default") from api server: persistentvolumeclaims '
        '"ghost" not found'
    )


def test_trident_clone_annotation(cluster: Cluster) -> None:
    cluster.backend.seed(*bound_claim("data"))
    annotated = claim("clone", storageClassName="ontap-nas")
    annotated["metadata"]["annotations"] = {"trident.netapp.io/cloneFromPVC": "data"}
    other_class = claim("other", storageClassName="ontap-nas-wffc")
    other_class["metadata"]["annotations"] = {"trident.netapp.io/cloneFromPVC": "data"}
    other_class["metadata"]["name"] = "other"
    cluster.backend.create(kinds.PVCS, "default", annotated)
    cluster.backend.create(
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
    cluster.backend.create(kinds.PVCS, "default", other_class)
    cluster.step(5)
    assert pvc(cluster, "clone")["status"]["phase"] == "Bound"
    message = "cloning from a PVC requires both PVCs have the same storage class"
    assert ("Normal", "ProvisioningFailed", message) in events_for(cluster, "other")
    assert warnings(cluster, "other")[-1] == (
        'failed to provision volume with StorageClass "ontap-nas-wffc": rpc error: code = '
        f"Unknown desc = {message}"
    )


def test_driver_error_on_clone(cluster: Cluster) -> None:
    ready_snapshot(cluster)
    cluster.backend.faults.fail_next_clone("FlexClone failed")
    cluster.backend.create(kinds.PVCS, "default", from_snapshot("restored"))
    cluster.step(2)
    assert warnings(cluster, "restored") == [
        'failed to provision volume with StorageClass "ontap-nas": rpc error: code = Internal '
        "desc = FlexClone failed"
    ]
    cluster.settle()
    assert pvc(cluster, "restored")["status"]["phase"] == "Bound"


def test_deleting_a_snapshot_deletes_its_content(cluster: Cluster) -> None:
    ready_snapshot(cluster)
    content_name = vs(cluster, "snap")["status"]["boundVolumeSnapshotContentName"]
    cluster.backend.delete(kinds.SNAPSHOTS, "default", "snap")
    cluster.settle()
    assert cluster.backend.find(kinds.SNAPSHOTS, "default", "snap") is None
    assert cluster.backend.find(kinds.CONTENTS, None, content_name) is None


def test_snapshot_used_by_a_pending_restore_is_kept(cluster: Cluster) -> None:
    ready_snapshot(cluster)
    cluster.backend.faults.fail_next_clone("slow")
    cluster.backend.create(kinds.PVCS, "default", from_snapshot("restored"))
    cluster.backend.delete(kinds.SNAPSHOTS, "default", "snap")
    cluster.step()
    pending = ("Warning", "SnapshotDeletePending", "Snapshot is being used to restore a PVC")
    assert pending in events_for(cluster, "snap")
    cluster.settle()
    assert (
        cluster.backend.find(kinds.SNAPSHOTS, "default", "snap") is not None
    )  # as stuck as on a real cluster
    cluster.backend.delete(kinds.PVCS, "default", "restored")
    cluster.settle()
    assert cluster.backend.find(kinds.SNAPSHOTS, "default", "snap") is None


def test_deleting_a_claim_reclaims_its_volume(cluster: Cluster) -> None:
    cluster.backend.create(kinds.PVCS, "default", claim("data"))
    cluster.settle()
    volume_name = pvc(cluster, "data")["spec"]["volumeName"]
    cluster.backend.delete(kinds.PVCS, "default", "data")
    cluster.settle()
    assert cluster.backend.find(kinds.PVCS, "default", "data") is None
    assert cluster.backend.find(kinds.PVS, None, volume_name) is None
