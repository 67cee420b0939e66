"""NetApp's netapp-ontap library, unchanged, against the ONTAP simulator (a thread serving HTTPS)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from netapp_ontap import HostConnection
from netapp_ontap.error import NetAppRestError
from netapp_ontap.resources import Cluster, SnapmirrorRelationship, SnapmirrorTransfer

from netapp_dataops_airflow.simulators.ontap import OntapSimulator

pytestmark = pytest.mark.fidelity


@pytest.fixture(autouse=True)
def _ca_file_not_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's verify=<CA file>.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture
def connection(slow_ontap: OntapSimulator) -> Iterator[HostConnection]:
    host = HostConnection(
        "127.0.0.1",
        port=slow_ontap.port,
        username=slow_ontap.username,
        password=slow_ontap.password,
        verify=str(slow_ontap.ca_file),
        poll_interval=1,
        poll_timeout=10,
    )
    with host:
        yield host
    host.session.close()


def test_cluster_and_relationship_reads(slow_ontap: OntapSimulator, connection: HostConnection) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol1", "dst:vol1_dst", source_cluster="peer")
    slow_ontap.backend.add_relationship("src:vol2", "dst:vol2_dst")
    cluster = Cluster()
    cluster.get()
    assert cluster.name == "sim-cluster"
    assert cluster.version.generation == 9

    assert len(list(SnapmirrorRelationship.get_collection())) == 2
    [found] = SnapmirrorRelationship.get_collection(**{"destination.path": "dst:vol1_dst"})
    assert found.uuid == rel.uuid

    record = SnapmirrorRelationship(uuid=rel.uuid)
    record.get()
    assert record.state == "snapmirrored"
    assert record.healthy is True
    assert record.source.path == "src:vol1"
    assert record.source.cluster.name == "peer"
    assert record.policy.type == "async"
    assert record.lag_time == "PT1H0M0S"

    found = SnapmirrorRelationship.find(uuid=rel.uuid)  # GET ?uuid=...&fields=*
    assert found.destination.path == "dst:vol1_dst"
    batch = list(SnapmirrorRelationship.get_collection(uuid=rel.uuid, fields="state,transfer.state"))
    assert [r.state for r in batch] == ["snapmirrored"]


def test_paged_collections_are_followed(slow_ontap: OntapSimulator, connection: HostConnection) -> None:
    for i in range(5):
        slow_ontap.backend.add_relationship(f"src:v{i}", f"dst:v{i}")
    slow_ontap.backend.set_page_size(2)
    assert len(list(SnapmirrorRelationship.get_collection(fields="state"))) == 5


def test_transfer_post_poll_get_and_abort(slow_ontap: OntapSimulator, connection: HostConnection) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol1", "dst:vol1_dst")
    transfer = SnapmirrorTransfer(rel.uuid)
    response = transfer.post(poll=True)  # 201 without a job: poll returns at once, as against ONTAP
    assert response.http_response.status_code == 201
    assert transfer.uuid == rel.active_transfer.uuid  # type: ignore[union-attr]

    transfer.get()
    assert transfer.state == "transferring"
    assert [t.uuid for t in SnapmirrorTransfer.get_collection(rel.uuid)] == [transfer.uuid]

    with pytest.raises(NetAppRestError) as refused:
        SnapmirrorTransfer(rel.uuid).post()
    assert refused.value.status_code == 400
    assert refused.value.response_body["error"]["code"] == "13303844"
    assert "Another transfer is in progress" in str(refused.value)

    transfer.state = "aborted"
    transfer.patch()
    transfer.get()
    assert transfer.state == "aborted"
    assert transfer.error_info.code == 6620046
    relationship = SnapmirrorRelationship(uuid=rel.uuid)
    relationship.get()
    assert relationship.transfer.state == "aborted"


def test_relationship_patch_polls_the_job(slow_ontap: OntapSimulator, connection: HostConnection) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol1", "dst:vol1_dst")
    slow_ontap.backend.set_job_seconds(0.5)  # the job is "running" on the first poll
    relationship = SnapmirrorRelationship(uuid=rel.uuid)
    relationship.state = "paused"
    response = relationship.patch(poll=True)
    assert response.http_response.json()["state"] == "success"
    relationship.get()
    assert relationship.state == "paused"

    relationship.state = "uninitialized"  # not a state one can ask for
    with pytest.raises(NetAppRestError) as rejected:
        relationship.patch()
    assert rejected.value.status_code == 400


def rest_error(connection: HostConnection, call: Callable[[], object]) -> tuple[int | None, Any, str]:
    """Run ``call`` on ``connection``, expect a NetAppRestError; return its status, body and text."""
    with connection, pytest.raises(NetAppRestError) as raised:
        call()
    connection.session.close()
    return raised.value.status_code, raised.value.response_body, str(raised.value)


def test_401_and_404_surface_as_netapp_rest_errors(slow_ontap: OntapSimulator) -> None:
    def connect(password: str) -> HostConnection:
        return HostConnection(
            "127.0.0.1",
            port=slow_ontap.port,
            username=slow_ontap.username,
            password=password,
            verify=str(slow_ontap.ca_file),
        )

    status, body, _ = rest_error(connect("wrong"), lambda: Cluster().get())
    assert status == 401
    assert body == {"error": {"message": "User is not authorized.", "code": "6"}}

    missing = SnapmirrorRelationship(uuid="00000000-0000-0000-0000-000000000000")
    status, body, text = rest_error(connect(slow_ontap.password), missing.get)
    assert status == 404
    assert body["error"]["code"] == "4"
    assert "entry doesn't exist" in text
