"""An OpenSSH sshd on loopback and an XCP host behind it, for the XCP tests (conftest holds fixtures)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from netapp_dataops_airflow.simulators.xcp import XcpConfig

SSHD = shutil.which("sshd") or next(
    (p for p in ("/usr/sbin/sshd", "/usr/local/sbin/sshd") if os.path.exists(p)), None
)
SSHD_MISSING = (
    "OpenSSH sshd not found: install openssh-server (.ci/run does) to run the XCP tests over real SSH"
)
CONN_ID = "xcp_sim"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def keygen(path: Path) -> tuple[str, str]:
    """An ed25519 key pair: (private key text, public key line)."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.read_text(), path.with_suffix(".pub").read_text().strip()


def xcp_executable() -> list[str]:
    """The simulator's console script next to this Python, else the module."""
    script = Path(sys.executable).with_name("xcp")
    return (
        [str(script)]
        if script.exists()
        else [sys.executable, "-m", "netapp_dataops_airflow.simulators.xcp.main"]
    )


@dataclass
class Sshd:
    """A running sshd of the test session: its port, keys and the XCP wrapper on its users' PATH."""

    directory: Path
    port: int
    user: str
    user_key: str
    host_key: str
    config_file: Path  # the simulator's configuration; tests rewrite it per XCP host
    process: subprocess.Popen[bytes]

    @property
    def bin_dir(self) -> Path:
        return self.directory / "bin"

    def stop(self) -> None:
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        if self.process.poll() is None:
            self.process.kill()


def start_sshd(directory: Path) -> Sshd:
    """Start sshd on 127.0.0.1 with its own host key, one authorised user key and the xcp wrapper."""
    assert SSHD is not None
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    keygen(directory / "host_ed25519")
    user_key, user_public = keygen(directory / "user_ed25519")
    host_public = (directory / "host_ed25519.pub").read_text().strip()
    (directory / "authorized_keys").write_text(user_public + "\n")
    os.chmod(directory / "authorized_keys", 0o600)
    config_file = directory / "xcp.json"
    bin_dir = directory / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "xcp"
    command = " ".join(f"'{part}'" for part in xcp_executable())
    wrapper.write_text(f"#!/bin/sh\nexport XCP_SIM_CONFIG='{config_file}'\nexec {command} \"$@\"\n")
    wrapper.chmod(0o755)
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory, when run as root
    port = free_port()
    user = (
        os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    )
    (directory / "sshd_config").write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {directory / 'host_ed25519'}",
                f"PidFile {directory / 'sshd.pid'}",
                f"AuthorizedKeysFile {directory / 'authorized_keys'}",
                "StrictModes no",
                "UsePAM no",
                "PermitRootLogin yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                f"AllowUsers {user}",
                f"SetEnv PATH={bin_dir}:/usr/local/bin:/usr/bin:/bin",
                "MaxSessions 1000",
                "MaxStartups 100:30:200",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    with open(directory / "sshd.log", "wb") as sshd_log:
        process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(directory / "sshd_config")], stdout=sshd_log, stderr=sshd_log
        )
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {(directory / 'sshd.log').read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
            if probe.recv(4).startswith(b"SSH-"):
                break
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("sshd did not answer within 15 s")
        time.sleep(0.05)
    return Sshd(directory, port, user, user_key, host_public, config_file, process)


@dataclass
class XcpHost:
    """A simulated XCP host behind the session's sshd: exports under ``root``, runs under ``runs``."""

    sshd: Sshd
    config: XcpConfig
    runs: Path

    def export(self, server: str, export: str) -> Path:
        path = Path(self.config.root, server, export.strip("/"))
        path.mkdir(parents=True, exist_ok=True)
        return path

    def configure(self, **changes: Any) -> None:
        """Change the simulator's knobs (speed, failure) for the runs started from now on."""
        self.config = replace(self.config, **changes)
        self.config.save(self.sshd.config_file)

    def connection(self, **extra: Any) -> dict[str, Any]:
        return {
            "conn_type": "ssh",
            "host": "127.0.0.1",
            "port": self.sshd.port,
            "login": self.sshd.user,
            "extra": {"private_key": self.sshd.user_key, "host_key": self.sshd.host_key, **extra},
        }

    def connection_env(self, **extra: Any) -> str:
        return json.dumps(self.connection(**extra))


def make_host(sshd: Sshd, directory: Path) -> XcpHost:
    config = XcpConfig(
        root=str(directory / "nfs"),
        catalog=str(directory / "catalog"),
        xcp_home=str(directory / "xcp-home"),
        progress_interval=0.2,
    )
    config.save(sshd.config_file)
    return XcpHost(sshd, config, directory / "runs")


def process_group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def tree(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` with its bytes, by relative path."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
