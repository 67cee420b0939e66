"""Airflow ``netapp_ontap`` connections turned into ONTAP clients.

The connection names a cluster (or SVM) management address and an ONTAP user:

============  ===========================================================================
field         meaning
============  ===========================================================================
host          cluster or SVM management LIF, ``cluster.example.com``, ``10.0.0.5:8443``,
              ``[fd20::5]`` or ``https://cluster.example.com``; HTTPS is assumed
port          optional; 443 when neither it nor the host names a port
login         an ONTAP user allowed to run SnapMirror transfers
password      its password
extra         ``ca_certificate``: the CA that signed the cluster's certificate, as PEM text
              (so the triggerer needs no file); ``verify_ssl``: ``false`` turns TLS
              verification off (test systems only; on unless set explicitly);
              ``check_hostname``: ``false`` checks the chain but not the name (ONTAP's
              self-signed certificates often lack the cluster's address)
============  ===========================================================================

Any other extra is an error naming it (a misspelt ``verfy_ssl`` must not leave verification in an
unintended state), and so is a user name or password inside ``host`` (they belong in login and
password, and would otherwise end up in logs) or a port outside 1..65535.

On a worker the connection is read synchronously; in the triggerer it is read with Airflow's async
connection API, so the triggerer's event loop never blocks (see :mod:`.base`). Errors name the
connection and the field, never a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from netapp_dataops_airflow.clients._blocking import run_blocking
from netapp_dataops_airflow.clients._http import TlsSettings, tls_context
from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.clients._values import whole_number
from netapp_dataops_airflow.clients.ontap import OntapClient
from netapp_dataops_airflow.exceptions import InvalidInputError, NetAppDataOpsError
from netapp_dataops_airflow.hooks.base import ConnectionFields, Extras, NetAppHook

T = TypeVar("T")
CONN_TYPE = "netapp_ontap"
HOOK_NAME = "NetApp ONTAP"
#: The extras a ``netapp_ontap`` connection may hold (the connection form's fields).
EXTRA_FIELDS = frozenset({"ca_certificate", "verify_ssl", "check_hostname"})


@dataclass(frozen=True)
class OntapConnection:
    """The fields of a ``netapp_ontap`` connection, validated; the password never shows in a repr."""

    conn_id: str
    host: str
    username: str
    password: str = field(repr=False)
    ca_pem: str | None = field(default=None, repr=False)
    verify_ssl: bool = True
    check_hostname: bool = True

    @classmethod
    def from_connection(
        cls,
        conn_id: str,
        *,
        host: str | None,
        port: Any,
        login: str | None,
        password: str | None,
        extras: Mapping[str, Any],
    ) -> OntapConnection:
        """Validate a connection's fields; errors name the connection and the field, never a value."""
        name = f"connection {conn_id!r}"
        extra = Extras(conn_id, CONN_TYPE, extras, EXTRA_FIELDS)
        if not login:
            raise InvalidInputError(f"{name}: 'login' is empty; set it to an ONTAP user name")
        if not password:
            raise InvalidInputError(f"{name}: 'password' is empty; set the ONTAP user's password")
        ca_pem = extra.get("ca_certificate")
        if ca_pem is not None and (
            not isinstance(ca_pem, str) or "-----BEGIN CERTIFICATE-----" not in ca_pem
        ):
            raise InvalidInputError(
                f"{name}: 'ca_certificate' must be PEM text starting with -----BEGIN CERTIFICATE-----"
            )
        settings = cls(
            conn_id=conn_id,
            host=_address(name, host, port),
            username=login,
            password=password,
            ca_pem=ca_pem,
            verify_ssl=extra.flag("verify_ssl", default=True),
            check_hostname=extra.flag("check_hostname", default=True),
        )
        if ca_pem is not None and settings.verify_ssl:
            try:
                tls_context(settings.tls)
            except InvalidInputError:
                raise InvalidInputError(f"{name}: 'ca_certificate' is not a valid PEM certificate") from None
        return settings

    @property
    def tls(self) -> TlsSettings:
        """How the client verifies the cluster's certificate."""
        return TlsSettings(verify=self.verify_ssl, ca_pem=self.ca_pem, check_hostname=self.check_hostname)

    def client(self, *, retry: RetryPolicy | None = None) -> OntapClient:
        """Return a client for the cluster (its HTTP session is the event loop's shared one)."""
        return OntapClient(
            self.host,
            self.username,
            self.password,
            ca_pem=self.ca_pem,
            verify=self.verify_ssl,
            check_hostname=self.check_hostname,
            retry=retry,
        )


def _address(name: str, host: str | None, port: Any) -> str:
    """Combine host and port into ``host[:port]`` (or keep a URL), checking both."""
    text = (host or "").strip()
    if not text:
        raise InvalidInputError(f"{name}: 'host' is empty; set it to the cluster or SVM management address")
    if "@" in text:  # user:password@host; never repeat the text, it holds a secret
        raise InvalidInputError(
            f"{name}: 'host' contains a user name or password (user@host); give only the address, "
            "with the user in 'login' and the password in 'password'"
        )
    if any(character.isspace() for character in text):
        raise InvalidInputError(
            f"{name}: 'host' contains blanks; give one address such as cluster.example.com"
        )
    if port is not None:
        port = whole_number(port, f"{name}: 'port'", minimum=1, maximum=65535)
    url = text if "://" in text else f"https://{_bracketed(text)}"
    try:
        parts = urlsplit(url)
        named_port = parts.port
    except ValueError:
        raise InvalidInputError(
            f"{name}: 'host' is not a host name or address with an optional port"
        ) from None
    if (
        parts.scheme != "https"
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise InvalidInputError(
            f"{name}: 'host' must be a management address such as cluster.example.com or "
            "https://10.0.0.5:8443 (HTTPS only, no path)"
        )
    if named_port == 0:
        raise InvalidInputError(f"{name}: the port in 'host' must be between 1 and 65535, got 0")
    if port is not None:
        if named_port is not None and named_port != port:
            raise InvalidInputError(f"{name}: 'host' names port {named_port} but 'port' is {port}")
        hostname = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"https://{hostname}:{port}"
    return f"https://{parts.netloc}"


def _bracketed(host: str) -> str:
    """Put brackets around a bare IPv6 literal so it can carry a port."""
    return f"[{host}]" if host.count(":") > 1 and not host.startswith("[") else host


class OntapHook(NetAppHook[OntapConnection]):
    """Read a ``netapp_ontap`` connection into :class:`OntapConnection` and ONTAP clients.

    :param ontap_conn_id: the Airflow connection to use.
    """

    conn_name_attr = "ontap_conn_id"
    default_conn_name = "ontap_default"
    conn_type = CONN_TYPE
    #: The DataOps Toolkit's examples keep ONTAP credentials in an ``http`` connection (host, login,
    #: password); it works unchanged.
    also_accepted_conn_types = frozenset({"http"})
    hook_name = HOOK_NAME

    def __init__(self, ontap_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.ontap_conn_id = ontap_conn_id

    def settings(self, connection: ConnectionFields) -> OntapConnection:
        """Validate the connection's fields (see :meth:`OntapConnection.from_connection`)."""
        return OntapConnection.from_connection(
            connection.conn_id,
            host=connection.host,
            port=connection.port,
            login=connection.login,
            password=connection.password,
            extras=connection.extras,
        )

    def get_conn(self) -> OntapClient:
        """Return a client for the connection's cluster (use it inside an event loop)."""
        return self.get_connection_settings().client()

    def test_connection(self) -> tuple[bool, str]:
        """Check the address, certificate and credentials by reading the cluster (the UI's Test button)."""
        try:
            settings = self.get_connection_settings()
            cluster = run_blocking(lambda: settings.client().get_cluster())
        except NetAppDataOpsError as exc:
            return False, str(exc)
        return True, f"Connected to ONTAP cluster {cluster.name!r} ({cluster.version or 'version unknown'})"
