"""The public face of the Cloud Sync simulator: the token endpoint and the API on loopback HTTPS.

One server answers both: ``token_url`` (``.../oauth/token``, Auth0's path) and ``api_url``
(``.../api``, the API's). Synchronous clients need it in another thread::

    with CloudSyncSimulator() as cloud_sync:
        rel = cloud_sync.backend.add_relationship(nfs, s3)
        requests.post(cloud_sync.token_url, json={...}, verify=cloud_sync.ca_file)

Async tests run it in their own event loop (``async with CloudSyncSimulator() as cloud_sync``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from aiohttp import web

from netapp_dataops_airflow.simulators._server import LoopbackSimulator
from netapp_dataops_airflow.simulators._tls import CertificateBundle, make_certificates
from netapp_dataops_airflow.simulators.cloud_sync.app import API_PREFIX, TOKEN_PATH, make_app
from netapp_dataops_airflow.simulators.cloud_sync.models import CloudSyncBackend


class CloudSyncSimulator(LoopbackSimulator):
    """A simulated Cloud Sync service with one refresh token registered (:attr:`refresh_token`).

    :param refresh_token: the refresh token it accepts; random when not given.
    :param host: the loopback address to bind.
    :param port: the port; 0 picks a free one.
    """

    def __init__(self, *, refresh_token: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self._bundle: CertificateBundle = make_certificates(("localhost", "127.0.0.1", "::1"))
        super().__init__(host=host, port=port, certificates=self._bundle)
        self.backend = CloudSyncBackend()
        self.refresh_token = self.backend.add_refresh_token(refresh_token)
        self._ca_file: Path | None = None

    def __repr__(self) -> str:
        running = self._threaded is not None or self._site is not None
        return f"CloudSyncSimulator(url={self.url if running else None!r})"

    @property
    def token_url(self) -> str:
        """The token endpoint (Auth0's ``/oauth/token``)."""
        return self.url + TOKEN_PATH

    @property
    def api_url(self) -> str:
        """The API's base URL (``.../api``)."""
        return self.url + API_PREFIX

    @property
    def ca_pem(self) -> str:
        """The PEM text of the CA that signed the server certificate."""
        return self._bundle.ca_pem

    @property
    def ca_file(self) -> Path:
        """A file holding :attr:`ca_pem`, for clients that only read files; removed on stop."""
        if self._ca_file is None:
            with tempfile.NamedTemporaryFile("w", prefix="cloud-sync-ca-", suffix=".pem", delete=False) as f:
                f.write(self.ca_pem)
            self._ca_file = Path(f.name)
        return self._ca_file

    def make_app(self) -> web.Application:
        """Build the service's application."""
        return make_app(self.backend)

    def _stopped(self) -> None:
        if self._ca_file is not None:
            self._ca_file.unlink(missing_ok=True)
            self._ca_file = None
