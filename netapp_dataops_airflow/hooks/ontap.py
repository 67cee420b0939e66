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

On a worker the connection is read synchronously; in the triggerer it is read with Airflow's async
connection API, so the triggerer's event loop never blocks. Errors name the connection and the
field, never a secret.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from netapp_dataops_airflow.clients._blocking import run_blocking
from netapp_dataops_airflow.clients._http import TlsSettings, tls_context
from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.clients.ontap import OntapClient
from netapp_dataops_airflow.exceptions import InvalidInputError, NetAppDataOpsError

T = TypeVar("T")
CONN_TYPE = "netapp_ontap"
HOOK_NAME = "NetApp ONTAP"
_LEGACY_PREFIX = f"extra__{CONN_TYPE}__"
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


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
        port: int | None,
        login: str | None,
        password: str | None,
        extras: Mapping[str, Any],
    ) -> OntapConnection:
        """Validate a connection's fields; errors name the connection and the field, never a value."""
        name = f"connection {conn_id!r}"

        def extra(key: str) -> Any:
            value = extras.get(key)
            return extras.get(_LEGACY_PREFIX + key) if value in (None, "") else value

        if not login:
            raise InvalidInputError(f"{name}: 'login' is empty; set it to an ONTAP user name")
        if not password:
            raise InvalidInputError(f"{name}: 'password' is empty; set the ONTAP user's password")
        ca_pem = extra("ca_certificate") or None
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
            verify_ssl=_flag(name, "verify_ssl", extra("verify_ssl")),
            check_hostname=_flag(name, "check_hostname", extra("check_hostname")),
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

    @property
    def cluster_key(self) -> tuple[str, str, str, TlsSettings]:
        """What identifies the cluster and the identity used on it (for sharing; never log it)."""
        return (self.host, self.username, self.password, self.tls)

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

    @contextlib.asynccontextmanager
    async def session_client(self) -> AsyncIterator[OntapClient]:
        """Yield a client for one-off calls (the loop registry closes its session, not the caller)."""
        yield self.client()

    def run(self, work: Callable[[OntapClient], Awaitable[T]]) -> T:
        """Run ``work`` with a client from synchronous code (a worker), with :func:`run_blocking`."""
        return run_blocking(lambda: work(self.client()))


def _flag(name: str, key: str, value: Any) -> bool:
    """Read an on/off extra that defaults to on; only an explicit false turns it off."""
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in (*_TRUE, *_FALSE):
        return value.strip().lower() in _TRUE
    raise InvalidInputError(f"{name}: '{key}' must be true or false")


def _address(name: str, host: str | None, port: int | None) -> str:
    """Combine host and port into ``host[:port]`` (or keep a URL), checking both."""
    text = (host or "").strip()
    if not text:
        raise InvalidInputError(f"{name}: 'host' is empty; set it to the cluster or SVM management address")
    url = text if "://" in text else f"https://{_bracketed(text)}"
    try:
        parts = urlsplit(url)
        named_port = parts.port
    except ValueError:
        raise InvalidInputError(
            f"{name}: 'host' is not a host name or address with an optional port"
        ) from None
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise InvalidInputError(
            f"{name}: 'host' must be a management address such as cluster.example.com or "
            "https://10.0.0.5:8443 (HTTPS only, no path)"
        )
    if port:
        if named_port is not None and named_port != port:
            raise InvalidInputError(f"{name}: 'host' names port {named_port} but 'port' is {port}")
        if not 0 < port < 65536:
            raise InvalidInputError(f"{name}: 'port' must be between 1 and 65535")
        hostname = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"https://{hostname}:{port}"
    return f"https://{parts.netloc}"


def _bracketed(host: str) -> str:
    """Put brackets around a bare IPv6 literal so it can carry a port."""
    return f"[{host}]" if host.count(":") > 1 and not host.startswith("[") else host


class OntapHook(BaseHook):
    """Read a ``netapp_ontap`` connection into :class:`OntapConnection` and ONTAP clients.

    :param ontap_conn_id: the Airflow connection to use.
    """

    conn_name_attr = "ontap_conn_id"
    default_conn_name = "ontap_default"
    conn_type = CONN_TYPE
    hook_name = HOOK_NAME

    def __init__(self, ontap_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.ontap_conn_id = ontap_conn_id

    def _settings(self, conn: Any, extras: Mapping[str, Any]) -> OntapConnection:
        return OntapConnection.from_connection(
            self.ontap_conn_id,
            host=conn.host,
            port=conn.port,
            login=conn.login,
            password=conn.password,
            extras=extras,
        )

    def get_connection_settings(self) -> OntapConnection:
        """Read and validate the connection (on a worker)."""
        try:
            conn = self.get_connection(self.ontap_conn_id)
        except AirflowNotFoundException:
            raise InvalidInputError(_undefined(self.ontap_conn_id)) from None
        return self._settings(conn, conn.extra_dejson)

    async def aget_connection_settings(self) -> OntapConnection:
        """Read and validate the connection without blocking the event loop (in a trigger)."""
        try:
            conn = await get_async_connection(self.ontap_conn_id, hook=self)
        except AirflowNotFoundException:
            raise InvalidInputError(_undefined(self.ontap_conn_id)) from None
        return self._settings(conn, await get_async_extra_dejson(conn))

    def get_conn(self) -> OntapClient:
        """Return a client for the connection's cluster (use it inside an event loop)."""
        return self.get_connection_settings().client()

    def test_connection(self) -> tuple[bool, str]:
        """Check the address, certificate and credentials by reading the cluster (the UI's Test button)."""
        try:
            cluster = self.get_connection_settings().run(lambda client: client.get_cluster())
        except NetAppDataOpsError as exc:
            return False, str(exc)
        return True, f"Connected to ONTAP cluster {cluster.name!r} ({cluster.version or 'version unknown'})"


def _undefined(conn_id: str) -> str:
    return (
        f"connection {conn_id!r} is not defined; create a {CONN_TYPE} connection with that id where the "
        "workers and the triggerer can read it"
    )
