"""The ``ssh`` connection as the XCP hook reads it: the SSH provider's fields, strict, no secrets shown."""

from __future__ import annotations

import asyncssh
import pytest

from netapp_dataops_airflow.exceptions import InvalidInputError
from netapp_dataops_airflow.hooks.base import ConnectionFields
from netapp_dataops_airflow.hooks.xcp import target_from_connection

KEY = asyncssh.generate_private_key("ssh-ed25519")
PRIVATE = KEY.export_private_key().decode()
PUBLIC = KEY.export_public_key().decode().strip()
RSA_BASE64 = asyncssh.generate_private_key("ssh-rsa", key_size=1024).export_public_key().decode().split()[1]
PASSWORD = "xcp-Pa55word-never-shown"


def fields(**changes: object) -> ConnectionFields:
    values: dict[str, object] = {
        "conn_id": "xcp",
        "conn_type": "ssh",
        "host": "xcp-host.example.com",
        "port": None,
        "login": "root",
        "password": None,
        "schema": None,
        "extras": {"private_key": PRIVATE, "host_key": PUBLIC},
    }
    values.update(changes)
    return ConnectionFields(**values)  # type: ignore[arg-type]


def test_the_provider_format_is_read() -> None:
    target = target_from_connection(fields())
    assert (target.host, target.port, target.username) == ("xcp-host.example.com", 22, "root")
    assert target.verify_host_key
    assert target.host_key == PUBLIC
    assert PRIVATE not in repr(target)


def test_host_keys_are_verified_unless_the_connection_says_not_to() -> None:
    assert target_from_connection(fields(extras={"private_key": PRIVATE})).verify_host_key
    relaxed = target_from_connection(fields(extras={"private_key": PRIVATE, "no_host_key_check": "true"}))
    assert not relaxed.verify_host_key


def test_a_bare_base64_host_key_is_an_rsa_key_as_for_the_ssh_provider() -> None:
    target = target_from_connection(fields(password=PASSWORD, extras={"host_key": RSA_BASE64}))
    assert target.host_key == f"ssh-rsa {RSA_BASE64}"


def test_the_provider_extras_this_library_ignores_are_accepted() -> None:
    target = target_from_connection(
        fields(
            extras={
                "private_key": PRIVATE,
                "compress": "false",
                "cmd_timeout": 10,
                "allow_host_key_change": True,
            }
        )
    )
    assert target.private_key == PRIVATE.strip()


def test_a_password_connection_works() -> None:
    target = target_from_connection(fields(password=PASSWORD, extras={}, port="2222"))
    assert target.port == 2222
    assert PASSWORD not in repr(target)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"host": ""}, "'host' must be the XCP host"),
        ({"host": "root@xcp"}, "'host' must be the XCP host"),
        ({"host": "-oProxyCommand=x"}, "'host' must be the XCP host"),
        ({"port": 0}, "'port' must be"),
        ({"login": ""}, "'login' is empty"),
        ({"extras": {"private_key": "not a key"}}, "'private_key' is not a private key"),
        ({"extras": {"host_key": "ssh-ed25519 garbage"}}, "'host_key' is not a public key"),
        ({"extras": {"no_host_key_check": "flase"}}, "'no_host_key_check' must be true or false"),
        ({"extras": {"privat_key": PRIVATE}}, "unknown extra field 'privat_key' .did you mean 'private_key'"),
        ({"extras": {"look_for_keys": False}}, "no credentials"),
    ],
)
def test_bad_fields_are_errors_naming_the_field_never_the_secret(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        target_from_connection(fields(**changes))
    assert PRIVATE not in str(caught.value)


def test_a_key_file_is_kept_as_a_path_to_read_when_connecting() -> None:
    target = target_from_connection(fields(extras={"key_file": "/home/airflow/.ssh/id_ed25519"}))
    assert target.key_file == "/home/airflow/.ssh/id_ed25519"
    assert target.private_key is None
