"""Start a simulator in a process of its own and learn how to reach it.

The simulator must not share the measured process: its controllers and HTTP handling would
compete with the code under test for the event loop (and the GIL), and every stall it caused
would be blamed on the library.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SimulatorProcess:
    """A running ``python -m netapp_dataops_airflow.simulators serve ...`` and what it printed."""

    process: subprocess.Popen[str]
    url: str
    #: ``label: value`` lines it printed after the URL (``kubeconfig``, ``CA file``, ...).
    details: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        """Stop the simulator (SIGTERM, then SIGKILL if it hangs)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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
    """Start the Kubernetes simulator; its kubeconfig is written to ``workdir/kubeconfig``."""
    kubeconfig = workdir / "kubeconfig"
    return start_simulator(
        "kubernetes", "--kubeconfig", str(kubeconfig), log=workdir / "simulator.log", expect=("kubeconfig",)
    )


def ontap_simulator(workdir: Path, password: str) -> SimulatorProcess:
    """Start the ONTAP simulator (HTTPS, basic auth); ``details["CA file"]`` is the CA to trust."""
    log = workdir / "simulator.log"
    return start_simulator("ontap", "--password", password, log=log, expect=("CA file",))
