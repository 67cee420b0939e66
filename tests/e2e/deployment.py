"""The deployment the end-to-end tests run: every part a real process, stopped by pid at the end.

PostgreSQL (metadata) and Redis (Celery broker) from :mod:`netapp_dataops_airflow.testing.services`;
the simulators (``serve all``); and the demo's launcher, given CeleryExecutor with one Celery worker of
one slot, two triggerers, and settings that make a dead triggerer's or a dead worker's work move on
within seconds instead of minutes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from netapp_dataops_airflow.demo import processes
from netapp_dataops_airflow.demo.deployment import Deployment, LocalAirflow
from netapp_dataops_airflow.demo.run import EXAMPLE_DAGS, connection_environment, start_simulators
from netapp_dataops_airflow.testing.services import start_postgres, start_redis
from tests.e2e.api import E2EApi

ROOT = Path(__file__).resolve().parents[2]

TRIGGERER_HEARTBEAT_SEC = 1
TRIGGERER_HEALTH_CHECK_THRESHOLD = 5
"""Seconds without a heartbeat after which a triggerer counts as dead and its triggers move."""
TASK_HEARTBEAT_TIMEOUT = 10
"""Seconds without a heartbeat after which a running task (its worker killed) fails and is retried."""


def celery_settings(broker_url: str, database_url: str) -> dict[str, str]:
    """CeleryExecutor on Redis, results in the metadata database, one task at a time per worker.

    ``prefetch_multiplier=1`` so the one worker never reserves a second task behind the one it runs;
    the result backend names the driver (``db+postgresql+psycopg2``) because Celery's plain
    ``postgresql`` picks psycopg 3, which is not installed.
    """
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{database_url}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
    }


def quick_recovery_settings() -> dict[str, str]:
    """Triggerer and task heartbeats checked within seconds, so kill tests do not wait minutes."""
    return {
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": str(TRIGGERER_HEARTBEAT_SEC),
        "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": str(TRIGGERER_HEALTH_CHECK_THRESHOLD),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(TASK_HEARTBEAT_TIMEOUT),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC": "2",
        # One retry, soon: a try whose worker was killed is retried (the tests check tries stay 1 elsewhere).
        "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "1",
        "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "2",
        # Each triggerer names itself (tests.e2e.hostnames), so a deferred task says which one holds it.
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.e2e.hostnames.component_hostname",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


class Simulators:
    """The ``serve all`` process: its connections, control APIs and the XCP host's files."""

    def __init__(self, directory: Path, connections: dict[str, Any]) -> None:
        self.directory = directory
        self.connections = connections
        self.xcp_host = directory / "xcp-host"
        kubeconfig = yaml.safe_load(
            Path(connections["kubernetes_default"]["extra"]["kube_config_path"]).read_text()
        )
        cluster = kubeconfig["clusters"][0]["cluster"]
        self.kubernetes_url = cluster["server"]
        self._kubernetes_ca = _ca_text(
            cluster, Path(connections["kubernetes_default"]["extra"]["kube_config_path"])
        )
        self.ontap_url = connections["ontap_default"]["host"]
        self.cloud_sync_url = connections["cloud_sync_default"]["extra"]["api_url"]

    def _control(self, base: str, ca: str, method: str, path: str, body: Any = None) -> Any:
        context = ssl.create_default_context(cadata=ca)
        with httpx.Client(verify=context, timeout=30) as http:
            answer = http.request(method, f"{_origin(base)}/_simulator/{path}", json=body)
            answer.raise_for_status()
            return answer.json() if answer.content else None

    def ontap(self, method: str, path: str, body: Any = None) -> Any:
        """Call the ONTAP simulator's control API."""
        return self._control(
            self.ontap_url, self.connections["ontap_default"]["extra"]["ca_certificate"], method, path, body
        )

    def cloud_sync(self, method: str, path: str, body: Any = None) -> Any:
        """Call the Cloud Sync simulator's control API."""
        ca = self.connections["cloud_sync_default"]["extra"]["ca_certificate"]
        return self._control(self.cloud_sync_url, ca, method, path, body)

    def kubernetes(self, method: str, path: str, body: Any = None) -> Any:
        """Call the Kubernetes simulator's control API."""
        return self._control(self.kubernetes_url, self._kubernetes_ca, method, path, body)

    def xcp_export(self, location: str) -> Path:
        """Return (and create) the directory that stands for ``server:/export`` on the XCP host."""
        server, _, export = location.partition(":")
        root = json.loads((self.xcp_host / "xcp.json").read_text())["root"]
        path = Path(root, server, export.strip("/"))
        path.mkdir(parents=True, exist_ok=True)
        return path

    def xcp_configure(self, **changes: Any) -> None:
        """Change the XCP host's settings for runs started from now on (``bytes_per_second``, ...)."""
        config_file = self.xcp_host / "xcp.json"
        config = {**json.loads(config_file.read_text()), **changes}
        partial = config_file.with_suffix(".tmp")
        partial.write_text(json.dumps(config))
        partial.replace(config_file)

    def xcp_runs(self) -> list[Path]:
        """Every XCP run ever launched on the XCP host (each has a run directory with a ``pid`` file)."""
        return sorted(pid.parent for pid in self.xcp_host.rglob("pid"))


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}:{parsed.port}"


def _ca_text(cluster: dict[str, Any], kubeconfig: Path) -> str:
    import base64

    if "certificate-authority-data" in cluster:
        return base64.b64decode(cluster["certificate-authority-data"]).decode()
    return (kubeconfig.parent / cluster["certificate-authority"]).read_text()


@dataclasses.dataclass
class E2EDeployment:
    """A running deployment: Airflow's components, the simulators, an API client, where the files are."""

    directory: Path
    airflow: LocalAirflow
    api: E2EApi
    simulators: Simulators
    simulators_process: subprocess.Popen[bytes]

    @property
    def logs(self) -> Path:
        """Task logs of every run."""
        return self.airflow.deployment.logs


@contextlib.contextmanager
def started(directory: Path, *, dags_folder: Path = EXAMPLE_DAGS) -> Iterator[E2EDeployment]:
    """Start everything under ``directory``; stop every process (by pid and process group) at the end."""
    marker = f"e2e-{os.getpid()}-{time.time_ns()}"
    with start_postgres(directory / "postgres") as postgres, start_redis(directory / "redis") as redis:
        simulators_process, connections = start_simulators(directory, marker)
        airflow: LocalAirflow | None = None
        try:
            environment = {
                **connection_environment(connections),
                **celery_settings(redis.url, postgres.url),
                **quick_recovery_settings(),
            }
            deployment = Deployment(
                home=directory / "airflow",
                dags_folder=dags_folder,
                executor="CeleryExecutor",
                database_url=postgres.url,
                triggerers=2,
                celery_workers=1,
                environment=environment,
            )
            airflow = LocalAirflow(deployment, marker=marker)
            airflow.start(timeout=300)
            with E2EApi(airflow.api_url, airflow.username, airflow.password) as api:
                yield E2EDeployment(
                    directory,
                    airflow,
                    api,
                    Simulators(directory / "simulators", connections),
                    simulators_process,
                )
        finally:
            if airflow is not None:
                airflow.stop()
            processes.stop_groups([simulators_process], grace=10)
            processes.sweep(marker)
