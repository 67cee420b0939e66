"""Bad input to the snapshot and clone tasks: a clear error, and nothing created in the cluster."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG

from netapp_dataops_airflow.decorators.kubernetes import clone_task, snapshot_task
from netapp_dataops_airflow.operators.kubernetes import CloneVolumeOperator, VolumeSnapshotOperator
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim, kinds
from netapp_dataops_airflow.testing import run_dag
from tests.helpers.connections import kubernetes_fields
from tests.helpers.kubernetes import claim_body, snapshot_body
from tests.helpers.waiting import poll

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(120)]

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
ARABIC_2, ARABIC_12 = "\u0662", "\u0661\u0662"  # Arabic-Indic digits: float() and int() read them
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
        "failure_grace_period must be at least 0 seconds, got 'soon'",
    ),
    # Names Kubernetes would refuse (DNS-1123 subdomain, at most 253 characters).
    # (A decorated function's answer is not rendered: Jinja would drop a templated field's last newline.)
    (
        "snapshot-name-with-newline",
        lambda: snapshot_task(lambda: {"pvc": "data", "snapshot": "daily\n"}, task_id="t")(),
        "snapshot 'daily\\n' is not a valid Kubernetes name",
    ),
    (
        "snapshot-name-too-long",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", snapshot="s" * 254),
        f"snapshot '{'s' * 254}' is not a valid Kubernetes name",
    ),
    (
        "snapshot-name-uppercase",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", snapshot="Daily"),
        "snapshot 'Daily' is not a valid Kubernetes name",
    ),
    (
        "clone-name-underscore",
        lambda: CloneVolumeOperator(task_id="t", source_pvc="data", new_pvc="ws_clone"),
        "new_pvc 'ws_clone' is not a valid Kubernetes name",
    ),
    (
        "namespace-with-newline",
        lambda: snapshot_task(lambda: {"pvc": "data", "namespace": "default\n"}, task_id="t")(),
        "namespace 'default\\n' is not a valid namespace name",
    ),
    # Sizes: what the API server would refuse or a volume cannot be.
    (
        "size-with-blank",
        lambda: CloneVolumeOperator(task_id="t", source_pvc="data", size="1 Gi"),
        "size '1 Gi' contains blanks",
    ),
    (
        "size-zero",
        lambda: CloneVolumeOperator(task_id="t", source_pvc="data", size="0"),
        "size '0' must be more",
    ),
    (
        "size-too-large",
        lambda: CloneVolumeOperator(task_id="t", source_pvc="data", size="9Ei"),
        "size '9Ei' is too large",
    ),
    (
        "size-boolean",
        lambda: CloneVolumeOperator(task_id="t", source_pvc="data", size=True),
        "size True is not a storage quantity",
    ),
    (
        "size-non-ascii-digits",
        lambda: CloneVolumeOperator(task_id="t", source_pvc="data", size=ARABIC_2 + "Gi"),
        f"size {ARABIC_2 + 'Gi'!r} is not a storage quantity",
    ),
    (
        "access-modes-not-a-list",
        lambda: CloneVolumeOperator(task_id="t", source_pvc="data", access_modes="ReadWriteOnce"),
        "access_modes 'ReadWriteOnce' must be a non-empty list",
    ),
    (
        "access-modes-nested",
        lambda: CloneVolumeOperator(task_id="t", source_pvc="data", access_modes=["ReadWriteOnce", ["x"]]),
        "access_modes ['ReadWriteOnce', ['x']] must be a non-empty list",
    ),
    (
        "unknown-clone-method",
        lambda: CloneVolumeOperator(task_id="t", source_pvc="data", clone_method="copy"),
        "clone_method 'copy' must be one of",
    ),
    # Numbers: text that is no number (non-ASCII digits too), inf/nan, booleans, out of range.
    (
        "grace-non-ascii-digits",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", failure_grace_period=ARABIC_12),
        f"failure_grace_period must be at least 0 seconds, got {ARABIC_12!r}",
    ),
    (
        "grace-infinite",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", failure_grace_period=float("inf")),
        "failure_grace_period must be at least 0 seconds, got inf",
    ),
    (
        "grace-nan-text",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", failure_grace_period="nan"),
        "failure_grace_period must be at least 0 seconds, got 'nan'",
    ),
    (
        "grace-boolean",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", failure_grace_period=True),
        "failure_grace_period must be at least 0 seconds, got True",
    ),
    (
        "grace-negative",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", failure_grace_period=-1),
        "failure_grace_period must be at least 0 seconds, got -1",
    ),
    (
        "deadline-text",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", deadline="soon"),
        "deadline must be a positive timedelta or number of seconds, got 'soon'",
    ),
    (
        "deadline-non-ascii-digits",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", deadline=ARABIC_12),
        f"deadline must be a positive timedelta or number of seconds, got {ARABIC_12!r}",
    ),
    (
        "deadline-infinite",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", deadline=float("inf")),
        "deadline must be a positive timedelta or number of seconds, got inf",
    ),
    (
        "deadline-boolean",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", deadline=True),
        "deadline must be a positive timedelta or number of seconds, got True",
    ),
    # The library's own bookkeeping on the objects it creates.
    (
        "reserved-label-managed-by",
        lambda: VolumeSnapshotOperator(
            task_id="t", pvc="data", labels={"app.kubernetes.io/managed-by": "me"}
        ),
        "label 'app.kubernetes.io/managed-by' is reserved",
    ),
    (
        "reserved-label-prefix",
        lambda: VolumeSnapshotOperator(
            task_id="t", pvc="data", labels={"dataops.netapp.io/airflow-task": "mine"}
        ),
        "label 'dataops.netapp.io/airflow-task' is reserved",
    ),
    (
        "reserved-label-subdomain",
        lambda: CloneVolumeOperator(
            task_id="t", source_pvc="data", labels={"x.dataops.netapp.io/owner": "me"}
        ),
        "label 'x.dataops.netapp.io/owner' is reserved",
    ),
    # Decorated functions may not return what the resumed task reads again.
    (
        "decorator-returns-connection",
        lambda: snapshot_task(lambda: {"pvc": "data", "kubernetes_conn_id": "elsewhere"}, task_id="t")(),
        "returned unknown keys ['kubernetes_conn_id']",
    ),
    (
        "decorator-returns-cancel-on-kill",
        lambda: clone_task(lambda: {"source_pvc": "data", "cancel_on_kill": False}, task_id="t")(),
        "returned unknown keys ['cancel_on_kill']",
    ),
    (
        "decorator-returns-bad-size",
        lambda: clone_task(lambda: {"source_pvc": "data", "size": "1 Gi"}, task_id="t")(),
        "size '1 Gi' contains blanks",
    ),
    # Connections: each would otherwise fall back to $KUBECONFIG (the simulator here) and create.
    (
        "misspelt-connection-extra",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", kubernetes_conn_id="misspelt"),
        "connection 'misspelt': unknown extra field 'kubeconfig_path' (did you mean 'kube_config_path'?)",
    ),
    (
        "connection-flag-flase",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", kubernetes_conn_id="flase"),
        "connection 'flase': 'in_cluster' must be true or false, got 'flase'",
    ),
    (
        "connection-with-host",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", kubernetes_conn_id="hosted"),
        "connection 'hosted': 'host', 'password' are not read from kubernetes connections",
    ),
    (
        "connection-of-another-type",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", kubernetes_conn_id="ontap_dr"),
        "connection 'ontap_dr' is of type 'netapp_ontap', but kubernetes_conn_id needs a 'kubernetes' "
        "connection",
    ),
    # derived_from: what the snapshot's data came from, checked before anything is created.
    (
        "derived-from-clone-result",
        lambda: VolumeSnapshotOperator(
            task_id="t", pvc="data", derived_from={"name": "ws", "source_kind": "VolumeSnapshot"}
        ),
        "derived_from entry {'name': 'ws', 'source_kind': 'VolumeSnapshot'} is a clone's result (a PVC)",
    ),
    (
        "derived-from-dict-without-name",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", derived_from=[{"namespace": "ml"}]),
        "derived_from entry {'namespace': 'ml'} is a dict without 'name'; give a snapshot task's result",
    ),
    (
        "derived-from-bad-name",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", derived_from="ml/Dataset_Snap"),
        "derived_from entry 'ml/Dataset_Snap': derived_from name 'Dataset_Snap' is not a valid",
    ),
    (
        "derived-from-too-many-slashes",
        lambda: VolumeSnapshotOperator(task_id="t", pvc="data", derived_from="a/b/c"),
        "derived_from entry 'a/b/c' names no snapshot; give a snapshot task's result",
    ),
    (
        "derived-from-number",
        lambda: snapshot_task(lambda: {"pvc": "data", "derived_from": 7}, task_id="t")(),
        "derived_from entry 7 names no snapshot",
    ),
]
WRITES = ("create", "update", "patch", "delete", "deletecollection")


@pytest.fixture(scope="module")
def table_kubernetes() -> Iterator[KubernetesSimulator]:
    """One simulator for the whole table (each case must leave it unchanged anyway).

    It holds a bound claim ``data``, a pending one ``lazy`` (WaitForFirstConsumer), a ready snapshot
    ``ready-snap`` of ``data`` and a snapshot ``broken`` of a claim that does not exist.
    """
    with KubernetesSimulator() as sim:
        sim.backend.seed(*bound_claim("data"))
        sim.backend.seed(claim_body("lazy", storage_class="ontap-nas-wffc", namespace="default"))
        sim.backend.seed(
            snapshot_body("broken", "gone", namespace="default"),
            snapshot_body("ready-snap", "data", namespace="default"),
        )
        poll(
            lambda: sim.backend.find(kinds.SNAPSHOTS, "default", "ready-snap") or {},
            lambda snapshot: snapshot.get("status", {}).get("readyToUse"),
            "the seeded snapshot to become ready",
        )
        yield sim


@pytest.fixture
def connections(
    table_kubernetes: KubernetesSimulator,
    airflow_connection: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kubeconfig = table_kubernetes.write_kubeconfig(tmp_path / "kubeconfig")
    airflow_connection("kubernetes_default", **kubernetes_fields(kubeconfig))
    garbled = tmp_path / "garbled"
    garbled.write_text("clusters: [unclosed\n")
    airflow_connection("garbled", **kubernetes_fields(garbled))
    # The ambient kubeconfig points at the simulator: a connection that silently fell back to it
    # would create the object, and the no-write check would catch it.
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    airflow_connection("misspelt", "kubernetes", extra={"kubeconfig_path": str(kubeconfig)})
    airflow_connection("flase", "kubernetes", extra={"in_cluster": "flase"})
    airflow_connection("hosted", "kubernetes", host=table_kubernetes.url, password="s3cret-token")
    airflow_connection("ontap_dr", "netapp_ontap", host="cluster.example.com", login="a", password="b")


def writes(sim: KubernetesSimulator) -> int:
    """How many writing requests the simulated API server has served so far."""
    by_verb = sim.backend.stats.to_json()["requests"]["byVerb"]
    return sum(count for key, count in by_verb.items() if key.partition(" ")[0] in WRITES)


def inventory(sim: KubernetesSimulator) -> dict[str, list[str]]:
    kinds_seen = {"pvcs": kinds.PVCS, "snapshots": kinds.SNAPSHOTS}
    return {
        label: sorted(o["metadata"]["name"] for o in sim.backend.objects(kind, None))
        for label, kind in kinds_seen.items()
    }


@pytest.mark.parametrize(("make", "expected"), [pytest.param(m, e, id=i) for i, m, e in CASES])
@pytest.mark.usefixtures("connections")
def test_bad_input_is_a_clear_error_and_creates_nothing(
    table_kubernetes: KubernetesSimulator,
    make: Callable[[], Any],
    expected: str,
    request: pytest.FixtureRequest,
) -> None:
    before, writes_before = inventory(table_kubernetes), writes(table_kubernetes)
    with DAG(f"bad_input_{request.node.callspec.id}", schedule=None, start_date=START) as pipeline:
        make()

    result = run_dag(pipeline)
    assert result.task_states == {"t": "failed"}
    assert expected in result.log_text
    assert writes(table_kubernetes) == writes_before  # counted by the API server: nothing was even attempted
    assert inventory(table_kubernetes) == before
    assert "s3cret-token" not in result.log_text
