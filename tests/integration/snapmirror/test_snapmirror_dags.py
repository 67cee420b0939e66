"""Whole DAGs through Airflow's ``dag.test()``: the decorator and the operator against the simulator."""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.sdk import dag, task

from netapp_dataops_airflow.operators.snapmirror import SnapMirrorUpdateOperator
from netapp_dataops_airflow.simulators.ontap import OntapSimulator
from netapp_dataops_airflow.testing import run_dag
from tests.helpers.ontap import transfers

pytestmark = pytest.mark.usefixtures("airflow_db")

ARABIC_12 = "\u0661\u0662"  # Arabic-Indic digits: int() reads 12


@pytest.fixture
def mirrored_ontap(ontap_simulator: OntapSimulator, ontap_connection: str) -> OntapSimulator:
    """The simulated cluster with one relationship, reachable as ``ontap_default``.

    Its transfers take a moment of real time.
    """
    ontap_simulator.backend.set_transfer_settings(duration=0.3)
    ontap_simulator.backend.add_relationship("svm_src:data", "svm_dr:data_dst", size_bytes=8 << 20)
    return ontap_simulator


def test_decorated_task_updates_and_passes_the_result_on(mirrored_ontap: OntapSimulator) -> None:
    seen: list[dict[str, Any]] = []

    @dag(dag_id="snapmirror_decorator_success", schedule=None)
    def pipeline() -> None:
        @task.netapp_snapmirror(poll_interval=1)
        def mirror(volume: str) -> str:
            return f"svm_dr:{volume}_dst"

        @task
        def report(transfer: dict[str, Any]) -> None:
            seen.append(transfer)

        report(mirror("data"))

    result = run_dag(pipeline())

    assert result.state == "success", result.log_text
    assert result.task_states == {"mirror": "success", "report": "success"}
    transfer = result.xcom("mirror")
    [started] = transfers(mirrored_ontap)
    assert transfer["transfer_uuid"] == started.uuid
    assert (transfer["state"], transfer["bytes_transferred"], transfer["adopted"]) == (
        "success",
        8 << 20,
        False,
    )
    assert (transfer["source_path"], transfer["destination_path"]) == ("svm_src:data", "svm_dr:data_dst")
    assert seen == [transfer]
    assert "Started SnapMirror update" in result.log_text
    kwargs = json.loads(result.trigger_kwargs["mirror"])
    assert kwargs["transfer_uuid"] == started.uuid
    everything = result.log_text + json.dumps(transfer) + json.dumps(result.trigger_kwargs)
    assert mirrored_ontap.password not in everything


def test_decorated_task_with_options(mirrored_ontap: OntapSimulator) -> None:
    relationship = next(iter(mirrored_ontap.backend.relationships))

    @dag(dag_id="snapmirror_decorator_options", schedule=None)
    def pipeline() -> None:
        @task.netapp_snapmirror(poll_interval=1)
        def mirror() -> dict[str, Any]:
            return {"relationship": relationship, "source_snapshot": "nightly.0", "throttle": 512}

        mirror()

    result = run_dag(pipeline())
    assert result.state == "success", result.log_text
    [started] = transfers(mirrored_ontap)
    assert (started.snapshot, started.throttle) == ("nightly.0", 512)
    assert result.xcom("mirror")["snapshot"] == "nightly.0"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("data_dst", "relationship 'data_dst' is neither a SnapMirror relationship UUID"),  # not svm:volume
        # Read again on resume (where the function's answer is gone): decorator arguments only.
        ({"relationship": "svm:vol", "ontap_conn_id": "other"}, "returned unknown keys ['ontap_conn_id']"),
        ({"relationship": "svm:vol", "cancel_on_kill": False}, "returned unknown keys ['cancel_on_kill']"),
        ({"relationship": "svm:vol", "retries": 3}, "returned unknown keys ['retries']"),
        ({"relationship": "svm:vol", "throttle": ARABIC_12}, f"got {ARABIC_12!r}"),
    ],
)
def test_decorated_task_refuses_a_bad_spec_before_starting(
    mirrored_ontap: OntapSimulator, spec: Any, expected: str, request: pytest.FixtureRequest
) -> None:
    @dag(dag_id=f"snapmirror_decorator_bad_spec_{request.node.callspec.indices['spec']}", schedule=None)
    def pipeline() -> None:
        @task.netapp_snapmirror
        def mirror() -> Any:
            return spec

        mirror()

    result = run_dag(pipeline())
    assert result.task_states == {"mirror": "failed"}
    assert expected in result.log_text
    assert transfers(mirrored_ontap) == []
    assert mirrored_ontap.backend.requests_matching() == []


def test_operator_dag_success(mirrored_ontap: OntapSimulator) -> None:
    @dag(dag_id="snapmirror_operator_success", schedule=None)
    def pipeline() -> None:
        SnapMirrorUpdateOperator(task_id="update", relationship="svm_dr:data_dst", poll_interval=1)

    result = run_dag(pipeline())
    assert result.state == "success", result.log_text
    assert result.xcom("update")["state"] == "success"


def test_operator_dag_failure_reports_ontaps_message(mirrored_ontap: OntapSimulator) -> None:
    mirrored_ontap.backend.set_transfer_settings(outcome="failed")

    @dag(dag_id="snapmirror_operator_failure", schedule=None)
    def pipeline() -> None:
        update = SnapMirrorUpdateOperator(task_id="update", relationship="svm_dr:data_dst", poll_interval=1)

        @task
        def after() -> None:
            pass

        update >> after()

    result = run_dag(pipeline())
    assert result.state == "failed"
    assert result.task_states == {"update": "failed", "after": "upstream_failed"}
    assert "failed: Transfer failed. (ONTAP code 13303844)" in result.log_text
    assert "Update operation failed. Reason: Transfer failed." in result.log_text
    assert result.xcom("update") is None
