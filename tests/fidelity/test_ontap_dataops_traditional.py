"""NetApp's netapp-dataops-traditional 3.1.0, unchanged, syncing a SnapMirror relationship on the simulator.

The toolkit needs pandas, boto3 and fastmcp, none of which belong next to Airflow: it runs in the
toolkit virtualenv (``NETAPP_TOOLKIT_PYTHON``) through ``ontap_traditional_scenario.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netapp_dataops_airflow.simulators.ontap import OntapSimulator
from tests.helpers.processes import run_toolkit

pytestmark = pytest.mark.fidelity

SCRIPT = Path(__file__).with_name("ontap_traditional_scenario.py")


@pytest.fixture
def realtime_ontap(ontap_simulator: OntapSimulator) -> OntapSimulator:
    """The plugin's cluster, its transfers half a second of real time.

    The toolkit sleeps (shortened 100x) between polls and sees it transferring.
    """
    ontap_simulator.backend.set_transfer_settings(duration=0.5)
    return ontap_simulator


def sync(ontap: OntapSimulator, home: Path, volume: str) -> dict[str, Any]:
    config_dir = home / ".netapp_dataops"
    config_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "connectionType": "ONTAP",
        "hostname": f"127.0.0.1:{ontap.port}",
        "svm": "dst",
        "sslCertPath": str(ontap.ca_file),
    }
    (config_dir / "config.json").write_text(json.dumps(config))
    result = run_toolkit(
        SCRIPT, volume, home=home, timeout=120, ONTAP_USER=ontap.username, ONTAP_PASSWORD=ontap.password
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_sync_waits_for_the_transfer_to_succeed(realtime_ontap: OntapSimulator, tmp_path: Path) -> None:
    rel = realtime_ontap.backend.add_relationship("src:vol1", "dst:vol1_dst")
    assert sync(realtime_ontap, tmp_path, "vol1_dst") == {"ok": True}
    transfers = list(realtime_ontap.backend.get_relationship(rel.uuid).transfers.values())
    assert [t.state for t in transfers] == ["success"]


def test_sync_initializes_an_uninitialized_relationship(
    realtime_ontap: OntapSimulator, tmp_path: Path
) -> None:
    rel = realtime_ontap.backend.add_relationship("src:vol1", "dst:vol1_dst", state="uninitialized")
    assert sync(realtime_ontap, tmp_path, "vol1_dst") == {"ok": True}
    assert realtime_ontap.backend.get_relationship(rel.uuid).state == "snapmirrored"


def test_sync_reports_a_failed_transfer(realtime_ontap: OntapSimulator, tmp_path: Path) -> None:
    realtime_ontap.backend.set_transfer_settings(outcome="failed")
    realtime_ontap.backend.add_relationship("src:vol1", "dst:vol1_dst")
    outcome = sync(realtime_ontap, tmp_path, "vol1_dst")
    assert outcome["ok"] is False
    assert outcome["type"] == "SnapMirrorSyncOperationError"


def test_sync_of_an_unknown_volume_is_not_found(realtime_ontap: OntapSimulator, tmp_path: Path) -> None:
    realtime_ontap.backend.add_relationship("src:vol1", "dst:vol1_dst")
    outcome = sync(realtime_ontap, tmp_path, "nope")
    assert outcome["type"] == "SnapMirrorSyncOperationError"
    assert "not found" in outcome["error"]
