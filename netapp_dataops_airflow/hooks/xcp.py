"""Airflow ``ssh`` connections (the SSH provider's format) turned into XCP host targets.

The SSH provider package is not needed; a connection made for it works unchanged (the DataOps
Toolkit's XCP example uses one):

============  ===========================================================================
field         meaning
============  ===========================================================================
host          the XCP host
port          optional; 22
login         the user that runs xcp (XCP for NFS runs as root)
password      its password, or
extra         ``private_key``: the private key as text (kept in memory, never written to a
              file); ``private_key_passphrase``; ``key_file``: a key file on the Airflow
              host; ``host_key``: the server's public key (``ssh-ed25519 AAAA...``, or the
              base64 part of an ``ssh-rsa`` key), verified; ``no_host_key_check``: ``true``
              accepts any host key; ``look_for_keys``; ``conn_timeout`` (seconds)
============  ===========================================================================

**Host keys are verified by default** (the SSH provider accepts unknown keys unless told
otherwise): against ``host_key`` when set, else against the known_hosts file of the user running
Airflow. The provider's other extras (``compress``, ``ciphers``, ``cmd_timeout``, ...) are
accepted and ignored; anything else is an error naming the field.
"""

from __future__ import annotations

import asyncssh

from netapp_dataops_airflow.clients._values import number, whole_number
from netapp_dataops_airflow.clients.xcp import SshTarget
from netapp_dataops_airflow.exceptions import InvalidInputError
from netapp_dataops_airflow.hooks.base import ConnectionFields, Extras, NetAppHook

CONN_TYPE = "ssh"
#: The extras of the SSH provider's ``ssh`` connection type; the first group is read here.
USED_FIELDS = frozenset(
    {
        "private_key",
        "private_key_passphrase",
        "key_file",
        "host_key",
        "no_host_key_check",
        "look_for_keys",
        "conn_timeout",
    }
)
IGNORED_FIELDS = frozenset(
    {
        "timeout",
        "cmd_timeout",
        "compress",
        "allow_host_key_change",
        "disabled_algorithms",
        "ciphers",
        "auth_timeout",
        "banner_timeout",
        "keepalive_interval",
    }
)


def target_from_connection(connection: ConnectionFields) -> SshTarget:
    """Validate an ``ssh`` connection into an :class:`SshTarget`; errors never show a secret."""
    name = f"connection {connection.conn_id!r}"
    extra = Extras(connection.conn_id, CONN_TYPE, connection.extras, USED_FIELDS | IGNORED_FIELDS)
    host = (connection.host or "").strip()
    if not host or any(c.isspace() for c in host) or "@" in host or host.startswith("-"):
        raise InvalidInputError(
            f"{name}: 'host' must be the XCP host's name or address (no user@, no blanks)"
        )
    port = (
        22
        if connection.port is None
        else whole_number(connection.port, f"{name}: 'port'", minimum=1, maximum=65535)
    )
    login = (connection.login or "").strip()
    if not login:
        raise InvalidInputError(f"{name}: 'login' is empty; set it to the user that runs xcp on the host")
    private_key = extra.text("private_key")
    key_file = extra.text("key_file")
    passphrase = extra.get("private_key_passphrase")
    if private_key is not None:
        try:
            asyncssh.import_private_key(private_key, passphrase)
        except (asyncssh.KeyImportError, ValueError, TypeError):
            raise InvalidInputError(
                f"{name}: 'private_key' is not a private key asyncssh can read (OpenSSH or PEM text), or "
                "'private_key_passphrase' does not open it"
            ) from None
    host_key = _host_key(name, extra.text("host_key"))
    look_for_keys = extra.flag("look_for_keys", default=True)
    if private_key is None and key_file is None and not connection.password and not look_for_keys:
        raise InvalidInputError(
            f"{name}: no credentials: set 'password', or the 'private_key' or 'key_file' extra, "
            "or let look_for_keys use the Airflow user's own keys"
        )
    timeout = extra.get("conn_timeout")
    return SshTarget(
        conn_id=connection.conn_id,
        host=host,
        port=port,
        username=login,
        password=connection.password or None,
        private_key=private_key,
        key_file=key_file if private_key is None else None,
        passphrase=passphrase if isinstance(passphrase, str) else None,
        host_key=host_key,
        verify_host_key=not extra.flag("no_host_key_check", default=False),
        look_for_keys=look_for_keys,
        connect_timeout=30.0 if timeout is None else number(timeout, f"{name}: 'conn_timeout'", minimum=1),
    )


def _host_key(name: str, text: str | None) -> str | None:
    """Accept ``ssh-<type> <base64>`` or, as the SSH provider does, the bare base64 of an RSA key."""
    if text is None:
        return None
    line = text if " " in text else f"ssh-rsa {text}"
    try:
        asyncssh.import_public_key(line)
    except (asyncssh.KeyImportError, ValueError):
        raise InvalidInputError(
            f"{name}: 'host_key' is not a public key; give it as in known_hosts, "
            "'ssh-ed25519 AAAA...' (ssh-keyscan prints it)"
        ) from None
    return line


class XcpHook(NetAppHook[SshTarget]):
    """Read an ``ssh`` connection into an :class:`SshTarget` for XCP runs.

    :param ssh_conn_id: the Airflow connection to use.
    """

    conn_name_attr = "ssh_conn_id"
    default_conn_name = "ssh_default"
    conn_type = CONN_TYPE
    hook_name = "XCP host (SSH)"

    def __init__(self, ssh_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.ssh_conn_id = ssh_conn_id

    def settings(self, connection: ConnectionFields) -> SshTarget:
        """Validate the connection's fields (a ``key_file`` is read when connecting, off the event loop)."""
        return target_from_connection(connection)
