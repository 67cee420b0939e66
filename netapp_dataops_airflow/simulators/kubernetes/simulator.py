"""The public facade: start a Kubernetes simulator from sync or async code."""

from __future__ import annotations

import secrets
from pathlib import Path

from aiohttp import web

from netapp_dataops_airflow.simulators._server import LoopbackSimulator
from netapp_dataops_airflow.simulators._tls import make_certificates

from .access import service_account_token
from .app import make_app
from .kubeconfig import write_kubeconfig
from .models import KubernetesBackend


class KubernetesSimulator(LoopbackSimulator):
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
        super().__init__(host=host, port=port, certificates=make_certificates() if tls else None)
        self.backend = backend or KubernetesBackend()
        self.token: str | None = secrets.token_urlsafe(24) if token is True else (token or None)

    @property
    def ca_pem(self) -> str | None:
        """The CA certificate (PEM) clients must trust, or None without TLS."""
        return self._certificates.ca_pem if self._certificates else None

    def write_kubeconfig(self, path: str | Path, *, inline_ca: bool = False) -> Path:
        """Write a kubeconfig for this simulator to ``path`` and return it."""
        return write_kubeconfig(
            Path(path), self.url, token=self.token, ca_pem=self.ca_pem, inline_ca=inline_ca
        )

    def service_account_token(self, namespace: str, name: str) -> str:
        """Mint a token for ServiceAccount ``namespace/name`` (created if missing): RBAC decides."""
        return service_account_token(self.backend, namespace, name)

    def make_app(self) -> web.Application:
        """Build the API server application for :attr:`backend`."""
        return make_app(self.backend, token=self.token)
