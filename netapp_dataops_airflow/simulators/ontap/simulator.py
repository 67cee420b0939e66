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
from urllib.parse import urlsplit

from aiohttp import web

from netapp_dataops_airflow.simulators._server import ServedSite, ThreadedServer, start_site
from netapp_dataops_airflow.simulators._tls import CertificateBundle, make_certificates
from netapp_dataops_airflow.simulators.ontap.app import abort_connections, make_app
from netapp_dataops_airflow.simulators.ontap.models import OntapBackend


class OntapSimulator:
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
        self.backend = OntapBackend(cluster_name=cluster_name, version=version)
        self.username = username
        self.password = password if password is not None else secrets.token_urlsafe(16)
        self._host = host
        self._port = port
        self._certificates: CertificateBundle = make_certificates(("localhost", "127.0.0.1", "::1"))
        self._threaded: ThreadedServer | None = None
        self._site: ServedSite | None = None
        self._ca_file: Path | None = None

    def __repr__(self) -> str:
        running = self._threaded is not None or self._site is not None
        return f"OntapSimulator(url={self.url if running else None!r}, username={self.username!r})"

    @property
    def ca_pem(self) -> str:
        """The PEM text of the CA that signed the server certificate."""
        return self._certificates.ca_pem

    @property
    def ca_file(self) -> Path:
        """A file holding :attr:`ca_pem`, for clients that only read files; removed on stop."""
        if self._ca_file is None:
            with tempfile.NamedTemporaryFile("w", prefix="ontap-sim-ca-", suffix=".pem", delete=False) as f:
                f.write(self.ca_pem)
            self._ca_file = Path(f.name)
        return self._ca_file

    @property
    def url(self) -> str:
        """The base URL, e.g. ``https://127.0.0.1:43211`` (the API is under ``/api``)."""
        if self._site is not None:
            return self._site.url
        if self._threaded is not None:
            return self._threaded.url
        raise RuntimeError("the simulator is not running; use it as a context manager or call start()")

    @property
    def port(self) -> int:
        """The bound port."""
        port = urlsplit(self.url).port
        assert port is not None
        return port

    def _app(self) -> web.Application:
        return make_app(self.backend, username=self.username, password=self.password)

    def start(self) -> OntapSimulator:
        """Serve from a background thread; return once the port is bound."""
        server = ThreadedServer(
            self._app, host=self._host, port=self._port, ssl_context=self._certificates.server_context()
        )
        self._threaded = server.start()
        return self

    def stop(self) -> None:
        """Stop the background server and remove the CA file."""
        if self._threaded is not None:
            if self._threaded.app is not None:
                self._threaded.loop.call_soon_threadsafe(abort_connections, self._threaded.app)
            self._threaded.stop()
            self._threaded = None
        self._remove_ca_file()

    async def astart(self) -> OntapSimulator:
        """Serve from the running event loop."""
        self._site = await start_site(
            self._app(), host=self._host, port=self._port, ssl_context=self._certificates.server_context()
        )
        return self

    async def astop(self) -> None:
        """Stop serving from the running event loop and remove the CA file."""
        if self._site is not None:
            abort_connections(self._site.runner.app)
            await self._site.runner.cleanup()
            self._site = None
        self._remove_ca_file()

    def _remove_ca_file(self) -> None:
        if self._ca_file is not None:
            self._ca_file.unlink(missing_ok=True)
            self._ca_file = None

    def __enter__(self) -> OntapSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> OntapSimulator:
        return await self.astart()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.astop()
