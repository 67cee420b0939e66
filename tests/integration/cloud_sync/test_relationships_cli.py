"""``python -m netapp_dataops_airflow relationships``: Cloud Sync and SnapMirror relationships listed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from netapp_dataops_airflow.cli.relationships import main
from netapp_dataops_airflow.simulators.cloud_sync import CloudSyncSimulator
from netapp_dataops_airflow.simulators.ontap import OntapSimulator
from tests.helpers.cloud_sync import CONN_ID, NFS, S3, connection_env


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


def test_cloud_sync_relationships_as_a_table_and_as_json(cloud_sync: CloudSyncSimulator) -> None:
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    status, text = run("relationships", "--conn-id", CONN_ID)
    assert status == 0
    header, row = text.splitlines()
    assert header.split() == ["id", "source", "target", "last_activity"]
    assert row.startswith(f"{rel.id}  nfs://10.0.0.5/data/in  s3://lake/raw/  Sync DONE 20")
    status, text = run("relationships", "--conn-id", CONN_ID, "--json")
    [listed] = json.loads(text)
    assert (listed["id"], listed["source"], listed["target"]) == (
        rel.id,
        "nfs://10.0.0.5/data/in",
        "s3://lake/raw/",
    )
    assert cloud_sync.refresh_token not in text


def test_snapmirror_relationships_of_an_ontap_connection(
    ontap_simulator: OntapSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    rel = ontap_simulator.backend.add_relationship("src:vol1", "dst:vol1_dst")
    monkeypatch.setenv(
        "AIRFLOW_CONN_ONTAP_CLI",
        json.dumps(
            {
                "conn_type": "netapp_ontap",
                "host": ontap_simulator.url,
                "login": ontap_simulator.username,
                "password": ontap_simulator.password,
                "extra": {"ca_certificate": ontap_simulator.ca_pem},
            }
        ),
    )
    status, text = run("relationships", "--conn-id", "ontap_cli", "--json")
    assert status == 0
    [listed] = json.loads(text)
    assert (listed["uuid"], listed["source"], listed["destination"], listed["state"], listed["healthy"]) == (
        rel.uuid,
        "src:vol1",
        "dst:vol1_dst",
        "snapmirrored",
        True,
    )
    assert listed["lag"].startswith("PT")


def test_errors_go_to_stderr_with_status_1(
    cloud_sync: CloudSyncSimulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cloud_sync.backend.revoke_refresh_token(cloud_sync.refresh_token)
    assert run("relationships", "--conn-id", CONN_ID) == (1, "")
    assert "invalid_grant" in capsys.readouterr().err
    monkeypatch.setenv("AIRFLOW_CONN_PLAIN", json.dumps({"conn_type": "postgres", "host": "db"}))
    assert run("relationships", "--conn-id", "plain")[0] == 1
    assert "is of type 'postgres'" in capsys.readouterr().err


def test_runs_as_a_module_with_only_the_listing_on_stdout(cloud_sync: CloudSyncSimulator) -> None:
    cloud_sync.backend.add_relationship(NFS, S3)
    env = {
        **os.environ,
        f"AIRFLOW_CONN_{CONN_ID.upper()}": connection_env(cloud_sync),
        # Airflow then logs "Unit test configuration loaded" to stdout: stdout must stay JSON.
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    }
    done = subprocess.run(
        [sys.executable, "-m", "netapp_dataops_airflow", "relationships", "--conn-id", CONN_ID, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 1
