"""A whole simulated XCP host: exports, catalog and logs on disk, the ``xcp`` executable, SSH.

:class:`SimulatedXcpHost` lays out a directory (``nfs/<server>/<export>`` for the NFS exports,
``catalog/``, ``xcp-home/``, ``runs/``, ``bin/xcp``), writes the simulator's configuration, makes
a user key pair and serves SSH with :class:`~.ssh_server.EmbeddedSshServer`. ``connection()``
gives the Airflow ``ssh`` connection to it, with the host key pinned.
"""

from __future__ import annotations

import dataclasses
import getpass
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import asyncssh

from netapp_dataops_airflow.simulators.xcp.config import ENV_CONFIG, XcpConfig
from netapp_dataops_airflow.simulators.xcp.ssh_server import EmbeddedSshServer


def xcp_command() -> list[str]:
    """Return the simulator's ``xcp`` console script beside this Python (else the module, run by it)."""
    script = Path(sys.executable).with_name("xcp")
    if script.exists():
        return [str(script)]
    found = shutil.which("xcp")
    return [found] if found else [sys.executable, "-m", "netapp_dataops_airflow.simulators.xcp.main"]


class SimulatedXcpHost:
    """An XCP host under ``directory``, reached over an embedded SSH server on loopback.

    :param progress_interval: seconds between xcp's progress lines (XCP: 5).
    """

    def __init__(self, directory: Path, *, user: str | None = None, progress_interval: float = 1.0) -> None:
        self.directory = directory
        self.user = user or getpass.getuser()
        directory.mkdir(parents=True, exist_ok=True)
        self.runs = directory / "runs"
        self.config_file = directory / "xcp.json"
        self.config = XcpConfig(
            root=str(directory / "nfs"),
            catalog=str(directory / "catalog"),
            xcp_home=str(directory / "xcp-home"),
            progress_interval=progress_interval,
        )
        self.config.save(self.config_file)
        bin_dir = directory / "bin"
        bin_dir.mkdir(exist_ok=True)
        wrapper = bin_dir / "xcp"
        command = " ".join(shlex.quote(part) for part in xcp_command())
        wrapper.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
        wrapper.chmod(0o755)
        self.user_key = asyncssh.generate_private_key("ssh-ed25519")
        self.server = EmbeddedSshServer(
            user=self.user,
            home=directory,
            authorized_key=bytes(self.user_key.export_public_key()).decode(),
            environment={
                "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
                ENV_CONFIG: str(self.config_file),
            },
        )

    def export(self, server: str, export: str) -> Path:
        """Return (and create) the directory that stands for ``server:/export``."""
        path = Path(self.config.root, server, export.strip("/"))
        path.mkdir(parents=True, exist_ok=True)
        return path

    def configure(self, **changes: Any) -> None:
        """Change the simulator's knobs (``bytes_per_second``, ``fail_after_files``, ...) for new runs."""
        self.config = dataclasses.replace(self.config, **changes)
        self.config.save(self.config_file)

    def connection(self) -> dict[str, Any]:
        """Return the Airflow ``ssh`` connection to this host (private key inline, host key pinned)."""
        return {
            "conn_type": "ssh",
            "host": self.server.host,
            "port": self.server.port,
            "login": self.user,
            "extra": {
                "private_key": bytes(self.user_key.export_private_key()).decode(),
                "host_key": self.server.host_key,
            },
        }

    def __enter__(self) -> SimulatedXcpHost:
        self.server.start_in_thread()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.stop_thread()
