"""Real DAG runs (``dag.test()``) of the snapshot and clone decorators and operators on the simulator."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG, dag, task

from netapp_dataops_airflow.operators.kubernetes import (
    TASK_ANNOTATION,
    CloneVolumeOperator,
    VolumeSnapshotOperator,
    derived_name,
)
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim, kinds
from netapp_dataops_airflow.simulators.kubernetes.kinds import Kind
from netapp_dataops_airflow.testing import DagRunResult, run_dag
from tests.helpers.connections import kubernetes_fields
from tests.helpers.kubernetes import SNAPSHOT_CLASS, kubeconfig_of, snapshot_body

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(120)]

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def objects(sim: KubernetesSimulator, kind: Kind) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in sim.backend.objects(kind, "default")}


def test_decorators_snapshot_then_clone(seeded_kubernetes: KubernetesSimulator) -> None:
    @dag(dag_id="k8s_decorators", schedule=None, start_date=START)
    def pipeline() -> None:
        @task.netapp_snapshot
        def dataset_snapshot(run_id: str | None = None) -> dict[str, str]:
            return {"pvc": "data", "snapshot": "dataset-snap"}

        @task.netapp_clone(size="2Gi", labels={"team": "ml"})
        def workspace(snap: dict[str, Any]) -> dict[str, str]:
            return {"source_snapshot": snap["name"], "new_pvc": "ws-clone"}

        workspace(dataset_snapshot())

    result = run_dag(pipeline())
    assert result.state == "success", result.log_text
    snap = result.xcom("dataset_snapshot")
    assert snap["name"] == "dataset-snap"
    assert snap["source_pvc"] == "data"
    assert snap["ready_to_use"] is True
    assert snap["snapshot_handle"].endswith(f"/snapshot-{snap['uid']}")
    clone = result.xcom("workspace")
    assert (clone["name"], clone["source_kind"], clone["source_name"]) == (
        "ws-clone",
        "VolumeSnapshot",
        "dataset-snap",
    )
    assert (clone["capacity"], clone["storage_class"], clone["phase"]) == ("2Gi", "ontap-nas", "Bound")
    claim = objects(seeded_kubernetes, kinds.PVCS)["ws-clone"]
    assert claim["metadata"]["labels"] == {
        "team": "ml",
        "app.kubernetes.io/managed-by": "netapp-dataops-airflow",
    }
    assert "Waiting for VolumeSnapshot default/dataset-snap" in result.log_text
    assert "PersistentVolumeClaim default/ws-clone: bound to" in result.log_text


def test_a_decorated_function_may_return_just_the_pvc(seeded_kubernetes: KubernetesSimulator) -> None:
    @dag(dag_id="k8s_plain_string", schedule=None, start_date=START)
    def pipeline() -> None:
        @task.netapp_snapshot
        def snap() -> str:
            return "data"

        snap()

    result = run_dag(pipeline())
    assert result.state == "success", result.log_text
    name = result.xcom("snap")["name"]
    assert name.startswith("data-")
    assert name in objects(seeded_kubernetes, kinds.SNAPSHOTS)


def test_a_returned_dict_may_set_the_base_operators_parameters(
    seeded_kubernetes: KubernetesSimulator,
) -> None:
    @dag(dag_id="k8s_spec_base_parameters", schedule=None, start_date=START)
    def pipeline() -> None:
        @task.netapp_snapshot
        def snap() -> dict[str, Any]:
            return {
                "pvc": "data",
                "snapshot": "labelled",
                "labels": {"team": "ml"},
                "deadline": 600,
                "failure_grace_period": "30",
            }

        snap()

    result = run_dag(pipeline())
    assert result.state == "success", result.log_text
    labels = objects(seeded_kubernetes, kinds.SNAPSHOTS)["labelled"]["metadata"]["labels"]
    assert labels == {"team": "ml", "app.kubernetes.io/managed-by": "netapp-dataops-airflow"}
    assert json.loads(result.trigger_kwargs["snap"])["failure_grace_period"] == 30.0


def test_operators_with_templates(seeded_kubernetes: KubernetesSimulator) -> None:
    with DAG("k8s_operators", schedule=None, start_date=START, params={"pvc": "data"}) as pipeline:
        snap = VolumeSnapshotOperator(task_id="snap", pvc="{{ params.pvc }}", snapshot="snap-{{ ds_nodash }}")
        clone = CloneVolumeOperator(task_id="clone", source_pvc="{{ params.pvc }}", clone_method="trident")
        snap >> clone

    result = run_dag(pipeline, logical_date=START)
    assert result.state == "success", result.log_text
    assert result.xcom("snap")["name"] == "snap-20260101"
    clone_result = result.xcom("clone")
    assert (clone_result["clone_method"], clone_result["source_name"]) == ("trident", "data")
    assert clone_result["capacity"] == "1Gi"


def test_a_persisting_snapshot_error_fails_the_task_with_the_drivers_message(
    seeded_kubernetes: KubernetesSimulator,
) -> None:
    seeded_kubernetes.backend.timing.update(retry=60.0)
    seeded_kubernetes.backend.faults.fail_next_snapshot("aggregate aggr1 is full")
    with DAG("k8s_snapshot_fails", schedule=None, start_date=START) as pipeline:
        VolumeSnapshotOperator(task_id="snap", pvc="data", failure_grace_period=0.5)

    result = run_dag(pipeline)
    assert result.task_states == {"snap": "failed"}
    assert "OperationFailedError" in result.log_text
    assert "aggregate aggr1 is full" in result.log_text


def test_the_deadline_fails_the_task_and_removes_what_it_created(
    seeded_kubernetes: KubernetesSimulator,
) -> None:
    seeded_kubernetes.backend.timing.update(snapshot=60.0)
    with DAG("k8s_deadline", schedule=None, start_date=START) as pipeline:
        VolumeSnapshotOperator(
            task_id="snap", pvc="data", snapshot="slow", deadline=datetime.timedelta(seconds=1)
        )

    result = run_dag(pipeline)
    assert result.task_states == {"snap": "failed"}
    assert "DeadlineExceededError" in result.log_text
    assert (
        "slow" not in objects(seeded_kubernetes, kinds.SNAPSHOTS)
        or "deletionTimestamp" in objects(seeded_kubernetes, kinds.SNAPSHOTS)["slow"]["metadata"]
    )


def stored_kwargs(result: DagRunResult, task_id: str) -> dict[str, Any]:
    """The kwargs of the task's trigger as Airflow stored them (``dag.test()`` writes them as production)."""
    stored = json.loads(result.trigger_kwargs[task_id])
    return dict(stored)


def test_a_retry_adopts_what_an_earlier_try_created(seeded_kubernetes: KubernetesSimulator) -> None:
    """The state a crash between creating and deferring leaves: the object exists, made by this task."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.types import DagRunType

    run_id = DagRun.generate_run_id(run_type=DagRunType.MANUAL, logical_date=START, run_after=START)
    identity = f"k8s_crash/{run_id}/snap/-1"
    name = derived_name("data", identity)
    seeded_kubernetes.backend.timing.update(snapshot_ready=3.0)  # still not ready when the retry looks at it
    earlier = snapshot_body(
        name,
        "data",
        snapshot_class=SNAPSHOT_CLASS,
        namespace="default",
        annotations={TASK_ANNOTATION: identity},
    )
    seeded_kubernetes.backend.seed(earlier)
    with DAG("k8s_crash", schedule=None, start_date=START) as pipeline:
        VolumeSnapshotOperator(task_id="snap", pvc="data")

    result = run_dag(pipeline, logical_date=START, run_after=START)
    assert result.run_id == run_id
    assert result.state == "success", result.log_text
    assert list(objects(seeded_kubernetes, kinds.SNAPSHOTS)) == [name]  # adopted, not duplicated
    assert "adopting it" in result.log_text
    assert stored_kwargs(result, "snap")["cancel_on_kill"] is True


def test_someone_elses_snapshot_with_the_same_spec_is_adopted_but_never_deleted(
    seeded_kubernetes: KubernetesSimulator,
) -> None:
    seeded_kubernetes.backend.timing.update(snapshot_ready=1.0)
    theirs = snapshot_body("shared-snap", "data", snapshot_class=SNAPSHOT_CLASS, namespace="default")
    seeded_kubernetes.backend.seed(theirs)
    with DAG("k8s_adopt_theirs", schedule=None, start_date=START) as pipeline:
        VolumeSnapshotOperator(task_id="snap", pvc="data", snapshot="shared-snap")

    result = run_dag(pipeline)
    assert result.state == "success", result.log_text
    assert stored_kwargs(result, "snap")["cancel_on_kill"] is False


def test_an_existing_object_with_another_spec_is_an_error(seeded_kubernetes: KubernetesSimulator) -> None:
    seeded_kubernetes.backend.seed(*bound_claim("other"))
    with DAG("k8s_conflict", schedule=None, start_date=START) as first:
        VolumeSnapshotOperator(task_id="snap", pvc="other", snapshot="taken")
    assert run_dag(first).state == "success"
    with DAG("k8s_conflict_again", schedule=None, start_date=START) as second:
        VolumeSnapshotOperator(task_id="snap", pvc="data", snapshot="taken")

    result = run_dag(second)
    assert result.task_states == {"snap": "failed"}
    assert "already exists with a different spec" in result.log_text
    assert (
        objects(seeded_kubernetes, kinds.SNAPSHOTS)["taken"]["spec"]["source"]["persistentVolumeClaimName"]
        == "other"
    )


def test_trigger_rows_hold_no_secret(airflow_connection: Callable[..., str], tmp_path: Path) -> None:
    secured = KubernetesSimulator(token="tok-do-not-leak")
    with secured:
        secured.backend.seed(*bound_claim("data"))
        airflow_connection("secured_k8s", **kubernetes_fields(kubeconfig_of(secured, tmp_path / "kc")))
        secured.backend.timing.update(snapshot=0.3)
        with DAG("k8s_secret", schedule=None, start_date=START) as pipeline:
            VolumeSnapshotOperator(task_id="snap", pvc="data", kubernetes_conn_id="secured_k8s")
        result = run_dag(pipeline)
    assert result.state == "success", result.log_text
    assert stored_kwargs(result, "snap")["kubernetes_conn_id"] == "secured_k8s"
    assert "tok-do-not-leak" not in result.trigger_kwargs["snap"]
    assert "tok-do-not-leak" not in json.dumps(result.xcom("snap"))
    assert "tok-do-not-leak" not in result.log_text


def test_mapped_snapshots_take_one_snapshot_each(seeded_kubernetes: KubernetesSimulator) -> None:
    seeded_kubernetes.backend.seed(*bound_claim("logs"))

    @dag(dag_id="k8s_mapped", schedule=None, start_date=START)
    def pipeline() -> None:
        @task.netapp_snapshot
        def snap(claim: str) -> str:
            return claim

        snap.expand(claim=["data", "logs"])

    result = run_dag(pipeline())
    assert result.state == "success", result.log_text
    assert [r["source_pvc"] for r in result.xcom("snap")] == ["data", "logs"]
    names = {r["name"] for r in result.xcom("snap")}
    assert names == set(objects(seeded_kubernetes, kinds.SNAPSHOTS))
    assert len(names) == 2
