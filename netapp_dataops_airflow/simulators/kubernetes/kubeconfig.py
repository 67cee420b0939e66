"""Kubeconfig files that point real clients (kubectl, kubernetes, kubernetes_asyncio) at a simulator."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from .meta import JSON

CONTEXT = "simulator"


def kubeconfig(
    server: str, *, token: str | None = None, ca_file: Path | None = None, ca_pem: str | None = None
) -> JSON:
    """Build a kubeconfig for ``server``; the CA is given as a file path or inline (``-data``)."""
    cluster: JSON = {"server": server}
    if ca_file is not None:
        cluster["certificate-authority"] = str(ca_file)
    elif ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem.encode()).decode()
    user: JSON = {"token": token} if token else {}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": cluster}],
        "users": [{"name": CONTEXT, "user": user}],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": "default"}}
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(
    path: Path, server: str, *, token: str | None = None, ca_pem: str | None = None, inline_ca: bool = False
) -> Path:
    """Write a kubeconfig (mode 0600); with TLS the CA goes to ``<name>.ca.crt`` beside it unless inline."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ca_file = None
    if ca_pem is not None and not inline_ca:
        ca_file = path.with_name(path.name + ".ca.crt")
        ca_file.write_text(ca_pem)
    config = kubeconfig(server, token=token, ca_file=ca_file, ca_pem=ca_pem if inline_ca else None)
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
