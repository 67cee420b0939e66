"""Bad input to the snapshot and clone tasks: a clear error, and nothing created in the cluster."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG
from k8s_objects import claim_body, snapshot_of

from netapp_dataops_airflow.decorators.kubernetes import clone_task, snapshot_task
from netapp_dataops_airflow.operators.kubernetes import CloneVolumeOperator, VolumeSnapshotOperator
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim, kinds
from netapp_dataops_airflow.testing import run_dag

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(120)]

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
CASES: list[tuple[str, Callable[[], Any], str]] = [
    (
        "invalid-pvc-name",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="Data_Vol"),
        "is not a valid Kubernetes name",
    ),
    ("invalid-snapshot-name", lambda: VolumeSnapshotOperator(task_id="t", pvc="data", snapshot="-x"), "'-x'"),
    ("missing-pvc", lambda: VolumeSnapshotOperator(task_id="t", pvc="nope"), "'nope' not found in namespace"),
    (
        "wrong-namespace",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", namespace="nowhere"),
        "namespace 'nowhere' does not exist",
    ),
    (
        "invalid-namespace",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", namespace="No"),
        "namespace 'No'",
    ),
    (
        "missing-snapshot-class",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", volume_snapshot_class="gold"),
        "VolumeSnapshotClass 'gold' does not exist",
    ),
    ("unbound-source", lambda: VolumeSnapshotOperator(task_id="t", pvc="lazy"), "is Pending, not Bound"),
    (
        "bad-label",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", labels={"team": "ml team"}),
        "invalid value 'ml team'",
    ),
    ("no-source", lambda: CloneVolumeOperator(task_id="t"), "exactly one of source_pvc and source_snapshot"),
    (
        "size-too-small",
        lambda: CloneVolumeOperator(task_id="t", source_pvc="data", size="100Mi"),
        "smaller than the source's '1Gi'",
    ),
    (
        "bad-size",
        lambda: CloneVolumeOperator(task_id="t", source_pvc="data", size="lots"),
        "not a storage quantity",
    ),
    (
        "bad-access-mode",
        lambda: CloneVolumeOperator(task_id="t", source_pvc="data", access_modes=["ReadWriteAll"]),
        "access_modes",
    ),
    (
        "other-storage-class",
        lambda: CloneVolumeOperator(task_id="t", source_pvc="data", storage_class="ontap-nas-wffc"),
        "a PVC is cloned within its StorageClass",
    ),
    (
        "wait-for-first-consumer-class",
        lambda: CloneVolumeOperator(
            task_id="t", source_snapshot="ready-snap", storage_class="ontap-nas-wffc"
        ),
        "WaitForFirstConsumer",
    ),
    (
        "missing-storage-class",
        lambda: CloneVolumeOperator(task_id="t", source_snapshot="ready-snap", storage_class="platinum"),
        "StorageClass 'platinum' does not exist",
    ),
    (
        "snapshot-not-ready",
        lambda: CloneVolumeOperator(task_id="t", source_snapshot="broken"),
        "VolumeSnapshot default/broken is not ready to use",
    ),
    (
        "trident-method-from-snapshot",
        lambda: CloneVolumeOperator(task_id="t", source_snapshot="ready-snap", clone_method="trident"),
        "clones PVCs only",
    ),
    (
        "missing-connection",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", kubernetes_conn_id="absent"),
        "absent",
    ),
    (
        "malformed-kubeconfig",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", kubernetes_conn_id="garbled"),
        "is not valid YAML",
    ),
    (
        "bad-deadline",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", deadline=-5),
        "deadline must be",
    ),
    (
        "decorator-unknown-key",
        lambda: snapshot_task(lambda: {"pvc": "data", "colour": "red"}, task_id="t")(),
        "returned unknown keys ['colour']",
    ),
    (
        "decorator-wrong-type",
        lambda: clone_task(lambda: ["data"], task_id="t")(),
        "must return a string (source_pvc) or a dict",
    ),
    (
        "bad-grace-period",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", failure_grace_period="soon"),
        "failure_grace_period must be a number of seconds",
    ),
]


def in_default(obj: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "metadata": {**obj["metadata"], "namespace": "default"}}


@pytest.fixture(scope="module")
def k8s() -> Iterator[KubernetesSimulator]:
    """One simulator for the whole table (each case must leave it unchanged anyway).

    It holds a bound claim ``data``, a pending one ``lazy`` (WaitForFirstConsumer), a ready snapshot
    ``ready-snap`` of ``data`` and a snapshot ``broken`` of a claim that does not exist.
    """
    with KubernetesSimulator() as sim:
        sim.backend.seed(*bound_claim("data"))
        sim.backend.seed(in_default(claim_body("lazy", storage_class="ontap-nas-wffc")))
        sim.backend.seed(
            in_default(snapshot_of("gone", "broken")), in_default(snapshot_of("data", "ready-snap"))
        )
        deadline = time.monotonic() + 30
        while (
            not (sim.backend.find(kinds.SNAPSHOTS, "default", "ready-snap") or {})
            .get("status", {})
            .get("readyToUse")
        ):
            assert time.monotonic() < deadline, "the seeded snapshot never became ready"
            time.sleep(0.05)
        yield sim


@pytest.fixture
def connections(k8s: KubernetesSimulator, airflow_connection: Callable[..., str], tmp_path: Path) -> None:
    kubeconfig = k8s.write_kubeconfig(tmp_path / "kubeconfig")
    airflow_connection("kubernetes_default", "kubernetes", extra={"kube_config_path": str(kubeconfig)})
    garbled = tmp_path / "garbled"
    garbled.write_text("clusters: [unclosed\n")
    airflow_connection("garbled", "kubernetes", extra={"kube_config_path": str(garbled)})


def inventory(sim: KubernetesSimulator) -> dict[str, list[str]]:
    kinds_seen = {"pvcs": kinds.PVCS, "snapshots": kinds.SNAPSHOTS}
    return {
        label: sorted(o["metadata"]["name"] for o in sim.backend.objects(kind, None))
        for label, kind in kinds_seen.items()
    }


@pytest.mark.parametrize(("make", "expected"), [pytest.param(m, e, id=i) for i, m, e in CASES])
@pytest.mark.usefixtures("connections")
def test_bad_input_is_a_clear_error_and_creates_nothing(
    k8s: KubernetesSimulator, make: Callable[[], Any], expected: str, request: pytest.FixtureRequest
) -> None:
    before = inventory(k8s)
    with DAG(f"bad_input_{request.node.callspec.id}", schedule=None, start_date=START) as pipeline:
        make()

    result = run_dag(pipeline)
    assert result.task_states == {"t": "failed"}
    assert expected in result.log_text
    assert inventory(k8s) == before
