"""Start a simulator in a process of its own and learn how to reach it.

The simulator must not share the measured process: its controllers and HTTP handling would
compete with the code under test for the event loop (and the GIL), and every stall it caused
would be blamed on the library.
"""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml


@dataclass
class SimulatorProcess:
    """A running ``python -m netapp_dataops_airflow.simulators serve ...`` and what it printed."""

    process: subprocess.Popen[str]
    url: str
    #: ``label: value`` lines it printed after the URL (``kubeconfig``, ``CA file``, ...).
    details: dict[str, str] = field(default_factory=dict)

    def session(self, **connector: Any) -> aiohttp.ClientSession:
        """Open an HTTP session on the simulator, trusting its CA (``details["CA file"]``)."""
        context = ssl.create_default_context(cafile=self.details["CA file"])
        return aiohttp.ClientSession(self.url, connector=aiohttp.TCPConnector(ssl=context, **connector))

    def stop(self) -> None:
        """Stop the simulator (SIGTERM, then SIGKILL if it hangs)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def control(http: aiohttp.ClientSession, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    """Call a simulator's control API (or its API) and return the JSON answer."""
    async with http.request(method, path, json=body, **kw) as response:
        response.raise_for_status()
        return await response.json()


def snapshot_manifest(namespace: str, pvc: str, name: str) -> dict[str, Any]:
    """Build a VolumeSnapshot of ``pvc`` with the simulator's CSI snapshot class, as a client POSTs it."""
    return {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"source": {"persistentVolumeClaimName": pvc}, "volumeSnapshotClassName": "csi-snapclass"},
    }


def sync_relationship(index: int, account: str) -> dict[str, Any]:
    """Build the Cloud Sync simulator's seed of relationship ``index`` (NFS export to S3 prefix)."""
    return {
        "source": {"protocol": "nfs", "host": "10.0.0.5", "export": f"/vol{index}"},
        "target": {"protocol": "s3", "bucket": "lake", "prefix": f"vol{index}/"},
        "account_id": account,
    }


def start_simulator(
    name: str, *options: str, log: Path, expect: tuple[str, ...] = (), timeout: float = 60.0
) -> SimulatorProcess:
    """Serve simulator ``name`` on a free loopback port; wait for the ``expect`` detail lines.

    Its output goes to the file ``log`` (read here for the address), never to a pipe nobody reads.
    """
    command = [sys.executable, "-m", "netapp_dataops_airflow.simulators", "serve", name, *options]
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True)
    url, details = "", {}
    give_up = time.monotonic() + timeout
    while not url or not all(label in details for label in expect):
        if process.poll() is not None or time.monotonic() > give_up:
            process.kill()
            raise RuntimeError(f"the {name} simulator did not start; see {log}")
        time.sleep(0.05)
        for line in log.read_text().splitlines():
            if "listening on" in line:
                url = line.split()[-1]
            elif ":" in line:
                label, _, value = line.strip().partition(":")
                details[label.strip()] = value.strip()
    return SimulatorProcess(process, url, details)


def kubernetes_simulator(workdir: Path) -> SimulatorProcess:
    """Start the Kubernetes simulator over HTTPS, as API servers are.

    Its kubeconfig is written to ``workdir/kubeconfig``; ``details["CA file"]`` is the CA it
    names, for the benchmark's own requests. Plain HTTP would flatter the
    designs that open connections often, and make ``kubernetes_asyncio`` load the system's CA
    bundle, which no real kubeconfig does.
    """
    kubeconfig = workdir / "kubeconfig"
    simulator = start_simulator(
        "kubernetes",
        *("--tls", "--kubeconfig", str(kubeconfig)),
        log=workdir / "simulator.log",
        expect=("kubeconfig",),
    )
    try:
        cluster = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]
        simulator.details["CA file"] = cluster["certificate-authority"]
    except BaseException:
        simulator.stop()  # the caller never gets it to stop
        raise
    return simulator


def ontap_simulator(workdir: Path, password: str) -> SimulatorProcess:
    """Start the ONTAP simulator (HTTPS, basic auth); ``details["CA file"]`` is the CA to trust."""
    log = workdir / "simulator.log"
    return start_simulator("ontap", "--password", password, log=log, expect=("CA file",))
