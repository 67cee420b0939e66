"""The Cloud Sync client against the simulator: tokens, accounts, relationships, sync, abort, faults."""

from __future__ import annotations

import asyncio

import pytest

from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.clients.cloud_sync import CloudSyncClient, check_relationship_id
from netapp_dataops_airflow.exceptions import (
    ApiError,
    CloudSyncError,
    InvalidInputError,
    SyncInProgressError,
)
from netapp_dataops_airflow.simulators.cloud_sync import CloudSyncSimulator
from tests.helpers.cloud_sync import NFS, S3, account, api_requests, client

FAST = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05)


async def test_many_calls_and_clients_share_one_token_exchange(cloud_sync: CloudSyncSimulator) -> None:
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    await asyncio.gather(*(client(cloud_sync).get_relationship(rel.id) for _ in range(20)))
    assert cloud_sync.backend.token_requests == 1


async def test_lists_relationships_with_their_endpoints_and_activity(cloud_sync: CloudSyncSimulator) -> None:
    rel = cloud_sync.backend.add_relationship(NFS, S3, files=10)
    [listed] = await client(cloud_sync).list_relationships()
    assert listed.id == rel.id
    assert listed.source.as_dict() == {"protocol": "nfs", "host": "10.0.0.5", "path": "/data/in"}
    assert listed.target.as_dict() == {"protocol": "s3", "host": "lake", "path": "raw/"}
    assert listed.activity is not None
    assert (listed.activity.status, listed.activity.counters["filesCopied"]) == ("DONE", 10)


async def test_an_expired_token_is_renewed_once_and_the_request_repeated(
    cloud_sync: CloudSyncSimulator,
) -> None:
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    sync = client(cloud_sync)
    await sync.get_relationship(rel.id)
    cloud_sync.backend.expire_access_tokens()
    await asyncio.gather(*(sync.get_relationship(rel.id) for _ in range(10)))
    assert cloud_sync.backend.token_requests == 2


async def test_a_token_near_its_end_is_renewed_before_use(cloud_sync: CloudSyncSimulator) -> None:
    cloud_sync.backend.set_token_lifetime(3)  # renewed a tenth of its life before it ends
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    sync = client(cloud_sync)
    await sync.get_relationship(rel.id)
    await asyncio.sleep(2.8)  # inside its life, past the renewal margin
    await sync.get_relationship(rel.id)
    assert cloud_sync.backend.token_requests == 2
    assert len(api_requests(cloud_sync)) == 2  # no request went out with a dead token


@pytest.mark.parametrize("revoke", [True, False])
async def test_a_refused_refresh_token_says_where_to_get_one_without_showing_it(
    cloud_sync: CloudSyncSimulator, revoke: bool
) -> None:
    if revoke:
        cloud_sync.backend.revoke_refresh_token(cloud_sync.refresh_token)
    sync = client(cloud_sync, refresh_token=cloud_sync.refresh_token if revoke else "wrong-token-value")
    with pytest.raises(CloudSyncError) as refused:
        await sync.list_relationships()
    assert refused.value.status == 401
    assert "invalid_grant" in str(refused.value)
    assert "services.cloud.netapp.com/refresh-token" in str(refused.value)
    assert cloud_sync.refresh_token not in str(refused.value) + repr(sync)
    assert api_requests(cloud_sync) == []


async def test_the_only_account_is_found(cloud_sync: CloudSyncSimulator) -> None:
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    sync = client(cloud_sync, account_id=None)
    assert (await sync.get_relationship(rel.id)).id == rel.id
    assert await sync.account_id() == account(cloud_sync)
    assert api_requests(cloud_sync, "/api/accounts") == ["GET /api/accounts"]


async def test_several_accounts_and_none_chosen_is_an_error_naming_them(
    cloud_sync: CloudSyncSimulator,
) -> None:
    first = account(cloud_sync)
    cloud_sync.backend.add_account("account-Other001", "Other")
    with pytest.raises(InvalidInputError, match=rf"several accounts \({first}, account-Other001\)"):
        await client(cloud_sync, account_id=None).list_relationships()


async def test_a_sync_while_one_runs_is_told_apart(cloud_sync: CloudSyncSimulator) -> None:
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    sync = client(cloud_sync)
    await sync.start_sync(rel.id)
    with pytest.raises(SyncInProgressError):
        await sync.start_sync(rel.id)
    await sync.abort_sync(rel.id)
    assert cloud_sync.backend.relationship(rel.id).activities[-1].status == "ABORTED"


async def test_unknown_relationships_and_accounts(cloud_sync: CloudSyncSimulator) -> None:
    with pytest.raises(CloudSyncError) as missing:
        await client(cloud_sync).get_relationship("0" * 24)
    assert missing.value.status == 404
    assert "check the relationship id" in str(missing.value)
    with pytest.raises(CloudSyncError) as foreign:
        await client(cloud_sync, account_id="account-Nope0001").list_relationships()
    assert foreign.value.status == 403


@pytest.mark.parametrize("bad", ["", "123", "g" * 24, "0" * 25, None, 5])
def test_malformed_relationship_ids_are_refused_before_any_request(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="24 hex digits"):
        check_relationship_id(bad)


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_transient_answers_are_retried(cloud_sync: CloudSyncSimulator, status: int) -> None:
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    cloud_sync.backend.inject_fault("error", status=status, path="/api/relationships-v2", times=2)
    assert (await client(cloud_sync, retry=FAST).get_relationship(rel.id)).id == rel.id


async def test_transient_token_endpoint_answers_are_retried(cloud_sync: CloudSyncSimulator) -> None:
    cloud_sync.backend.inject_fault("error", status=503, path="/oauth/token", times=1)
    assert await client(cloud_sync, retry=FAST).list_relationships() == []


async def test_a_dropped_connection_is_retried_then_reported(cloud_sync: CloudSyncSimulator) -> None:
    cloud_sync.backend.inject_fault("drop", path="/api/relationships-v2", times=-1)
    with pytest.raises(ApiError) as dropped:
        await client(cloud_sync, retry=FAST).list_relationships()
    assert dropped.value.reason == "connection"


async def test_a_garbled_answer_is_an_error_not_an_empty_list(cloud_sync: CloudSyncSimulator) -> None:
    cloud_sync.backend.inject_fault("garble", path="/api/relationships-v2", body='[{"id": "')
    with pytest.raises(CloudSyncError, match="something other than a JSON list"):
        await client(cloud_sync).list_relationships()


def test_urls_are_checked() -> None:
    with pytest.raises(InvalidInputError, match="token URL"):
        CloudSyncClient("rt", token_url="ftp://x/oauth/token")
    with pytest.raises(InvalidInputError, match="API URL"):
        CloudSyncClient("rt", api_url="https://x/api?debug=1")
