"""The ONTAP simulator over loopback HTTPS, spoken to with plain aiohttp: the wire format itself."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from netapp_dataops_airflow.clients._http import basic_auth
from netapp_dataops_airflow.simulators.ontap import OntapSimulator
from tests.helpers.processes import ServedSimulator

REL = "/api/snapmirror/relationships"


@pytest.fixture
async def http(slow_ontap: OntapSimulator) -> AsyncIterator[aiohttp.ClientSession]:
    context = ssl.create_default_context(cadata=slow_ontap.ca_pem)
    async with aiohttp.ClientSession(
        slow_ontap.url,
        headers=basic_auth(slow_ontap.username, slow_ontap.password),
        connector=aiohttp.TCPConnector(ssl=context),
    ) as session:
        yield session


async def call(http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any) -> tuple[int, Any, Any]:
    async with http.request(method, path, **kwargs) as response:
        body = await response.json(content_type=None) if await response.read() else None
        return response.status, response.headers, body


async def test_bad_credentials_get_401_with_the_ontap_envelope(slow_ontap: OntapSimulator) -> None:
    context = ssl.create_default_context(cadata=slow_ontap.ca_pem)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as anonymous:
        for headers in ({}, basic_auth(slow_ontap.username, "wrong"), {"Authorization": "Bearer x"}):
            async with anonymous.get(slow_ontap.url + "/api/cluster", headers=headers) as response:
                assert response.status == 401
                assert response.headers["WWW-Authenticate"].startswith("Basic")
                assert response.content_type == "application/hal+json"
                assert await response.json(content_type=None) == {
                    "error": {"message": "User is not authorized.", "code": "6"}
                }


async def test_cluster_and_svms(slow_ontap: OntapSimulator, http: aiohttp.ClientSession) -> None:
    slow_ontap.backend.add_relationship("src:vol", "dst:vol", source_cluster="peer")
    status, headers, cluster = await call(http, "GET", "/api/cluster")
    assert status == 200
    assert headers["Content-Type"].startswith("application/hal+json")
    assert cluster["name"] == "sim-cluster"
    assert cluster["version"]["generation"] == 9
    status, _, svms = await call(http, "GET", "/api/svm/svms", params={"fields": "name"})
    assert [svm["name"] for svm in svms["records"]] == ["dst"]  # the source SVM lives on the peer


async def test_collection_queries(slow_ontap: OntapSimulator, http: aiohttp.ClientSession) -> None:
    rels = [slow_ontap.backend.add_relationship(f"src:v{i}", f"dst:v{i}") for i in range(3)]
    _, _, keys_only = await call(http, "GET", REL)
    assert keys_only["num_records"] == 3
    assert set(keys_only["records"][0]) == {"uuid", "_links"}

    wanted = f"{rels[0].uuid}|{rels[2].uuid}"
    _, _, batch = await call(http, "GET", REL, params={"uuid": wanted, "fields": "state,transfer.state"})
    assert sorted(r["uuid"] for r in batch["records"]) == sorted([rels[0].uuid, rels[2].uuid])
    assert all(r["state"] == "snapmirrored" for r in batch["records"])

    _, _, by_path = await call(http, "GET", REL, params={"destination.path": "dst:v1", "fields": "*"})
    assert by_path["num_records"] == 1
    assert by_path["records"][0]["source"]["path"] == "src:v1"

    _, _, paged = await call(http, "GET", REL, params={"max_records": "2"})
    assert paged["num_records"] == 2
    assert "next" in paged["_links"]
    _, _, rest = await call(http, "GET", paged["_links"]["next"]["href"])
    assert rest["num_records"] == 1

    status, _, rejected = await call(http, "GET", REL, params={"no_such_field": "1"})
    assert status == 400
    assert rejected["error"]["code"] == "262179"


async def test_transfer_lifecycle_on_the_wire(
    slow_ontap: OntapSimulator, http: aiohttp.ClientSession
) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    status, headers, body = await call(http, "POST", f"{REL}/{rel.uuid}/transfers", json={})
    assert status == 201
    assert body == {}
    location = headers["Location"]
    assert location.startswith(f"{REL}/{rel.uuid}/transfers/")
    transfer_uuid = location.rsplit("/", 1)[1]

    status, _, refused = await call(http, "POST", f"{REL}/{rel.uuid}/transfers", json={})
    assert status == 400
    assert refused["error"]["code"] == "13303844"

    _, _, record = await call(http, "GET", f"{REL}/{rel.uuid}")
    assert record["transfer"]["uuid"] == transfer_uuid
    assert record["transfer"]["state"] == "transferring"
    assert record["policy"]["type"] == "async"
    assert record["lag_time"].startswith("PT")

    status, _, _ = await call(http, "PATCH", location, json={"state": "aborted"})
    assert status == 200
    _, _, listed = await call(
        http, "GET", f"{REL}/{rel.uuid}/transfers", params={"fields": "state,error_info"}
    )
    assert listed["records"][0]["state"] == "aborted"
    assert listed["records"][0]["error_info"]["code"] == 6620046

    status, _, again = await call(http, "PATCH", location, json={"state": "aborted"})
    assert status == 400
    assert again["error"]["code"] == "13303849"


async def test_return_records_and_bad_bodies(slow_ontap: OntapSimulator, http: aiohttp.ClientSession) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    path = f"{REL}/{rel.uuid}/transfers"
    status, _, bad = await call(http, "POST", path, json={"colour": "blue"})
    assert (status, bad["error"]["code"], bad["error"]["target"]) == (400, "262179", "colour")
    status, _, bad = await call(
        http, "POST", path, data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400
    assert bad["error"]["code"] == "2"
    status, _, bad = await call(http, "POST", path, params={"return_timeout": "500"}, json={})
    assert status == 400
    status, _, body = await call(
        http, "POST", path, params={"return_records": "true"}, json={"throttle": 100}
    )
    assert status == 201
    assert body["num_records"] == 1
    assert body["records"][0]["throttle"] == 100


async def test_relationship_patch_returns_a_job(
    slow_ontap: OntapSimulator, http: aiohttp.ClientSession
) -> None:
    rel = slow_ontap.backend.add_relationship("src:vol", "dst:vol")
    status, _, accepted = await call(http, "PATCH", f"{REL}/{rel.uuid}", json={"state": "paused"})
    assert status == 202
    href = accepted["job"]["_links"]["self"]["href"]
    _, _, job = await call(http, "GET", href, params={"fields": "message,state"})
    assert job["state"] == "success"
    assert set(job) == {"uuid", "message", "state", "_links"}
    assert slow_ontap.backend.get_relationship(rel.uuid).state == "paused"


async def test_unknown_things(slow_ontap: OntapSimulator, http: aiohttp.ClientSession) -> None:
    status, _, missing = await call(http, "GET", f"{REL}/00000000-0000-0000-0000-000000000000")
    assert status == 404
    assert missing["error"] == {
        "message": "entry doesn't exist",
        "code": "4",
        "target": "uuid",
    }
    status, _, missing = await call(http, "GET", "/api/no/such/api")
    assert status == 404
    assert missing["error"]["code"] == "3"
    status, _, wrong = await call(http, "DELETE", "/api/cluster")
    assert status == 405
    assert "error" in wrong


async def test_faults(slow_ontap: OntapSimulator, http: aiohttp.ClientSession) -> None:
    slow_ontap.backend.inject_fault("error", status=503, path="/api/cluster", times=1)
    slow_ontap.backend.inject_wait_and_retry("6619720")
    status, _, body = await call(http, "GET", "/api/cluster")
    assert status == 503
    assert body["error"]["code"] == "8"
    status, _, body = await call(http, "GET", "/api/cluster")
    assert (status, body["error"]["code"]) == (400, "6619720")
    # aiohttp itself resends an idempotent request once when a reused connection drops.
    slow_ontap.backend.inject_fault("drop", times=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(http, "GET", "/api/cluster")
    status, _, _ = await call(http, "GET", "/api/cluster")
    assert status == 200


async def test_a_garbled_answer_is_a_200_with_the_body_asked_for(
    slow_ontap: OntapSimulator, http: aiohttp.ClientSession
) -> None:
    async with aiohttp.ClientSession(
        slow_ontap.url,
        connector=aiohttp.TCPConnector(ssl=ssl.create_default_context(cadata=slow_ontap.ca_pem)),
    ) as anonymous:
        for fault in ({"kind": "garble", "path": REL}, {"kind": "garble", "body": "<html>login</html>"}):
            async with anonymous.post("/_simulator/faults", json=fault) as response:
                assert response.status == 200, await response.text()
    for expected in ('{"records": [{"uuid": "', "<html>login</html>"):
        async with http.get(REL, params={"fields": "uuid"}) as response:
            assert (response.status, response.content_type) == (200, "application/hal+json")
            assert await response.text() == expected
    status, _, body = await call(http, "GET", REL)
    assert (status, body["num_records"]) == (200, 0)  # the faults are spent


async def test_control_api(slow_ontap: OntapSimulator, http: aiohttp.ClientSession) -> None:
    control = "/_simulator"
    async with aiohttp.ClientSession(
        slow_ontap.url,
        connector=aiohttp.TCPConnector(ssl=ssl.create_default_context(cadata=slow_ontap.ca_pem)),
    ) as anonymous:  # the control API needs no credentials

        async def send(method: str, path: str, body: Any = None) -> Any:
            async with anonymous.request(method, control + path, json=body) as response:
                assert response.status == 200, await response.text()
                return await response.json()

        rel = await send("POST", "/relationships", {"source_path": "s:v", "destination_path": "d:v"})
        await send("PUT", "/transfer-settings", {"duration": 10, "outcome": "failed"})
        await send("POST", "/faults", {"kind": "error", "status": 500, "times": 1})
        status, _, _ = await call(http, "POST", f"{REL}/{rel['uuid']}/transfers", json={})
        assert status == 500
        status, _, _ = await call(http, "POST", f"{REL}/{rel['uuid']}/transfers", json={})
        assert status == 201
        await send("POST", "/advance", {"seconds": 11})
        state = await send("GET", "/state")
        assert state["relationships"][0]["healthy"] is False
        assert state["transfers"][0]["state"] == "failed"
        await send("POST", "/reset")
        assert (await send("GET", "/state"))["relationships"] == []
        async with anonymous.put(control + "/transfer-settings", json={"outcome": "maybe"}) as response:
            assert response.status == 400


def test_threaded_mode_serves_synchronous_clients() -> None:
    import urllib.request

    with OntapSimulator() as ontap:
        context = ssl.create_default_context(cadata=ontap.ca_pem)
        request = urllib.request.Request(ontap.url + "/_simulator/state")
        with urllib.request.urlopen(request, context=context) as response:
            assert response.status == 200
        assert ontap.ca_file.read_text() == ontap.ca_pem
        ca_file = ontap.ca_file
    assert not ca_file.exists()


def test_cli_prints_how_to_connect_and_stops_on_ctrl_c() -> None:
    with ServedSimulator("ontap", "--user", "ops", "--password", "pw") as served:
        lines = served.lines(4)
    assert lines[0].startswith("ONTAP simulator listening on https://127.0.0.1:")
    assert "ops" in lines[1]
    assert "pw" in lines[2]
    assert lines[3].strip().endswith(".pem")
    assert served.returncode == 0
    assert "Traceback" not in served.stderr
