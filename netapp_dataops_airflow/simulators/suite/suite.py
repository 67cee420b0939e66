"""Start, seed and stop every simulator in one event loop; the Airflow connections to them."""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netapp_dataops_airflow.simulators.cloud_sync.simulator import CloudSyncSimulator
from netapp_dataops_airflow.simulators.kubernetes.simulator import KubernetesSimulator
from netapp_dataops_airflow.simulators.ontap.simulator import OntapSimulator
from netapp_dataops_airflow.simulators.suite import seed
from netapp_dataops_airflow.simulators.xcp.host import SimulatedXcpHost

# The connection ids the library's hooks use by default: the example DAGs name none.
KUBERNETES_CONN_ID = "kubernetes_default"
ONTAP_CONN_ID = "ontap_default"
CLOUD_SYNC_CONN_ID = "cloud_sync_default"
XCP_CONN_ID = "ssh_default"


@dataclass(frozen=True)
class Pace:
    """How long the simulated operations take, in seconds: long enough to watch a task defer.

    Also long enough for Airflow: a trigger that fires while the worker that deferred the task is
    still exiting (seconds on a loaded machine) can make the scheduler fail the task ("finished
    with state success, but the task instance's state attribute is queued").
    """

    kubernetes_step: float = 4.0
    pod: float = 10.0
    snapmirror_transfer: float = 6.0
    cloud_sync: float = 6.0
    xcp_copy: float = 6.0


class SimulatorSuite:
    """Kubernetes (TLS, bearer token), ONTAP, Cloud Sync and an XCP host, seeded, on loopback.

    Files clients need (the kubeconfig and its CA, the XCP host's tree) live under ``directory``::

        async with SimulatorSuite(tmp_path) as suite:
            env = suite.environment()  # {"AIRFLOW_CONN_KUBERNETES_DEFAULT": "{...}", ...}
    """

    def __init__(self, directory: Path, *, host: str = "127.0.0.1", pace: Pace | None = None) -> None:
        self.directory = directory
        self.pace = pace or Pace()
        self.kubernetes = KubernetesSimulator(host=host, tls=True, token=True)
        self.ontap = OntapSimulator(host=host)
        self.cloud_sync = CloudSyncSimulator(host=host)
        self.xcp = SimulatedXcpHost(directory / "xcp-host", progress_interval=1.0)
        self.xcp.server.host = host
        self.kubeconfig = directory / "kubeconfig"

    async def start(self) -> SimulatorSuite:
        """Seed every simulator and start serving (in the running loop)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        seed.seed_kubernetes(
            self.kubernetes.backend, step_seconds=self.pace.kubernetes_step, pod_seconds=self.pace.pod
        )
        seed.seed_ontap(self.ontap.backend, transfer_seconds=self.pace.snapmirror_transfer)
        seed.seed_cloud_sync(self.cloud_sync.backend, sync_seconds=self.pace.cloud_sync)
        seed.seed_xcp(self.xcp, copy_seconds=self.pace.xcp_copy)
        await self.kubernetes.start_async()
        await self.ontap.start_async()
        await self.cloud_sync.start_async()
        await self.xcp.server.start()
        self.kubernetes.write_kubeconfig(self.kubeconfig)
        return self

    async def stop(self) -> None:
        """Stop serving and end the XCP runs still going (they run detached, in sessions of their own)."""
        await self.xcp.server.stop()
        stop_detached_runs(self.xcp.directory)
        await self.cloud_sync.stop_async()
        await self.ontap.stop_async()
        await self.kubernetes.stop_async()

    async def __aenter__(self) -> SimulatorSuite:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def connections(self) -> dict[str, dict[str, Any]]:
        """Return the Airflow connections to the simulators, by connection id, as JSON-ready dicts.

        The HTTPS simulators' CAs travel as PEM text in the connection, so neither worker nor
        triggerer needs a file; the Kubernetes connection names the kubeconfig file (its CA beside it).
        """
        return {
            KUBERNETES_CONN_ID: {
                "conn_type": "kubernetes",
                "extra": {"kube_config_path": str(self.kubeconfig), "namespace": seed.NAMESPACE},
            },
            ONTAP_CONN_ID: {
                "conn_type": "netapp_ontap",
                "host": self.ontap.url,
                "login": self.ontap.username,
                "password": self.ontap.password,
                "extra": {"ca_certificate": self.ontap.ca_pem},
            },
            CLOUD_SYNC_CONN_ID: {
                "conn_type": "netapp_cloud_sync",
                "password": self.cloud_sync.refresh_token,
                "extra": {
                    "api_url": self.cloud_sync.api_url,
                    "token_url": self.cloud_sync.token_url,
                    "account_id": seed.CLOUD_SYNC_ACCOUNT,
                    "ca_certificate": self.cloud_sync.ca_pem,
                },
            },
            XCP_CONN_ID: self.xcp.connection(),
        }

    def endpoints(self) -> dict[str, str]:
        """Where each simulator listens (its control API is under ``/_simulator/``), for people."""
        return {
            "kubernetes": self.kubernetes.url,
            "ontap": self.ontap.url,
            "cloud_sync": self.cloud_sync.url,
            "xcp (ssh)": f"{self.xcp.server.host}:{self.xcp.server.port}",
        }


def stop_detached_runs(host_directory: Path) -> None:
    """TERM, by process group, every run under ``host_directory`` that has no exit code yet.

    A run's ``pid`` file holds the id of its shell, which leads its own session and process group.
    """
    for pid_file in host_directory.rglob("pid"):
        if (pid_file.parent / "exit_code").exists():
            continue
        try:
            pgid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            continue
        if pgid > 1:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGTERM)
