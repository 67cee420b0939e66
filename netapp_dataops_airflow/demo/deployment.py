"""A local Airflow deployment as separate processes: settings in, running components out.

:class:`Deployment` says what to run (executor, metadata database, how many triggerers and Celery
workers, extra environment such as ``AIRFLOW_CONN_*`` variables); :class:`LocalAirflow` migrates
the database, starts ``airflow api-server``, ``scheduler``, ``dag-processor`` and the triggerers
(and ``celery worker`` s) each in a process group of its own, waits until the API reports every
component healthy, and stops them all, descendants included::

    deployment = Deployment(home=tmp / "airflow", dags_folder=dags)
    with LocalAirflow(deployment) as airflow:
        print(airflow.api_url, airflow.username, airflow.password)

The components share one configuration through environment variables (no ``airflow.cfg`` edits):
one JWT secret, so tokens the API server issues to tasks are accepted everywhere; free ports for
the API and for each log server, so two deployments on one machine never collide. The launcher
itself never imports Airflow: it runs the ``airflow`` command of the Python it runs on.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

from netapp_dataops_airflow.demo import processes

USERNAME = "admin"
COMPONENT = "NETAPP_DATAOPS_AIRFLOW_COMPONENT"
"""The environment variable that names the component a process belongs to (``triggerer-1``, ...)."""


@dataclass(frozen=True)
class Deployment:
    """What to run. Defaults: Airflow's embedded ones (SQLite in ``home``, ``LocalExecutor``), one triggerer.

    :param home: ``AIRFLOW_HOME``; logs go to ``home/logs``.
    :param dags_folder: the DAG files to serve.
    :param executor: ``LocalExecutor``, ``CeleryExecutor``, ...
    :param database_url: SQLAlchemy URL of the metadata database (default: SQLite in ``home``).
    :param triggerers: how many ``airflow triggerer`` processes.
    :param celery_workers: how many ``airflow celery worker`` processes (with ``CeleryExecutor``).
    :param environment: more variables for every component (connections, broker URL, ...).
    :param host: the address the API server binds.
    """

    home: Path
    dags_folder: Path
    executor: str = "LocalExecutor"
    database_url: str | None = None
    triggerers: int = 1
    celery_workers: int = 0
    environment: Mapping[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        if self.triggerers < 1:
            raise ValueError(f"triggerers must be at least 1, not {self.triggerers}: deferred tasks need one")
        if self.celery_workers < 0:
            raise ValueError(f"celery_workers must be 0 or more, not {self.celery_workers}")
        if self.celery_workers and "Celery" not in self.executor:
            raise ValueError(
                f"celery_workers={self.celery_workers} with executor {self.executor!r}: Celery workers "
                "only take tasks from CeleryExecutor; set executor='CeleryExecutor' or celery_workers=0"
            )

    @property
    def logs(self) -> Path:
        """The base log folder (task logs under ``dag_id=.../run_id=.../task_id=...``)."""
        return self.home / "logs"

    @property
    def component_logs(self) -> Path:
        """Where each component's own output goes (``scheduler.log``, ``triggerer-1.log``, ...)."""
        return self.home / "components"


def free_port(host: str) -> int:
    """Return a port nobody listens on right now (the OS's pick)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class AirflowStartError(RuntimeError):
    """A component did not start; the message names it and the log to read."""


class LocalAirflow:
    """Run a :class:`Deployment`: start with :meth:`start` (or ``with``), stop with :meth:`stop`."""

    def __init__(
        self, deployment: Deployment, *, python: str = sys.executable, marker: str | None = None
    ) -> None:
        self.deployment = deployment
        self.python = python
        # Tags every process of the deployment (processes.MARKER); a caller may share one with others.
        self.marker = marker or secrets.token_hex(8)
        self.port = free_port(deployment.host)
        self.username = USERNAME
        self.password = secrets.token_urlsafe(12)
        self.components: dict[str, subprocess.Popen[bytes]] = {}
        self._commands: dict[str, tuple[list[str], dict[str, str]]] = {}
        self._secrets = {
            "fernet_key": Fernet.generate_key().decode(),
            "secret_key": secrets.token_urlsafe(32),
            "jwt_secret": secrets.token_urlsafe(32),
        }
        # A log server port per process that serves logs: the scheduler's (LocalExecutor) and
        # each triggerer's and Celery worker's.
        self._ports = {
            name: free_port(deployment.host)
            for name in (
                "worker_log_server",
                *(f"triggerer-{n}" for n in range(1, deployment.triggerers + 1)),
                *(f"celery-worker-{n}" for n in range(1, deployment.celery_workers + 1)),
            )
        }

    @property
    def api_url(self) -> str:
        """The API server's (and UI's) base URL."""
        host = f"[{self.deployment.host}]" if ":" in self.deployment.host else self.deployment.host
        return f"http://{host}:{self.port}"

    def environment(self) -> dict[str, str]:
        """Every component's environment: the caller's, Airflow's settings, then the deployment's extras."""
        d = self.deployment
        settings = {
            "AIRFLOW_HOME": str(d.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(d.dags_folder),
            "AIRFLOW__CORE__EXECUTOR": d.executor,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": self._secrets["fernet_key"],
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.username}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self._passwords_file),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__API__HOST": d.host,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": self._secrets["secret_key"],
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secrets["jwt_secret"],
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(d.logs),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self._ports["worker_log_server"]),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            processes.MARKER: self.marker,
        }
        if d.database_url:
            settings["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = d.database_url
        return {**_inherited(), **settings, **d.environment}

    @property
    def _passwords_file(self) -> Path:
        return self.deployment.home / "simple_auth_manager_passwords.json"

    def _airflow(self, *args: str) -> list[str]:
        return [self.python, "-m", "airflow", *args]

    def start(self, *, timeout: float = 240.0) -> LocalAirflow:
        """Migrate the database, start every component, wait until the API says all are healthy."""
        d = self.deployment
        d.home.mkdir(parents=True, exist_ok=True)
        d.dags_folder.mkdir(parents=True, exist_ok=True)
        self._passwords_file.touch(mode=0o600)
        self._passwords_file.write_text(json.dumps({self.username: self.password}))
        env = self.environment()
        migrate_log = d.component_logs / "db-migrate.log"
        migrate_log.parent.mkdir(parents=True, exist_ok=True)
        with migrate_log.open("ab") as output:
            migrated = subprocess.run(
                self._airflow("db", "migrate"), env=env, stdout=output, stderr=subprocess.STDOUT, check=False
            )
        if migrated.returncode != 0:
            raise AirflowStartError(
                f"`airflow db migrate` failed (exit {migrated.returncode}): see {migrate_log}"
            )
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            "api-server": (self._airflow("api-server"), env),
            "scheduler": (self._airflow("scheduler"), env),
            "dag-processor": (self._airflow("dag-processor"), env),
        }
        for number in range(1, d.triggerers + 1):
            # Each triggerer serves its logs on a port of its own.
            port = str(self._ports[f"triggerer-{number}"])
            commands[f"triggerer-{number}"] = (
                self._airflow("triggerer"),
                {**env, "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": port},
            )
        for number in range(1, d.celery_workers + 1):
            port = str(self._ports[f"celery-worker-{number}"])
            commands[f"celery-worker-{number}"] = (
                self._airflow("celery", "worker", "--celery-hostname", f"worker{number}@%h"),
                {**env, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": port},
            )
        for name, (argv, component_env) in commands.items():
            # Each process knows which component it is (a test may use it, e.g. to name a triggerer).
            self._commands[name] = (argv, {**component_env, COMPONENT: name})
            self.start_component(name)
        self.wait_healthy(timeout)
        return self

    def start_component(self, name: str) -> subprocess.Popen[bytes]:
        """Start component ``name`` (``triggerer-2``, ``celery-worker-1``, ...) as at :meth:`start`.

        Also how a test brings back a component it killed: the old process group must be gone.
        """
        if name not in self._commands:
            raise KeyError(f"no component {name!r}; the deployment has {sorted(self._commands)}")
        running = self.components.get(name)
        if running is not None and running.poll() is None:
            raise AirflowStartError(
                f"component {name!r} still runs (pid {running.pid}): stop or kill it first"
            )
        argv, env = self._commands[name]
        self.components[name] = processes.start_group(
            argv, env=env, log=self.deployment.component_logs / f"{name}.log"
        )
        return self.components[name]

    def kill_component(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Send ``signum`` (default KILL: no clean-up) to component ``name``'s process group; wait for it."""
        process = self.components[name]
        processes.signal_group(process, signum)
        process.wait(30)

    def health(self) -> dict[str, str]:
        """Return each component's status from the API's public health endpoint (``{}`` if unreachable)."""
        try:
            with urllib.request.urlopen(f"{self.api_url}/api/v2/monitor/health", timeout=5) as answer:
                body = json.loads(answer.read())
        except (OSError, ValueError):  # not listening yet, or starting
            return {}
        return {name: str(part.get("status")) for name, part in body.items() if isinstance(part, dict)}

    def wait_healthy(self, timeout: float) -> None:
        """Wait until the metadatabase, scheduler, triggerer and DAG processor are reported healthy."""
        wanted = {"metadatabase", "scheduler", "triggerer", "dag_processor"}
        deadline = time.monotonic() + timeout
        while True:
            for name, process in self.components.items():
                if process.poll() is not None:
                    raise AirflowStartError(
                        f"`airflow {name}` exited with status {process.returncode} while starting: see "
                        f"{self.deployment.component_logs / (name + '.log')}"
                    )
            health = self.health()
            if all(health.get(name) == "healthy" for name in wanted):
                return
            if time.monotonic() > deadline:
                raise AirflowStartError(
                    f"Airflow was not healthy after {timeout:.0f} s (health: {health or 'no answer'}); "
                    f"component logs are in {self.deployment.component_logs}"
                )
            time.sleep(1.0)

    def stop(self, *, grace: float = 15.0) -> None:
        """Stop every component (TERM, then KILL after ``grace``), and any process they left behind."""
        # Triggerers and workers first, while the API server they report to is still up.
        order = sorted(self.components, key=lambda name: name in ("api-server", "scheduler"))
        processes.stop_groups([self.components[name] for name in order], grace=grace)
        processes.sweep(self.marker)
        self.components.clear()

    def __enter__(self) -> LocalAirflow:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _inherited() -> dict[str, str]:
    """Return the caller's environment without its Airflow settings, but for the database's and Celery's.

    A user may point the demo at another database or executor with ``AIRFLOW__DATABASE__*`` and
    ``AIRFLOW__CORE__EXECUTOR``; other ``AIRFLOW__*`` and ``AIRFLOW_HOME`` would mix the user's
    own deployment into this one.
    """
    kept_prefixes = ("AIRFLOW__DATABASE__", "AIRFLOW__CELERY__", "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__")
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AIRFLOW__", "AIRFLOW_HOME", "AIRFLOW_CONN_"))
        or name.startswith(kept_prefixes)
    }
