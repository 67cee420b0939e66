"""A SnapMirror update records an asset event for its destination volume, and OpenLineage facets."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk import DAG

from netapp_dataops_airflow.operators.snapmirror import SnapMirrorUpdateOperator
from netapp_dataops_airflow.simulators.ontap import OntapSimulator
from netapp_dataops_airflow.testing import run_dag
from tests.helpers.lineage import asset_events, completed, openlineage_to_file

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_the_destination_volume_gets_an_asset_event_and_the_transfer_a_run_facet(
    ontap_simulator: OntapSimulator, ontap_connection: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ontap_simulator.backend.set_transfer_settings(duration=0.3)
    ontap_simulator.backend.add_relationship("svm_src:data", "svm_dr:data_dst", size_bytes=8 << 20)
    with DAG("snapmirror_lineage", schedule=None) as pipeline:
        SnapMirrorUpdateOperator(task_id="mirror", relationship="svm_dr:data_dst", poll_interval=1)

    with openlineage_to_file(tmp_path / "events.jsonl", monkeypatch) as events:
        result = run_dag(pipeline)
        emitted = events()
    assert result.state == "success", result.log_text

    namespace = f"ontap://127.0.0.1:{ontap_simulator.port}"
    transfer = result.xcom("mirror")
    [event] = asset_events(result.dag_id, result.run_id)
    assert event.uri == f"{namespace}/svm_dr/data_dst"
    assert event.extra == {"operation": "snapmirror_update", **transfer}
    assert event.aliases == ("netapp-dataops:snapmirror_lineage.mirror",)

    run = completed(emitted, "snapmirror_lineage.mirror")
    assert [(d.namespace, d.name) for d in run.inputs] == [(namespace, "svm_src/data")]
    assert [(d.namespace, d.name) for d in run.outputs] == [(namespace, "svm_dr/data_dst")]
    facet = run.run.facets["netapp_dataops"]
    assert (facet["operation"], facet["facts"]["bytes_transferred"]) == ("snapmirror_update", 8 << 20)
