"""NetApp's netapp-dataops-traditional 3.1.0, unchanged, listing and syncing Cloud Sync relationships.

The toolkit runs in its own virtualenv (``NETAPP_TOOLKIT_PYTHON``) through
``cloud_sync_traditional_scenario.py``, which redirects its hard-coded service URLs to the simulator
at the transport. Besides the happy paths, these tests pin the toolkit's known pitfalls, which the
simulator must reproduce for the library's own tests to mean anything: ``PENDING`` is not a status
it knows, and it takes the previous ``DONE`` served right after a sync request for the new sync.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netapp_dataops_airflow.simulators.cloud_sync import CloudSyncSimulator

pytestmark = pytest.mark.fidelity

SCRIPT = Path(__file__).with_name("cloud_sync_traditional_scenario.py")
NFS = {"protocol": "nfs", "host": "10.0.0.5", "export": "/data", "path": "/in"}
S3 = {"protocol": "s3", "bucket": "lake", "prefix": "raw/"}


@pytest.fixture
def cloud_sync() -> Iterator[CloudSyncSimulator]:
    with CloudSyncSimulator() as simulator:
        simulator.backend.add_account("account-JeL97Ry3", "Test")
        # Real seconds: the toolkit polls (its 60 s sleep shortened 200x) and sees it RUNNING.
        simulator.backend.set_sync_settings(pending_seconds=0, stale_seconds=0, duration=1.0)
        yield simulator


def toolkit(cloud_sync: CloudSyncSimulator, home: Path, *args: str, refresh_token: str | None = None) -> Any:
    python = os.environ.get("NETAPP_TOOLKIT_PYTHON")
    if not python:
        pytest.skip("NETAPP_TOOLKIT_PYTHON is unset: `nox -s fidelity` points it at the toolkit venv")
    config_dir = home / ".netapp_dataops"
    config_dir.mkdir(parents=True, exist_ok=True)
    token = refresh_token if refresh_token is not None else cloud_sync.refresh_token
    config = {
        "connectionType": "ONTAP",
        "cloudCentralRefreshToken": base64.b64encode(token.encode()).decode(),
    }
    (config_dir / "config.json").write_text(json.dumps(config))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CLOUD_SYNC_SIMULATOR_URL": cloud_sync.url,
        "CLOUD_SYNC_CA_FILE": str(cloud_sync.ca_file),
    }
    result = subprocess.run(
        [python, str(SCRIPT), *args],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_list_returns_id_source_and_target(cloud_sync: CloudSyncSimulator, tmp_path: Path) -> None:
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    outcome = toolkit(cloud_sync, tmp_path, "list")
    assert outcome == {
        "ok": True,
        "result": [
            {
                "id": rel.id,
                "source": {
                    "protocol": "nfs",
                    "nfs": {
                        "host": "10.0.0.5",
                        "export": "/data",
                        "path": "/in",
                        "version": "3",
                        "provider": "nfs",
                    },
                },
                "target": {
                    "protocol": "s3",
                    "s3": {
                        "bucket": "lake",
                        "prefix": "raw/",
                        "host": "",
                        "port": "",
                        "provider": "sgws",
                        "tags": [],
                    },
                },
            }
        ],
    }
    assert cloud_sync.backend.requests_matching() == [
        "POST /oauth/token",
        "GET /api/accounts",
        "GET /api/relationships-v2",
    ]


def test_sync_waits_until_done(cloud_sync: CloudSyncSimulator, tmp_path: Path) -> None:
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    assert toolkit(cloud_sync, tmp_path, "sync", rel.id) == {"ok": True, "result": None}
    activities = cloud_sync.backend.relationship(rel.id).activities
    assert [a.status for a in activities] == ["DONE", "DONE"]
    polls = cloud_sync.backend.requests_matching("GET", f"/api/relationships-v2/{rel.id}")
    assert len(polls) >= 2  # it saw the sync running at least once


def test_a_failed_sync_is_reported(cloud_sync: CloudSyncSimulator, tmp_path: Path) -> None:
    cloud_sync.backend.set_sync_settings(outcome="FAILED", failure_message="broker gone")
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    outcome = toolkit(cloud_sync, tmp_path, "sync", rel.id)
    assert (outcome["ok"], outcome["type"]) == (False, "CloudSyncSyncOperationError")
    assert "broker gone" in outcome["error"]


def test_a_failed_sync_without_output_hits_the_toolkits_name_error(
    cloud_sync: CloudSyncSimulator, tmp_path: Path
) -> None:
    cloud_sync.backend.set_sync_settings(outcome="FAILED")
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    outcome = toolkit(cloud_sync, tmp_path, "sync", rel.id, "quiet")
    assert (outcome["ok"], outcome["type"]) == (False, "UnboundLocalError")


def test_pending_is_a_status_the_toolkit_does_not_know(
    cloud_sync: CloudSyncSimulator, tmp_path: Path
) -> None:
    cloud_sync.backend.set_sync_settings(pending_seconds=30)
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    outcome = toolkit(cloud_sync, tmp_path, "sync", rel.id)
    assert (outcome["ok"], outcome["type"]) == (False, "CloudSyncSyncOperationError")
    assert "PENDING" in outcome["error"]


def test_the_toolkit_takes_the_previous_done_for_its_sync(
    cloud_sync: CloudSyncSimulator, tmp_path: Path
) -> None:
    cloud_sync.backend.set_sync_settings(stale_seconds=30, duration=3600)
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    assert toolkit(cloud_sync, tmp_path, "sync", rel.id)["ok"] is True
    assert cloud_sync.backend.relationship(rel.id).activities[-1].status == "RUNNING"


def test_a_sync_while_one_runs_is_refused(cloud_sync: CloudSyncSimulator, tmp_path: Path) -> None:
    cloud_sync.backend.set_sync_settings(duration=3600)
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    cloud_sync.backend.sync("account-JeL97Ry3", rel.id)
    outcome = toolkit(cloud_sync, tmp_path, "sync", rel.id)
    assert (outcome["ok"], outcome["type"]) == (False, "APIConnectionError")
    assert "trigger sync" in outcome["error"]


def test_a_revoked_refresh_token_gets_no_access_token(cloud_sync: CloudSyncSimulator, tmp_path: Path) -> None:
    cloud_sync.backend.add_relationship(NFS, S3)
    cloud_sync.backend.revoke_refresh_token(cloud_sync.refresh_token)
    outcome = toolkit(cloud_sync, tmp_path, "list")
    assert (outcome["ok"], outcome["type"]) == (False, "APIConnectionError")
    assert "access token" in outcome["error"]
