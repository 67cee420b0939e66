"""The Cloud Sync simulator over loopback HTTPS, spoken to with plain aiohttp: the wire format itself."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from netapp_dataops_airflow.simulators.cloud_sync import CloudSyncSimulator
from netapp_dataops_airflow.simulators.cloud_sync.models import REFRESH_CLIENT_ID
from tests.helpers.processes import ServedSimulator

NFS = {"protocol": "nfs", "host": "10.0.0.5", "export": "/data", "path": "/in"}
S3 = {"protocol": "s3", "bucket": "lake", "prefix": "raw/"}
ACCOUNT = "account-Test0001"
COUNTERS = (
    "bytesScanned",
    "filesScanned",
    "filesMarkedForCopy",
    "bytesCopied",
    "filesCopied",
    "filesRemoved",
)


@pytest.fixture
async def cloud_sync() -> AsyncIterator[CloudSyncSimulator]:
    async with CloudSyncSimulator(refresh_token="refresh-me") as simulator:
        simulator.backend.add_account(ACCOUNT, "Test")
        simulator.backend.set_sync_settings(pending_seconds=2, duration=100, stale_seconds=1)
        yield simulator


@pytest.fixture
async def http(cloud_sync: CloudSyncSimulator) -> AsyncIterator[aiohttp.ClientSession]:
    context = ssl.create_default_context(cadata=cloud_sync.ca_pem)
    async with aiohttp.ClientSession(cloud_sync.url, connector=aiohttp.TCPConnector(ssl=context)) as session:
        yield session


async def call(http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with http.request(method, path, **kwargs) as response:
        return response.status, await response.json(content_type=None)


async def token(http: aiohttp.ClientSession, refresh_token: str = "refresh-me") -> str:
    body = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": REFRESH_CLIENT_ID}
    status, answer = await call(http, "POST", "/oauth/token", json=body)
    assert status == 200, answer
    return str(answer["access_token"])


async def api(http: aiohttp.ClientSession, method: str, path: str, access: str) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {access}", "x-account-id": ACCOUNT, "Accept": "application/json"}
    return await call(http, method, f"/api{path}", headers=headers)


async def test_refresh_grant_gives_a_jwt_looking_token_with_its_lifetime(
    cloud_sync: CloudSyncSimulator, http: aiohttp.ClientSession
) -> None:
    cloud_sync.backend.set_token_lifetime(120)
    body = {"grant_type": "refresh_token", "refresh_token": "refresh-me", "client_id": REFRESH_CLIENT_ID}
    status, answer = await call(http, "POST", "/oauth/token", json=body)
    assert status == 200
    assert answer["expires_in"] == 120
    assert answer["token_type"] == "Bearer"
    assert answer["access_token"].count(".") == 2


@pytest.mark.parametrize("refresh_token", ["unknown", "revoked"])
async def test_unknown_or_revoked_refresh_tokens_are_refused_as_auth0_does(
    cloud_sync: CloudSyncSimulator, http: aiohttp.ClientSession, refresh_token: str
) -> None:
    cloud_sync.backend.add_refresh_token("revoked")
    cloud_sync.backend.revoke_refresh_token("revoked")
    body = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": REFRESH_CLIENT_ID}
    status, answer = await call(http, "POST", "/oauth/token", json=body)
    assert status == 403
    assert answer == {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}


async def test_password_grant(cloud_sync: CloudSyncSimulator, http: aiohttp.ClientSession) -> None:
    cloud_sync.backend.add_user("ops@example.com", "pw")
    body = {
        "grant_type": "password",
        "username": "ops@example.com",
        "password": "pw",
        "scope": "profile",
        "audience": "https://api.cloud.netapp.com",
        "client_id": "UaVhOIXMWQs5i1WdDxauXe5Mqkb34NJQ",
    }
    status, answer = await call(http, "POST", "/oauth/token", json=body)
    assert status == 200
    status, accounts = await call(
        http, "GET", "/api/accounts", headers={"Authorization": f"Bearer {answer['access_token']}"}
    )
    assert (status, accounts) == (200, [{"accountId": ACCOUNT, "name": "Test"}])
    status, refused = await call(http, "POST", "/oauth/token", json={**body, "password": "wrong"})
    assert (status, refused["error"]) == (403, "invalid_grant")


async def test_expired_access_tokens_get_the_jwt_expired_401(
    cloud_sync: CloudSyncSimulator, http: aiohttp.ClientSession
) -> None:
    cloud_sync.backend.set_token_lifetime(60)
    access = await token(http)
    assert (await api(http, "GET", "/relationships-v2", access))[0] == 200
    cloud_sync.backend.advance(61)
    assert await api(http, "GET", "/relationships-v2", access) == (
        401,
        {"code": 401, "message": "TokenExpiredError: jwt expired"},
    )
    status, _ = await call(http, "GET", "/api/accounts")
    assert status == 401


async def test_every_call_but_accounts_needs_the_account_header(
    cloud_sync: CloudSyncSimulator, http: aiohttp.ClientSession
) -> None:
    access = await token(http)
    status, body = await call(
        http, "GET", "/api/relationships-v2", headers={"Authorization": f"Bearer {access}"}
    )
    assert status == 400
    assert "x-account-id" in body["message"]


async def test_a_sync_moves_pending_running_done_with_growing_counters(
    cloud_sync: CloudSyncSimulator, http: aiohttp.ClientSession
) -> None:
    rel = cloud_sync.backend.add_relationship(NFS, S3, files=1000)
    access = await token(http)
    status, before = await api(http, "GET", f"/relationships-v2/{rel.id}", access)
    assert status == 200
    assert before["source"]["nfs"]["export"] == "/data"
    assert before["target"] == {
        "protocol": "s3",
        "s3": {"bucket": "lake", "prefix": "raw/", "host": "", "port": "", "provider": "sgws", "tags": []},
    }
    previous = before["activity"]
    assert (previous["type"], previous["status"]) == ("Sync", "DONE")

    assert await api(http, "PUT", f"/relationships/{rel.id}/sync", access) == (202, {})
    # Right after the request the previous DONE is still what the service shows.
    assert (await api(http, "GET", f"/relationships-v2/{rel.id}", access))[1]["activity"] == previous
    cloud_sync.backend.advance(1.5)
    pending = (await api(http, "GET", f"/relationships-v2/{rel.id}", access))[1]["activity"]
    assert (pending["status"], pending["progress"], pending["startTime"]) == ("PENDING", 0, None)
    cloud_sync.backend.advance(30)
    early = (await api(http, "GET", f"/relationships-v2/{rel.id}", access))[1]["activity"]
    cloud_sync.backend.advance(40)
    late = (await api(http, "GET", f"/relationships-v2/{rel.id}", access))[1]["activity"]
    assert early["status"] == late["status"] == "RUNNING"
    assert 0 < early["progress"] < late["progress"] < 100
    assert all(0 < early[c] < late[c] for c in COUNTERS)
    assert early["startTime"] > previous["endTime"]
    cloud_sync.backend.advance(40)
    done = (await api(http, "GET", f"/relationships-v2/{rel.id}", access))[1]["activity"]
    assert (done["status"], done["progress"], done["filesCopied"], done["filesFailed"]) == (
        "DONE",
        100,
        1000,
        0,
    )
    assert done["executionTime"] == 100_000
    assert done["endTime"] is not None


async def test_a_second_sync_while_one_runs_is_refused(
    cloud_sync: CloudSyncSimulator, http: aiohttp.ClientSession
) -> None:
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    access = await token(http)
    assert (await api(http, "PUT", f"/relationships/{rel.id}/sync", access))[0] == 202
    assert await api(http, "PUT", f"/relationships/{rel.id}/sync", access) == (
        400,
        {"code": 400, "message": "A sync action is running right now, can not run another action"},
    )


async def test_failed_syncs_carry_the_message_and_the_top_errors(
    cloud_sync: CloudSyncSimulator, http: aiohttp.ClientSession
) -> None:
    cloud_sync.backend.set_sync_settings(outcome="FAILED", failure_message="broker gone")
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    access = await token(http)
    await api(http, "PUT", f"/relationships/{rel.id}/sync", access)
    cloud_sync.backend.advance(200)
    activity = (await api(http, "GET", f"/relationships-v2/{rel.id}", access))[1]["activity"]
    assert (activity["status"], activity["failureMessage"]) == ("FAILED", "broker gone")
    assert activity["topFiveMostCommonRelationshipErrors"][0]["description"] == "broker gone"


async def test_done_with_failed_files_still_says_done(
    cloud_sync: CloudSyncSimulator, http: aiohttp.ClientSession
) -> None:
    cloud_sync.backend.set_sync_settings(failed_files=3)
    rel = cloud_sync.backend.add_relationship(NFS, S3, files=10)
    access = await token(http)
    await api(http, "PUT", f"/relationships/{rel.id}/sync", access)
    cloud_sync.backend.advance(200)
    activity = (await api(http, "GET", f"/relationships-v2/{rel.id}", access))[1]["activity"]
    assert (activity["status"], activity["filesFailed"], activity["filesCopied"]) == ("DONE", 3, 7)
    assert activity["topFiveMostCommonRelationshipErrors"][0]["counter"] == 3


async def test_abort_stops_the_running_sync(
    cloud_sync: CloudSyncSimulator, http: aiohttp.ClientSession
) -> None:
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    access = await token(http)
    assert (await api(http, "PUT", f"/relationships/{rel.id}/abort", access))[0] == 400
    await api(http, "PUT", f"/relationships/{rel.id}/sync", access)
    cloud_sync.backend.advance(10)
    assert (await api(http, "PUT", f"/relationships/{rel.id}/abort", access))[0] == 200
    activity = (await api(http, "GET", f"/relationships-v2/{rel.id}", access))[1]["activity"]
    assert activity["status"] == "ABORTED"
    assert (await api(http, "PUT", f"/relationships/{rel.id}/sync", access))[0] == 202


async def test_unknown_malformed_and_foreign_relationships(
    cloud_sync: CloudSyncSimulator, http: aiohttp.ClientSession
) -> None:
    other = cloud_sync.backend.add_relationship(NFS, S3, account_id="account-Other001")
    access = await token(http)
    assert (await api(http, "GET", f"/relationships-v2/{'0' * 24}", access))[0] == 404
    assert (await api(http, "GET", f"/relationships-v2/{other.id}", access))[0] == 404
    assert (await api(http, "PUT", "/relationships/not-an-id/sync", access))[0] == 400
    listed = (await api(http, "GET", "/relationships-v2", access))[1]
    assert listed == []


async def test_faults_and_the_request_log(
    cloud_sync: CloudSyncSimulator, http: aiohttp.ClientSession
) -> None:
    access = await token(http)
    cloud_sync.backend.inject_fault("error", status=429, message="Too Many Requests", path="/api/accounts")
    cloud_sync.backend.inject_fault("error", status=503, path="/api/relationships-v2")
    headers = {"Authorization": f"Bearer {access}"}
    assert await call(http, "GET", "/api/accounts", headers=headers) == (
        429,
        {"code": 429, "message": "Too Many Requests"},
    )
    assert (await api(http, "GET", "/relationships-v2", access))[0] == 503
    assert (await api(http, "GET", "/relationships-v2", access))[0] == 200
    _, logged = await call(http, "GET", "/_simulator/requests")
    assert logged == [
        "POST /oauth/token",
        "GET /api/accounts",
        "GET /api/relationships-v2",
        "GET /api/relationships-v2",
    ]
    # Every time: aiohttp retries a request once when a reused connection drops.
    cloud_sync.backend.inject_fault("drop", path="/api/accounts", times=-1)
    with pytest.raises(aiohttp.ClientError):
        await call(http, "GET", "/api/accounts", headers=headers)
    assert cloud_sync.backend.token_requests == 1


async def test_control_api_seeds_and_steers(
    cloud_sync: CloudSyncSimulator, http: aiohttp.ClientSession
) -> None:
    status, seeded = await call(
        http, "POST", "/_simulator/relationships", json={"source": NFS, "target": S3, "account_id": ACCOUNT}
    )
    assert status == 200
    assert (await call(http, "PUT", "/_simulator/sync-settings", json={"outcome": "FAILED"}))[0] == 200
    async with http.put("/_simulator/sync-settings", json={"outcome": "MAYBE"}) as refused:
        assert refused.status == 400
        assert "MAYBE" in await refused.text()
    state = (await call(http, "GET", "/_simulator/state"))[1]
    assert [r["id"] for r in state["relationships"]] == [seeded["id"]]
    assert state["sync_settings"]["outcome"] == "FAILED"
    assert (await call(http, "POST", "/_simulator/expire-tokens"))[0] == 200


def test_cli_prints_what_a_connection_needs_and_stops_on_ctrl_c() -> None:
    with ServedSimulator("cloud_sync", "--refresh-token", "rt-1") as served:
        lines = served.lines(6)
    assert lines[0].startswith("Cloud Sync simulator listening on https://127.0.0.1:")
    assert lines[1].strip().endswith("/api")
    assert lines[2].strip().endswith("/oauth/token")
    assert "rt-1" in lines[3]
    assert "account-Sim00001" in lines[4]
    assert lines[5].strip().endswith(".pem")
    assert served.returncode == 0
    assert "Traceback" not in served.stderr
