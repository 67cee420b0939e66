"""The simulated cluster logs the API requests it receives, so tests can count them."""

from __future__ import annotations

import aiohttp
import pytest

from netapp_dataops_airflow.simulators.ontap import OntapApiError, OntapSimulator


async def test_requests_are_logged_as_they_arrive() -> None:
    async with OntapSimulator(password="request-log-pw") as ontap, aiohttp.ClientSession() as http:
        rel = ontap.backend.add_relationship("src:vol", "dst:vol")
        ontap.backend.inject_fault("error", status=503, times=1)
        auth = {"Authorization": aiohttp.encode_basic_auth(ontap.username, ontap.password)}
        ssl = False  # the log, not TLS, is under test here
        async with http.get(f"{ontap.url}/api/cluster", headers=auth, ssl=ssl) as failed:
            assert failed.status == 503
        url = f"{ontap.url}/api/snapmirror/relationships?uuid={rel.uuid}&fields=state"
        async with http.get(url, headers=auth, ssl=ssl) as listed:
            assert listed.status == 200
        async with http.get(f"{ontap.url}/api/cluster", ssl=ssl) as denied:
            assert denied.status == 401
        async with http.get(f"{ontap.url}/_simulator/requests", ssl=ssl) as control:
            logged = await control.json()

    assert logged == [
        "GET /api/cluster",
        f"GET /api/snapmirror/relationships?uuid={rel.uuid}&fields=state",
        "GET /api/cluster",
    ]
    assert ontap.backend.requests_matching("GET", "/api/snapmirror/") == [logged[1]]
    assert ontap.backend.requests_matching("POST") == []


def test_relationships_can_be_deleted() -> None:
    ontap = OntapSimulator()
    rel = ontap.backend.add_relationship("src:vol", "dst:vol")
    ontap.backend.delete_relationship(rel.uuid)
    with pytest.raises(OntapApiError) as missing:
        ontap.backend.get_relationship(rel.uuid)
    assert missing.value.status == 404
    with pytest.raises(OntapApiError):
        ontap.backend.delete_relationship(rel.uuid)
