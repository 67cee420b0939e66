"""The public facade: start a Kubernetes simulator from sync or async code."""

from __future__ import annotations

import secrets
from pathlib import Path
from types import TracebackType

from aiohttp import web

from netapp_dataops_airflow.simulators._server import ServedSite, ThreadedServer, start_site
from netapp_dataops_airflow.simulators._tls import CertificateBundle, make_certificates

from .app import make_app
from .kubeconfig import write_kubeconfig
from .models import KubernetesBackend


class KubernetesSimulator:
    """A kube-apiserver with the CSI snapshot controller and Trident behind it, on loopback.

    Sync (serves from a background thread)::

        with KubernetesSimulator() as sim:
            sim.write_kubeconfig(tmp_path / "kubeconfig")

    Async (serves in the running loop)::

        async with KubernetesSimulator(tls=True, token="secret") as sim:
            ...

    ``token=True`` makes up a random bearer token; ``sim.backend`` is the control API in Python.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        token: str | bool | None = None,
        backend: KubernetesBackend | None = None,
    ) -> None:
        self.backend = backend or KubernetesBackend()
        self.token: str | None = secrets.token_urlsafe(24) if token is True else (token or None)
        self._host, self._port = host, port
        self._certificates: CertificateBundle | None = make_certificates() if tls else None
        self._threaded: ThreadedServer | None = None
        self._site: ServedSite | None = None

    @property
    def ca_pem(self) -> str | None:
        """The CA certificate (PEM) clients must trust, or None without TLS."""
        return self._certificates.ca_pem if self._certificates else None

    @property
    def url(self) -> str:
        """The server URL, e.g. ``https://127.0.0.1:41234``."""
        if self._site is not None:
            return self._site.url
        if self._threaded is not None:
            return self._threaded.url
        raise RuntimeError("the simulator is not running")

    def write_kubeconfig(self, path: str | Path, *, inline_ca: bool = False) -> Path:
        """Write a kubeconfig for this simulator to ``path`` and return it."""
        return write_kubeconfig(
            Path(path), self.url, token=self.token, ca_pem=self.ca_pem, inline_ca=inline_ca
        )

    def _make_app(self) -> web.Application:
        return make_app(self.backend, token=self.token)

    # -- sync ----------------------------------------------------------------------------------

    def start(self) -> KubernetesSimulator:
        """Serve from a background thread; return once listening."""
        context = self._certificates.server_context() if self._certificates else None
        self._threaded = ThreadedServer(self._make_app, host=self._host, port=self._port, ssl_context=context)
        self._threaded.start()
        return self

    def stop(self) -> None:
        """Stop the background server."""
        if self._threaded is not None:
            self._threaded.stop()
            self._threaded = None

    def __enter__(self) -> KubernetesSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- async ---------------------------------------------------------------------------------

    async def start_async(self) -> KubernetesSimulator:
        """Serve in the running event loop."""
        context = self._certificates.server_context() if self._certificates else None
        self._site = await start_site(self._make_app(), host=self._host, port=self._port, ssl_context=context)
        return self

    async def stop_async(self) -> None:
        """Stop serving in the running event loop."""
        if self._site is not None:
            await self._site.runner.cleanup()
            self._site = None

    async def __aenter__(self) -> KubernetesSimulator:
        return await self.start_async()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop_async()
