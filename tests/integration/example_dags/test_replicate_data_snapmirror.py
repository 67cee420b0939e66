"""The shipped ``replicate_data_snapmirror`` example, run with ``dag.test()`` against the ONTAP simulator."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from netapp_dataops_airflow.example_dags.replicate_data_snapmirror import replicate_data_snapmirror
from netapp_dataops_airflow.simulators.ontap import OntapSimulator
from netapp_dataops_airflow.testing import run_dag
from tests.helpers.connections import ontap_fields
from tests.helpers.example_dags import polling_every_second
from tests.helpers.ontap import transfers

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(120)]


@pytest.fixture
def mirrored(ontap_simulator: OntapSimulator) -> OntapSimulator:
    """The cluster with the relationship the example's default names, its transfers a moment long."""
    ontap_simulator.backend.set_transfer_settings(duration=0.3)
    ontap_simulator.backend.add_relationship("svm_src:dataset", "svm_dr:dataset_dst", size_bytes=8 << 20)
    return ontap_simulator


def test_the_defaults_update_the_relationship_once(
    mirrored: OntapSimulator, ontap_connection: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(polling_every_second(replicate_data_snapmirror()))

    assert result.state == "success", result.log_text
    assert result.task_states == {"sync": "success", "report": "success"}
    [transfer] = transfers(mirrored)
    sync = result.xcom("sync")
    assert (sync["transfer_uuid"], sync["state"], sync["bytes_transferred"]) == (
        transfer.uuid,
        "success",
        8 << 20,
    )
    assert "SnapMirror svm_src:dataset -> svm_dr:dataset_dst: 8388608 bytes" in capsys.readouterr().out
    assert mirrored.password not in result.log_text


def test_the_relationship_and_the_connection_are_params(
    mirrored: OntapSimulator, airflow_connection: Callable[..., str]
) -> None:
    other = mirrored.backend.add_relationship("svm_src:models", "svm_dr:models_dst", size_bytes=1 << 20)
    airflow_connection("ontap_dr", **ontap_fields(mirrored))  # the only connection: no ontap_default

    result = run_dag(
        polling_every_second(replicate_data_snapmirror()),
        run_conf={"relationship": other.uuid, "ontap_conn_id": "ontap_dr"},
    )

    assert result.state == "success", result.log_text
    assert result.xcom("sync")["destination_path"] == "svm_dr:models_dst"
    assert [t.uuid for t in other.transfers.values()] == [result.xcom("sync")["transfer_uuid"]]
