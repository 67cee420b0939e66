"""The ``netapp_ontap`` connection: fields validated, secrets kept out of reprs and messages."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import airflow
import jsonschema
import pytest

from netapp_dataops_airflow.exceptions import InvalidInputError
from netapp_dataops_airflow.get_provider_info import get_provider_info
from netapp_dataops_airflow.hooks.ontap import CONN_TYPE, HOOK_NAME, OntapConnection, OntapHook
from netapp_dataops_airflow.simulators._tls import make_certificates

SECRET = "0ntap-Secret-Pa55"
CA_PEM = make_certificates(("localhost",)).ca_pem


def settings(
    host: str | None = "cluster.example.com", port: int | None = None, **extras: Any
) -> OntapConnection:
    return OntapConnection.from_connection(
        "ontap", host=host, port=port, login="admin", password=SECRET, extras=extras
    )


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("cluster.example.com", None, "https://cluster.example.com"),
        (" cluster.example.com ", 8443, "https://cluster.example.com:8443"),
        ("10.0.0.5:8443", None, "https://10.0.0.5:8443"),
        ("10.0.0.5:8443", 8443, "https://10.0.0.5:8443"),
        ("https://cluster.example.com/", None, "https://cluster.example.com"),
        ("fd20::5", None, "https://[fd20::5]"),
        ("fd20::5", 443, "https://[fd20::5]:443"),
        ("[fd20::5]:8443", None, "https://[fd20::5]:8443"),
    ],
)
def test_host_and_port(host: str, port: int | None, expected: str) -> None:
    assert settings(host, port).host == expected
    assert settings(host, port).client().base_url == expected


@pytest.mark.parametrize(
    ("host", "port", "message"),
    [
        (None, None, "'host' is empty"),
        ("", None, "'host' is empty"),
        ("http://cluster", None, "HTTPS only"),
        ("https://cluster/api", None, "no path"),
        ("cluster:notaport", None, "'host' is not a host name"),
        ("cluster:8443", 443, "'host' names port 8443 but 'port' is 443"),
        ("cluster", 70000, "'port' must be a whole number between 1 and 65535, got 70000"),
        ("cluster", 0, "'port' must be a whole number between 1 and 65535, got 0"),
        ("cluster:0", None, "the port in 'host' must be between 1 and 65535, got 0"),
        ("https://cluster#x", None, "no path"),
        ("cluster one", None, "'host' contains blanks"),
    ],
)
def test_bad_hosts_name_the_field(host: str | None, port: int | None, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as raised:
        settings(host, port)
    assert str(raised.value).startswith("connection 'ontap': ")


@pytest.mark.parametrize(
    "host",
    [
        f"https://admin:{SECRET}@cluster.example.com",
        f"admin:{SECRET}@cluster.example.com",
        f"admin:{SECRET}@cluster.example.com:8443",
        f"https://admin:{SECRET}@[fd20::5]:8443",
        "admin@cluster.example.com",
    ],
)
def test_credentials_in_the_host_are_refused_without_repeating_them(host: str) -> None:
    with pytest.raises(InvalidInputError, match="'host' contains a user name or password") as raised:
        settings(host)
    assert SECRET not in str(raised.value)
    assert "admin" not in str(raised.value)


def test_tls_is_verified_unless_turned_off_explicitly() -> None:
    assert settings().tls.verify is True
    assert settings(verify_ssl="").tls.verify is True
    assert settings(verify_ssl=None).tls.verify is True
    assert settings(verify_ssl="False").tls.verify is False
    assert settings(verify_ssl=False).tls.verify is False
    assert settings(extra__netapp_ontap__verify_ssl="no").tls.verify is False
    assert settings(check_hostname="false").tls.check_hostname is False
    with pytest.raises(InvalidInputError, match="'verify_ssl' must be true or false"):
        settings(verify_ssl="maybe")


def test_the_ca_certificate_is_pem_text() -> None:
    assert settings(ca_certificate=CA_PEM).tls.ca_pem == CA_PEM
    broken = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
    with pytest.raises(InvalidInputError, match="'ca_certificate' is not a valid PEM certificate") as raised:
        settings(ca_certificate=broken)
    assert "not base64" not in str(raised.value)
    with pytest.raises(InvalidInputError, match="'ca_certificate' must be PEM text"):
        settings(ca_certificate="/etc/ssl/ontap-ca.pem")


@pytest.mark.parametrize(("login", "password", "field"), [("", SECRET, "login"), ("admin", None, "password")])
def test_credentials_are_required(login: str, password: str | None, field: str) -> None:
    with pytest.raises(InvalidInputError, match=f"'{field}' is empty"):
        OntapConnection.from_connection(
            "ontap", host="c", port=None, login=login, password=password, extras={}
        )


def test_secrets_stay_out_of_reprs() -> None:
    connection = settings(ca_certificate=CA_PEM)
    assert SECRET not in repr(connection)
    assert CA_PEM not in repr(connection)
    assert SECRET not in repr(connection.client())
    assert SECRET not in repr(connection.tls)


def test_hook_reads_the_connection_on_workers(airflow_connection: Callable[..., str]) -> None:
    airflow_connection(
        "ontap_a",
        "netapp_ontap",
        host="10.1.2.3",
        port=8443,
        login="svc",
        password=SECRET,
        extra={"ca_certificate": CA_PEM, "check_hostname": False},
    )
    connection = OntapHook("ontap_a").get_connection_settings()
    assert (connection.conn_id, connection.host, connection.username) == (
        "ontap_a",
        "https://10.1.2.3:8443",
        "svc",
    )
    assert (connection.ca_pem, connection.verify_ssl, connection.check_hostname) == (CA_PEM, True, False)


async def test_hook_reads_the_connection_in_triggers(airflow_connection: Callable[..., str]) -> None:
    airflow_connection(
        "ontap_b", "netapp_ontap", host="cluster", login="svc", password=SECRET, extra={"verify_ssl": "false"}
    )
    connection = await OntapHook("ontap_b").aget_connection_settings()
    assert (connection.host, connection.verify_ssl) == ("https://cluster", False)


async def test_an_undefined_connection_is_named() -> None:
    with pytest.raises(InvalidInputError, match="connection 'ontap_missing' is not defined"):
        OntapHook("ontap_missing").get_connection_settings()
    with pytest.raises(InvalidInputError, match="where the workers and the triggerer can read it"):
        await OntapHook("ontap_missing").aget_connection_settings()


def test_hook_identity() -> None:
    assert (OntapHook.conn_type, OntapHook.conn_name_attr, OntapHook.default_conn_name) == (
        "netapp_ontap",
        "ontap_conn_id",
        "ontap_default",
    )
    assert OntapHook().ontap_conn_id == "ontap_default"


def ontap_connection_type() -> dict[str, Any]:
    [entry] = [e for e in get_provider_info()["connection-types"] if e["connection-type"] == CONN_TYPE]
    return dict(entry)


def test_connection_form_follows_airflows_schema() -> None:
    entry = ontap_connection_type()
    schema = json.loads((Path(airflow.__file__).parent / "provider.yaml.schema.json").read_text())
    jsonschema.validate(entry, schema["properties"]["connection-types"]["items"])
    hidden = entry["ui-field-behaviour"]["hidden-fields"]
    assert {"host", "port"}.isdisjoint(hidden)  # both are read
    assert set(entry["conn-fields"]) == {"ca_certificate", "verify_ssl", "check_hostname"}


def test_provider_info_names_the_hook() -> None:
    entry = ontap_connection_type()
    assert (entry["hook-class-name"], entry["hook-name"]) == (f"{OntapHook.__module__}.OntapHook", HOOK_NAME)
