"""NetApp's netapp-dataops-k8s 3.1.0, unchanged, against the Kubernetes simulator.

The toolkit runs in a virtualenv of its own (``NETAPP_TOOLKIT_PYTHON``, set by ``nox -s fidelity``)
through ``toolkit_scenarios.py``; the outcome is judged by reading the simulator's state afterwards.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator
from tests.helpers.kubernetes import (
    NAMESPACE,
    SNAPSHOT_CLASS,
    SNAPSHOT_GROUP,
    SNAPSHOT_VERSION,
    VS_ARGS,
    snapshot_body,
)
from tests.helpers.processes import describe_run, run_toolkit
from tests.helpers.waiting import WAIT_SECONDS, poll

pytestmark = pytest.mark.fidelity

SCRIPT = Path(__file__).with_name("toolkit_scenarios.py")
TOOLKIT_LABELS = {"created-by": "ntap-dsutil"}
CLONES = ("tk-clone-from-pvc", "tk-clone-from-snap", "tk-annotated-clone")

Toolkit = Callable[..., tuple[dict[str, Any], subprocess.CompletedProcess[str]]]


@pytest.fixture
def toolkit(kubeconfig_path: Path, tmp_path: Path) -> Toolkit:
    """Run ``toolkit_scenarios.py`` steps under the toolkit's interpreter; return its results."""
    home = tmp_path / "home"
    home.mkdir()

    def run(*steps: str, ok: bool = True) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
        result = run_toolkit(
            SCRIPT, *steps, home=home, timeout=WAIT_SECONDS * 3, KUBECONFIG=str(kubeconfig_path)
        )
        if not ok:
            assert result.returncode != 0, describe_run(result)
            return {}, result
        assert result.returncode == 0, describe_run(result)
        return json.loads(result.stdout.splitlines()[-1]), result

    return run


def claim(core_v1: client.CoreV1Api, name: str) -> client.V1PersistentVolumeClaim:
    return core_v1.read_namespaced_persistent_volume_claim(name, NAMESPACE)


def assert_clone(
    clone: client.V1PersistentVolumeClaim, source: client.V1PersistentVolumeClaim, snap: str
) -> None:
    assert clone.status.phase == "Bound"
    assert clone.metadata.labels == {
        **TOOLKIT_LABELS,
        "created-by-operation": "clone-volume",
        "source-pvc": "tk-source",
    }
    data_source = {"api_group": SNAPSHOT_GROUP, "kind": "VolumeSnapshot", "name": snap}
    assert clone.spec.data_source.to_dict() == data_source
    assert clone.spec.access_modes == ["ReadWriteMany"]
    assert clone.spec.resources.requests == {"storage": "1Gi"}
    assert clone.spec.storage_class_name == source.spec.storage_class_name
    assert clone.spec.volume_name == f"pvc-{clone.metadata.uid}"


def test_create_volume_snapshot_clone_and_list(
    toolkit: Toolkit, core_v1: client.CoreV1Api, custom_objects: client.CustomObjectsApi
) -> None:
    results, run = toolkit("provision")
    log = run.stderr
    assert "Snapshot successfully created." in log, describe_run(run)
    assert "Volume successfully cloned." in log, describe_run(run)

    source = claim(core_v1, "tk-source")
    assert source.status.phase == "Bound"
    assert source.metadata.labels == {**TOOLKIT_LABELS, "created-by-operation": "create-volume"}
    assert source.spec.access_modes == ["ReadWriteMany"]
    assert source.spec.storage_class_name, "the default StorageClass is filled in on create"
    assert source.status.capacity == {"storage": "1Gi"}

    generated = results["provision"]["generated_snapshot"]
    assert re.fullmatch(r"ntap-dsutil\.\d{14}", generated), generated
    snapshots = {
        item["metadata"]["name"]: item
        for item in custom_objects.list_namespaced_custom_object(**VS_ARGS)["items"]
    }
    (for_clone,) = [name for name in snapshots if re.fullmatch(r"ntap-dsutil\.for-clone\.\d{14}", name)]
    assert set(snapshots) == {"tk-snap", generated, for_clone}
    for snap in snapshots.values():
        assert snap["spec"] == {
            "volumeSnapshotClassName": SNAPSHOT_CLASS,
            "source": {"persistentVolumeClaimName": "tk-source"},
        }
        assert snap["status"]["readyToUse"] is True
        assert snap["status"]["restoreSize"] == "1Gi"

    assert_clone(claim(core_v1, "tk-clone-from-pvc"), source, for_clone)
    assert_clone(claim(core_v1, "tk-clone-from-snap"), source, "tk-snap")
    annotated = claim(core_v1, "tk-annotated-clone")
    assert annotated.status.phase == "Bound"
    assert annotated.metadata.annotations["trident.netapp.io/cloneFromPVC"] == "tk-source"
    assert annotated.metadata.labels == {**TOOLKIT_LABELS, "created-by-operation": "create-volume"}
    assert annotated.spec.data_source is None

    listed = results["provision"]["snapshots"]
    assert sorted(row["VolumeSnapshot Name"] for row in listed) == sorted(snapshots)
    for row in listed:
        assert row["Ready to Use"] is True, row
        assert row["Source PersistentVolumeClaim (PVC)"] == "tk-source", row
        assert row["VolumeSnapshotClass"] == SNAPSHOT_CLASS, row
        assert row["Creation Time"], row


def test_delete_volume_removes_snapshots_then_claims(
    toolkit: Toolkit, core_v1: client.CoreV1Api, custom_objects: client.CustomObjectsApi
) -> None:
    results, run = toolkit("provision", "teardown")
    assert "PersistentVolumeClaim (PVC) successfully deleted." in run.stderr, describe_run(run)
    assert "VolumeSnapshot successfully deleted." in run.stderr, describe_run(run)
    assert results["teardown"]["snapshots_after"] == []

    toolkit_claims = core_v1.list_namespaced_persistent_volume_claim(
        NAMESPACE, label_selector="created-by=ntap-dsutil"
    )
    assert toolkit_claims.items == []
    assert custom_objects.list_namespaced_custom_object(**VS_ARGS)["items"] == []
    # With reclaimPolicy Delete the provisioner removes the volumes, and the snapshot contents go with
    # their snapshots (deletionPolicy Delete).
    poll(
        lambda: [
            volume.metadata.name
            for volume in core_v1.list_persistent_volume().items
            if volume.spec.claim_ref and volume.spec.claim_ref.name in ("tk-source", *CLONES)
        ],
        lambda names: names == [],
        "the toolkit's PersistentVolumes to be deleted",
    )
    poll(
        lambda: [
            content["metadata"]["name"]
            for content in custom_objects.list_cluster_custom_object(
                SNAPSHOT_GROUP, SNAPSHOT_VERSION, "volumesnapshotcontents"
            )["items"]
            if content["spec"]["volumeSnapshotRef"]["namespace"] == NAMESPACE
        ],
        lambda names: names == [],
        "the VolumeSnapshotContents to be deleted",
    )


def test_list_volume_snapshots_trips_over_a_snapshot_the_controller_has_not_reached(
    toolkit: Toolkit, kubernetes_simulator: KubernetesSimulator, custom_objects: client.CustomObjectsApi
) -> None:
    # On a real cluster a VolumeSnapshot has no status until the snapshot controller acts, and the
    # toolkit's list_volume_snapshots indexes status.readyToUse unguarded. A simulator that filled
    # in the status at once would hide that bug.
    kubernetes_simulator.backend.timing.update(snapshot=WAIT_SECONDS)
    custom_objects.create_namespaced_custom_object(
        body=snapshot_body("tk-early", "tk-any", snapshot_class=SNAPSHOT_CLASS), **VS_ARGS
    )
    _, run = toolkit("list", ok=False)
    assert "KeyError: 'status'" in run.stderr, describe_run(run)
