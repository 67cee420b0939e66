"""The example DAGs load as Airflow's DAG processor loads them: no import errors, every param documented."""

from __future__ import annotations

import pytest
from airflow.dag_processing.dagbag import DagBag

from netapp_dataops_airflow.example_dags import EXAMPLE_DAGS_FOLDER

EXAMPLES = (
    "ai_training_run",
    "clone_volume",
    "replicate_data_cloud_sync",
    "replicate_data_snapmirror",
    "replicate_data_xcp",
)


@pytest.fixture(scope="module")
def bag() -> DagBag:
    return DagBag(dag_folder=str(EXAMPLE_DAGS_FOLDER))


def test_every_example_loads_without_import_errors(bag: DagBag) -> None:
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == list(EXAMPLES)


@pytest.mark.parametrize("dag_id", EXAMPLES)
def test_every_param_has_a_description_and_a_valid_default(bag: DagBag, dag_id: str) -> None:
    dag = bag.dags[dag_id]
    params = dag.params
    assert params, f"{dag_id} has no params"
    for name in params:
        param = params.get_param(name)
        assert param.description, f"{dag_id}: param {name!r} has no description"
    params.validate()  # every default passes its own schema: the DAG can be triggered as it is


@pytest.mark.parametrize("dag_id", EXAMPLES)
def test_connection_ids_are_params(bag: DagBag, dag_id: str) -> None:
    dag = bag.dags[dag_id]
    assert [name for name in dag.params if name.endswith("_conn_id")], f"{dag_id} has no connection param"
