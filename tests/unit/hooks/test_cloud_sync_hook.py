"""The ``netapp_cloud_sync`` connection (and the DataOps Toolkit's ``http`` one): checked, token hidden."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import airflow
import jsonschema
import pytest

from netapp_dataops_airflow.exceptions import InvalidInputError
from netapp_dataops_airflow.get_provider_info import get_provider_info
from netapp_dataops_airflow.hooks.cloud_sync import CONN_TYPE, HOOK_NAME, CloudSyncConnection, CloudSyncHook
from netapp_dataops_airflow.hooks.ontap import OntapHook
from netapp_dataops_airflow.simulators._tls import make_certificates

TOKEN = "cs-Refresh-Secret-t0ken"
CA_PEM = make_certificates(("localhost",)).ca_pem


def settings(password: str | None = TOKEN, conn_type: str = CONN_TYPE, **extras: Any) -> CloudSyncConnection:
    return CloudSyncConnection.from_connection("cs", conn_type, password=password, extras=extras)


def _env(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def test_defaults_are_the_real_service() -> None:
    connection = settings()
    assert (connection.api_url, connection.token_url, connection.account_id) == (
        "https://api.cloudsync.netapp.com/api",
        "https://netapp-cloud-account.auth0.com/oauth/token",
        None,
    )
    assert connection.client().api_url == "https://api.cloudsync.netapp.com/api"


def test_extras_set_the_account_urls_and_tls() -> None:
    connection = settings(
        account_id=" account-X1 ",
        api_url="https://proxy.example.com:8443/cloudsync/api/",
        token_url="https://auth.example.com/oauth/token",
        ca_certificate=CA_PEM,
        verify_ssl="yes",
    )
    assert connection.account_id == "account-X1"
    assert connection.api_url == "https://proxy.example.com:8443/cloudsync/api"
    assert connection.client().api_url == "https://proxy.example.com:8443/cloudsync/api"
    assert (connection.ca_pem, connection.verify_ssl) == (CA_PEM, True)


@pytest.mark.parametrize(
    ("password", "extras", "message"),
    [
        (None, {}, "'password' is empty; put the Cloud Sync refresh token there"),
        ("  ", {}, "'password' is empty"),
        (TOKEN, {"acount_id": "a"}, "unknown extra field 'acount_id' \\(did you mean 'account_id'\\?\\)"),
        (TOKEN, {"api_url": "ftp://x/api"}, "'api_url' must look like https://host"),
        (TOKEN, {"token_url": "not a url"}, "'token_url' must look like https://host"),
        (TOKEN, {"ca_certificate": "nope"}, "'ca_certificate' must be PEM text"),
        (TOKEN, {"verify_ssl": "flase"}, "'verify_ssl' must be true or false"),
        (TOKEN, {"account_id": 5}, "'account_id' must be text"),
    ],
)
def test_bad_fields_are_named_without_the_token(
    password: str | None, extras: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message) as refused:
        settings(password, **extras)
    assert TOKEN not in str(refused.value)


def test_the_token_stays_out_of_reprs() -> None:
    connection = settings(ca_certificate=CA_PEM)
    assert TOKEN not in repr(connection) + repr(connection.client()) + repr(connection.tls)
    assert CA_PEM not in repr(connection)


def test_a_dataops_toolkit_http_connection_works_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, "cloud_sync_http", conn_type="http", password=TOKEN)
    assert CloudSyncHook("cloud_sync_http").get_connection_settings().refresh_token == TOKEN
    _env(monkeypatch, "ontap_http", conn_type="http", host="10.0.0.5", login="admin", password="pw")
    ontap = OntapHook("ontap_http").get_connection_settings()
    assert (ontap.host, ontap.username, ontap.password) == ("https://10.0.0.5", "admin", "pw")


async def test_other_connection_types_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, "cs_ontap", conn_type="netapp_ontap", host="x", login="a", password=TOKEN)
    with pytest.raises(InvalidInputError, match="is of type 'netapp_ontap', but cloud_sync_conn_id needs"):
        await CloudSyncHook("cs_ontap").aget_connection_settings()


async def test_hook_reads_the_connection_in_triggers(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, "cs_b", conn_type=CONN_TYPE, password=TOKEN, extra={"account_id": "account-B"})
    connection = await CloudSyncHook("cs_b").aget_connection_settings()
    assert (connection.refresh_token, connection.account_id) == (TOKEN, "account-B")


def test_hook_identity_and_provider_info() -> None:
    assert (CloudSyncHook.conn_type, CloudSyncHook.conn_name_attr, CloudSyncHook.default_conn_name) == (
        "netapp_cloud_sync",
        "cloud_sync_conn_id",
        "cloud_sync_default",
    )
    [entry] = [e for e in get_provider_info()["connection-types"] if e["connection-type"] == CONN_TYPE]
    schema = json.loads((Path(airflow.__file__).parent / "provider.yaml.schema.json").read_text())
    jsonschema.validate(entry, schema["properties"]["connection-types"]["items"])
    assert (entry["hook-class-name"], entry["hook-name"]) == (
        f"{CloudSyncHook.__module__}.CloudSyncHook",
        HOOK_NAME,
    )
    assert set(entry["conn-fields"]) == {"account_id", "api_url", "token_url", "ca_certificate", "verify_ssl"}
