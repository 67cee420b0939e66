"""Our async ONTAP client against the ONTAP simulator, over real sockets and real TLS."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from netapp_dataops_airflow.clients._http import TlsSettings, session_key
from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.clients._shared import registry
from netapp_dataops_airflow.clients.ontap import OntapClient
from netapp_dataops_airflow.exceptions import (
    ApiError,
    InvalidInputError,
    OntapError,
    TransferInProgressError,
)
from netapp_dataops_airflow.simulators.ontap import OntapSimulator

FAST = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05)
MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def client(slow_ontap: OntapSimulator) -> OntapClient:
    return OntapClient(
        slow_ontap.url, slow_ontap.username, slow_ontap.password, ca_pem=slow_ontap.ca_pem, retry=FAST
    )


async def test_get_cluster(client: OntapClient) -> None:
    cluster = await client.get_cluster()
    assert cluster.name == "sim-cluster"
    assert cluster.version is not None
    assert "9.14.1" in cluster.version


async def test_relationships_by_uuid_path_and_batch(slow_ontap: OntapSimulator, client: OntapClient) -> None:
    rels = [slow_ontap.backend.add_relationship(f"src:v{i}", f"dst:v{i}") for i in range(3)]
    one = await client.get_relationship(rels[0].uuid)
    assert (one.uuid, one.state, one.healthy) == (rels[0].uuid, "snapmirrored", True)
    assert (one.source_path, one.destination_path, one.policy_type) == ("src:v0", "dst:v0", "async")
    assert one.lag_time == "PT1H0M0S"
    assert one.transfer is None

    found = await client.find_relationship("dst:v2")
    assert found.uuid == rels[2].uuid

    batch = await client.list_relationships(uuids=[rels[0].uuid, rels[1].uuid, MISSING])
    assert sorted(r.uuid for r in batch) == sorted([rels[0].uuid, rels[1].uuid])
    assert len(await client.list_relationships()) == 3


async def test_batches_are_split_and_pages_followed(
    slow_ontap: OntapSimulator, client: OntapClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    rels = [slow_ontap.backend.add_relationship(f"src:v{i}", f"dst:v{i}") for i in range(7)]
    everything = {r.uuid for r in rels}
    monkeypatch.setattr("netapp_dataops_airflow.clients.ontap.BATCH_SIZE", 3)
    assert {r.uuid for r in await client.list_relationships(uuids=[r.uuid for r in rels])} == everything
    slow_ontap.backend.set_page_size(2)
    assert {r.uuid for r in await client.list_relationships()} == everything
    assert {r.uuid for r in await client.list_relationships(uuids=[r.uuid for r in rels])} == everything


async def test_many_uuids_cost_one_listing_not_one_query_per_batch(
    slow_ontap: OntapSimulator, client: OntapClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    rels = [slow_ontap.backend.add_relationship(f"src:v{i}", f"dst:v{i}") for i in range(12)]
    slow_ontap.backend.add_relationship("src:other", "dst:other")  # listed, but not asked for
    monkeypatch.setattr("netapp_dataops_airflow.clients.ontap.BATCH_SIZE", 2)
    before = len(slow_ontap.backend.requests_matching("GET", "/api/snapmirror/relationships"))
    found = await client.list_relationships(uuids=[r.uuid for r in rels[:10]])
    assert {r.uuid for r in found} == {r.uuid for r in rels[:10]}
    requests = slow_ontap.backend.requests_matching("GET", "/api/snapmirror/relationships")[before:]
    assert len(requests) == 1
    assert "uuid=" not in requests[0]


async def test_transfer_lifecycle(slow_ontap: OntapSimulator, client: OntapClient) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    transfer_uuid = await client.start_transfer(rel.uuid)

    with pytest.raises(TransferInProgressError) as running:
        await client.start_transfer(rel.uuid)
    assert (running.value.status, running.value.code) == (400, "13303844")
    adopted = await client.get_relationship(rel.uuid)
    assert adopted.transfer is not None
    assert adopted.transfer.uuid == transfer_uuid
    assert adopted.transfer.active

    transfer = await client.get_transfer(rel.uuid, transfer_uuid)
    assert transfer.state in ("queued", "transferring")
    assert [t.uuid for t in await client.list_transfers(rel.uuid)] == [transfer_uuid]

    await client.abort_transfer(rel.uuid, transfer_uuid)
    aborted = await client.get_transfer(rel.uuid, transfer_uuid)
    assert (aborted.state, aborted.error_code, aborted.error_message) == (
        "aborted",
        "6620046",
        "Transfer aborted",
    )
    assert aborted.terminal
    assert aborted.end_time is not None
    with pytest.raises(OntapError) as again:
        await client.abort_transfer(rel.uuid, transfer_uuid, hard=True)
    assert again.value.code == "13303849"


async def test_transfer_runs_to_success(slow_ontap: OntapSimulator, client: OntapClient) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol", state="uninitialized", size_bytes=2048)
    transfer_uuid = await client.start_transfer(rel.uuid, throttle=0)
    slow_ontap.backend.advance(3600)
    [polled] = await client.list_relationships(uuids=[rel.uuid])
    assert polled.state == "snapmirrored"
    assert polled.transfer is not None
    assert (polled.transfer.state, polled.transfer.bytes_transferred) == ("success", 2048)
    assert polled.transfer.uuid is None  # ONTAP names only active transfers in the summary
    assert (await client.get_transfer(rel.uuid, transfer_uuid)).state == "success"


async def test_failed_transfer_reports_unhealthy(slow_ontap: OntapSimulator, client: OntapClient) -> None:
    slow_ontap.backend.set_transfer_settings(duration=0, outcome="failed")
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    await client.start_transfer(rel.uuid)
    polled = await client.get_relationship(rel.uuid)
    assert polled.healthy is False
    assert polled.unhealthy_reasons == ("Update operation failed. Reason: Transfer failed.",)
    assert polled.transfer is not None
    assert polled.transfer.state == "failed"


async def test_not_found_and_malformed_uuid(slow_ontap: OntapSimulator, client: OntapClient) -> None:
    with pytest.raises(OntapError) as missing:
        await client.get_relationship(MISSING)
    assert (missing.value.status, missing.value.code) == (404, "4")
    assert "entry doesn't exist" in str(missing.value)
    with pytest.raises(InvalidInputError):
        await client.start_transfer("not-a-uuid")
    with pytest.raises(InvalidInputError):
        await client.list_relationships(destination_path="no colon")
    assert slow_ontap.backend.faults.pending() == []


@pytest.mark.parametrize("body", ['{"records": [{"uuid": "', "<html>Please log in</html>", ""])
async def test_an_answer_that_is_no_json_object_is_an_error_not_an_empty_answer(
    slow_ontap: OntapSimulator, client: OntapClient, body: str
) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    reads = [
        lambda: client.list_relationships(uuids=[rel.uuid]),
        lambda: client.get_relationship(rel.uuid),
        lambda: client.get_transfer(rel.uuid, MISSING),
    ]
    for read in reads:
        slow_ontap.backend.inject_fault("garble", body=body)
        with pytest.raises(
            OntapError, match="ONTAP answered HTTP 200 with something other than a JSON object"
        ):
            await read()
    assert slow_ontap.backend.faults.pending() == []


async def test_bad_credentials_are_401_and_never_leak_the_password(slow_ontap: OntapSimulator) -> None:
    wrong = OntapClient(
        slow_ontap.url,
        slow_ontap.username,
        "wrong-" + slow_ontap.password,
        ca_pem=slow_ontap.ca_pem,
        retry=FAST,
    )
    with pytest.raises(OntapError) as denied:
        await wrong.get_cluster()
    assert (denied.value.status, denied.value.code) == (401, "6")
    assert "password" in str(denied.value)  # the hint names the field...
    assert slow_ontap.password not in str(denied.value)  # ...never its value
    assert slow_ontap.password not in repr(wrong)


async def test_untrusted_certificate_fails_without_retrying(slow_ontap: OntapSimulator) -> None:
    slow_ontap.backend.inject_fault("error", status=500, times=-1)  # would be seen if any request got through
    untrusted = OntapClient(slow_ontap.url, slow_ontap.username, slow_ontap.password, retry=FAST)
    with pytest.raises(ApiError) as failed:
        await untrusted.get_cluster()
    assert failed.value.reason == "tls"
    assert failed.value.status is None
    assert "certificate" in str(failed.value)
    assert len(slow_ontap.backend.faults.pending()) == 1


async def test_hostname_check_and_verify_off(slow_ontap: OntapSimulator) -> None:
    by_name = slow_ontap.url.replace("127.0.0.1", "localhost")
    assert (
        await OntapClient(by_name, "admin", slow_ontap.password, ca_pem=slow_ontap.ca_pem).get_cluster()
    ).name
    unverified = OntapClient(slow_ontap.url, slow_ontap.username, slow_ontap.password, verify=False)
    assert (await unverified.get_cluster()).name == "sim-cluster"
    with pytest.raises(InvalidInputError, match="PEM"):
        await OntapClient(
            slow_ontap.url, "admin", slow_ontap.password, ca_pem="not a certificate"
        ).get_cluster()


async def test_retries_5xx_wait_and_retry_codes_and_drops(
    slow_ontap: OntapSimulator, client: OntapClient
) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    slow_ontap.backend.inject_fault("error", status=503)
    slow_ontap.backend.inject_wait_and_retry("13303816")
    slow_ontap.backend.inject_fault("drop", times=2)  # twice: aiohttp resends once on its own
    assert (await client.get_relationship(rel.uuid)).uuid == rel.uuid
    assert slow_ontap.backend.faults.pending() == []

    slow_ontap.backend.inject_wait_and_retry("6619720", method="POST")
    assert await client.start_transfer(rel.uuid)


async def test_retries_give_up_with_the_last_answer(slow_ontap: OntapSimulator, client: OntapClient) -> None:
    slow_ontap.backend.inject_fault("error", status=500, code="8", message="Internal error.", times=-1)
    with pytest.raises(OntapError) as failed:
        await client.get_cluster()
    assert (failed.value.status, failed.value.code) == (500, "8")
    slow_ontap.backend.faults.clear()
    slow_ontap.backend.inject_fault("drop", times=-1)
    with pytest.raises(ApiError) as unreachable:
        await client.get_cluster()
    assert unreachable.value.reason == "connection"


async def test_a_stalled_answer_times_out_and_is_retried(slow_ontap: OntapSimulator) -> None:
    impatient = OntapClient(
        slow_ontap.url,
        slow_ontap.username,
        slow_ontap.password,
        ca_pem=slow_ontap.ca_pem,
        timeout=aiohttp.ClientTimeout(sock_read=0.2),
        retry=FAST,
    )
    slow_ontap.backend.inject_fault("stall", seconds=1.0)
    assert (await impatient.get_cluster()).name == "sim-cluster"


async def test_one_session_per_endpoint_is_shared(slow_ontap: OntapSimulator) -> None:
    first = OntapClient(slow_ontap.url, "admin", slow_ontap.password, ca_pem=slow_ontap.ca_pem)
    second = OntapClient(slow_ontap.url, "other", "x", ca_pem=slow_ontap.ca_pem)
    await first.get_cluster()
    with pytest.raises(OntapError):
        await second.get_cluster()  # same session, its own credentials
    shared = await registry()
    in_use = shared.keys()
    sessions = [key for key in in_use if isinstance(key, tuple) and key[0] == "http"]
    assert sessions == [session_key(first.base_url, TlsSettings(ca_pem=slow_ontap.ca_pem))]


def test_the_shared_session_is_closed_when_its_loop_ends(ontap_simulator: OntapSimulator) -> None:
    async def never() -> aiohttp.ClientSession:
        raise AssertionError("the session of the request should still be there")

    async def request_and_keep_the_session(ontap: OntapSimulator) -> aiohttp.ClientSession:
        client = OntapClient(ontap.url, ontap.username, ontap.password, ca_pem=ontap.ca_pem)
        await client.get_cluster()
        shared = await registry()
        key = session_key(client.base_url, TlsSettings(ca_pem=ontap.ca_pem))
        async with shared.use(key, never) as session:
            assert not session.closed  # idle, kept for the next request
        return session

    session = asyncio.run(request_and_keep_the_session(ontap_simulator))
    assert session.closed


@pytest.mark.parametrize("host", ["", "ftp://cluster", "https://cluster/api"])
def test_bad_hosts_are_rejected(host: str) -> None:
    with pytest.raises(InvalidInputError):
        OntapClient(host, "admin", "secret")
