"""Airflow ``netapp_cloud_sync`` connections turned into Cloud Sync clients.

============  ===========================================================================
field         meaning
============  ===========================================================================
password      the Cloud Sync (BlueXP) refresh token, from
              https://services.cloud.netapp.com/refresh-token
extra         ``account_id``: the account holding the relationships (default: the user's
              only account); ``api_url`` (default ``https://api.cloudsync.netapp.com/api``)
              and ``token_url`` (default NetApp's Auth0 token endpoint), for a proxy or a
              test system; ``ca_certificate``: a CA to trust as PEM text; ``verify_ssl``:
              ``false`` turns TLS verification off (test systems only)
============  ===========================================================================

Connections of type ``http`` with the refresh token in the password field, as the DataOps
Toolkit's examples create them, are read the same way. Errors name the connection and the field,
never the token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from netapp_dataops_airflow.clients._blocking import run_blocking
from netapp_dataops_airflow.clients._http import TlsSettings, tls_context
from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.clients.cloud_sync import DEFAULT_API_URL, CloudSyncClient
from netapp_dataops_airflow.clients.cloud_sync_tokens import DEFAULT_TOKEN_URL, split_url
from netapp_dataops_airflow.exceptions import InvalidInputError, NetAppDataOpsError
from netapp_dataops_airflow.hooks.base import ConnectionFields, Extras, NetAppHook

CONN_TYPE = "netapp_cloud_sync"
HOOK_NAME = "NetApp Cloud Sync"
#: The extras a ``netapp_cloud_sync`` connection may hold (the connection form's fields).
EXTRA_FIELDS = frozenset({"account_id", "api_url", "token_url", "ca_certificate", "verify_ssl"})


@dataclass(frozen=True)
class CloudSyncConnection:
    """The fields of a Cloud Sync connection, validated; the refresh token never shows in a repr."""

    conn_id: str
    refresh_token: str = field(repr=False)
    account_id: str | None = None
    api_url: str = DEFAULT_API_URL
    token_url: str = DEFAULT_TOKEN_URL
    ca_pem: str | None = field(default=None, repr=False)
    verify_ssl: bool = True

    @classmethod
    def from_connection(
        cls, conn_id: str, conn_type: str, *, password: str | None, extras: Mapping[str, Any]
    ) -> CloudSyncConnection:
        """Validate a connection's fields; errors name the connection and the field, never a value."""
        name = f"connection {conn_id!r}"
        extra = Extras(conn_id, conn_type, extras, EXTRA_FIELDS)
        if not password or not password.strip():
            raise InvalidInputError(
                f"{name}: 'password' is empty; put the Cloud Sync refresh token there "
                "(create one at https://services.cloud.netapp.com/refresh-token)"
            )
        ca_pem = extra.get("ca_certificate")
        if ca_pem is not None and (
            not isinstance(ca_pem, str) or "-----BEGIN CERTIFICATE-----" not in ca_pem
        ):
            raise InvalidInputError(
                f"{name}: 'ca_certificate' must be PEM text starting with -----BEGIN CERTIFICATE-----"
            )
        urls = {}
        for key, default in (("api_url", DEFAULT_API_URL), ("token_url", DEFAULT_TOKEN_URL)):
            url = extra.text(key) or default
            try:
                split_url(url, key)
            except InvalidInputError:
                raise InvalidInputError(f"{name}: '{key}' must look like https://host[:port]/path") from None
            urls[key] = url.rstrip("/")
        settings = cls(
            conn_id=conn_id,
            refresh_token=password.strip(),
            account_id=extra.text("account_id"),
            api_url=urls["api_url"],
            token_url=urls["token_url"],
            ca_pem=ca_pem,
            verify_ssl=extra.flag("verify_ssl", default=True),
        )
        if ca_pem is not None and settings.verify_ssl:
            try:
                tls_context(settings.tls)
            except InvalidInputError:
                raise InvalidInputError(f"{name}: 'ca_certificate' is not a valid PEM certificate") from None
        return settings

    @property
    def tls(self) -> TlsSettings:
        """How the client verifies the service's certificate."""
        return TlsSettings(verify=self.verify_ssl, ca_pem=self.ca_pem)

    def client(self, *, retry: RetryPolicy | None = None) -> CloudSyncClient:
        """Return a client of the account (sessions and tokens are the event loop's shared ones)."""
        return CloudSyncClient(
            self.refresh_token,
            account_id=self.account_id,
            api_url=self.api_url,
            token_url=self.token_url,
            ca_pem=self.ca_pem,
            verify=self.verify_ssl,
            retry=retry,
        )


class CloudSyncHook(NetAppHook[CloudSyncConnection]):
    """Read a ``netapp_cloud_sync`` (or DataOps-Toolkit-style ``http``) connection into Cloud Sync clients.

    :param cloud_sync_conn_id: the Airflow connection to use.
    """

    conn_name_attr = "cloud_sync_conn_id"
    default_conn_name = "cloud_sync_default"
    conn_type = CONN_TYPE
    also_accepted_conn_types = frozenset({"http"})
    hook_name = HOOK_NAME

    def __init__(self, cloud_sync_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.cloud_sync_conn_id = cloud_sync_conn_id

    def settings(self, connection: ConnectionFields) -> CloudSyncConnection:
        """Validate the connection's fields (see :meth:`CloudSyncConnection.from_connection`)."""
        return CloudSyncConnection.from_connection(
            connection.conn_id, connection.conn_type, password=connection.password, extras=connection.extras
        )

    def get_conn(self) -> CloudSyncClient:
        """Return a client for the connection's account (use it inside an event loop)."""
        return self.get_connection_settings().client()

    def test_connection(self) -> tuple[bool, str]:
        """Check the refresh token and the account by listing relationships (the UI's Test button)."""
        try:
            settings = self.get_connection_settings()

            async def check() -> tuple[str, int]:
                client = settings.client()
                return await client.account_id(), len(await client.list_relationships())

            account, count = run_blocking(check)
        except NetAppDataOpsError as exc:
            return False, str(exc)
        return True, f"Connected to Cloud Sync account {account!r} ({count} relationships)"
