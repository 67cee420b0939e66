"""The public face of the ONTAP simulator: a cluster on loopback HTTPS, sync or async.

Synchronous clients (``netapp-ontap``, ``requests``) need the server in another thread::

    with OntapSimulator() as ontap:
        ontap.backend.add_relationship("src:vol1", "dst:vol1_dst")
        HostConnection("127.0.0.1", port=ontap.port, username=ontap.username,
                       password=ontap.password, verify=ontap.ca_file)

Async tests run it in their own event loop::

    async with OntapSimulator() as ontap:
        ...
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from aiohttp import web

from netapp_dataops_airflow.simulators._server import LoopbackSimulator
from netapp_dataops_airflow.simulators._tls import CertificateBundle, make_certificates
from netapp_dataops_airflow.simulators.ontap.app import make_app
from netapp_dataops_airflow.simulators.ontap.models import OntapBackend


class OntapSimulator(LoopbackSimulator):
    """A simulated ONTAP cluster served over HTTPS with basic auth.

    :param username: the one user the cluster accepts.
    :param password: its password; random when not given (read it from :attr:`password`).
    :param host: the loopback address to bind.
    :param port: the port; 0 picks a free one.
    :param cluster_name: the name ``GET /api/cluster`` reports.
    :param version: the ONTAP release it reports, e.g. ``"9.14.1"``.
    """

    def __init__(
        self,
        *,
        username: str = "admin",
        password: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        cluster_name: str = "sim-cluster",
        version: str = "9.14.1",
    ) -> None:
        self._bundle: CertificateBundle = make_certificates(("localhost", "127.0.0.1", "::1"))
        super().__init__(host=host, port=port, certificates=self._bundle)
        self.backend = OntapBackend(cluster_name=cluster_name, version=version)
        self.username = username
        self.password = password if password is not None else secrets.token_urlsafe(16)
        self._ca_file: Path | None = None

    def __repr__(self) -> str:
        running = self._threaded is not None or self._site is not None
        return f"OntapSimulator(url={self.url if running else None!r}, username={self.username!r})"

    @property
    def ca_pem(self) -> str:
        """The PEM text of the CA that signed the server certificate."""
        return self._bundle.ca_pem

    @property
    def ca_file(self) -> Path:
        """A file holding :attr:`ca_pem`, for clients that only read files; removed on stop."""
        if self._ca_file is None:
            with tempfile.NamedTemporaryFile("w", prefix="ontap-sim-ca-", suffix=".pem", delete=False) as f:
                f.write(self.ca_pem)
            self._ca_file = Path(f.name)
        return self._ca_file

    def make_app(self) -> web.Application:
        """Build the cluster's application, accepting :attr:`username` and :attr:`password`."""
        return make_app(self.backend, username=self.username, password=self.password)

    def _stopped(self) -> None:
        if self._ca_file is not None:
            self._ca_file.unlink(missing_ok=True)
            self._ca_file = None
