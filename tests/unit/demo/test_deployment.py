"""A local deployment's settings as data: checked early, turned into each component's environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from netapp_dataops_airflow.demo.deployment import Deployment, LocalAirflow
from netapp_dataops_airflow.demo.processes import MARKER


def test_a_deployment_without_a_triggerer_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="triggerers must be at least 1, not 0"):
        Deployment(home=tmp_path, dags_folder=tmp_path, triggerers=0)


def test_celery_workers_need_the_celery_executor(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="executor='CeleryExecutor'"):
        Deployment(home=tmp_path, dags_folder=tmp_path, celery_workers=2)


def test_the_environment_is_the_deployments_not_the_callers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", "/somewhere/else")
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "1")
    monkeypatch.setenv("AIRFLOW_CONN_MINE", "{}")
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://db/airflow")
    deployment = Deployment(
        home=tmp_path / "home",
        dags_folder=tmp_path / "dags",
        executor="CeleryExecutor",
        triggerers=2,
        celery_workers=1,
        environment={"AIRFLOW_CONN_SIM": "{}"},
    )
    airflow = LocalAirflow(deployment, marker="m")
    env = airflow.environment()
    assert env["AIRFLOW_HOME"] == str(tmp_path / "home")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql://db/airflow"  # the user's choice
    assert "AIRFLOW__CORE__PARALLELISM" not in env
    assert "AIRFLOW_CONN_MINE" not in env
    assert env["AIRFLOW_CONN_SIM"] == "{}"
    assert env[MARKER] == "m"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == f"{airflow.api_url}/execution/"


def test_every_log_server_gets_a_port_of_its_own(tmp_path: Path) -> None:
    deployment = Deployment(
        home=tmp_path, dags_folder=tmp_path, executor="CeleryExecutor", triggerers=2, celery_workers=2
    )
    airflow = LocalAirflow(deployment)
    ports = [airflow.port, *airflow._ports.values()]
    assert len(ports) == 6 == len(set(ports))
