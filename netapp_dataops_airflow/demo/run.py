"""The demo: simulators, a local Airflow, the example DAGs triggered over the REST API, a report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from netapp_dataops_airflow.demo import processes
from netapp_dataops_airflow.demo.api import AirflowApi, AirflowApiError
from netapp_dataops_airflow.demo.deployment import AirflowStartError, Deployment, LocalAirflow
from netapp_dataops_airflow.demo.report import progress_line, table
from netapp_dataops_airflow.demo.timeline import Timeline

EXAMPLE_DAGS = Path(__file__).resolve().parent.parent / "example_dags"
EXAMPLE_DAG_IDS = (
    "ai_training_run",
    "clone_volume",
    "replicate_data_cloud_sync",
    "replicate_data_snapmirror",
    "replicate_data_xcp",
)
# What each DAG is triggered with: the parameters the simulators' seed data does not cover.
EXAMPLE_CONF: dict[str, dict[str, Any]] = {"clone_volume": {"clone_from": "pvc"}}
SAMPLE_INTERVAL = 0.5
# The state changes worth a progress line: who holds a worker, who waits without one, how it ended.
NEWS = frozenset({"running", "deferred", "up_for_retry", "success", "failed", "upstream_failed", "skipped"})
"""Seconds between two reads of every task instance's state: the resolution of the table's times."""


@dataclass(frozen=True)
class DemoOptions:
    """What to run and how long to wait."""

    dags_folder: Path = EXAMPLE_DAGS
    dag_ids: tuple[str, ...] = EXAMPLE_DAG_IDS
    keep: bool = False
    workdir: Path | None = None
    run_timeout: float = 600.0


def say(text: str) -> None:
    """Print a line of progress now."""
    print(text, flush=True)


class Stopped(Exception):
    """Ctrl-C (SIGINT) or SIGTERM arrived: stop everything."""


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn the first SIGINT or SIGTERM into :class:`Stopped`; ignore later ones.

    The terminal's Ctrl-C reaches the demo and whoever started it (nox forwards one more SIGINT):
    a second signal must not cut short the clean-up the first one started.
    """
    seen: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        if not seen:
            seen.append(signum)
            raise Stopped

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def start_simulators(workdir: Path, marker: str) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """Run ``serve all`` in a process group of its own; return it and the connections it wrote."""
    connections_file = workdir / "simulators" / "connections.json"
    log = workdir / "simulators.log"
    process = processes.start_group(
        [
            sys.executable,
            "-m",
            "netapp_dataops_airflow.simulators",
            "serve",
            "all",
            "--directory",
            str(workdir / "simulators"),
            "--connections-file",
            str(connections_file),
        ],
        env={**os.environ, processes.MARKER: marker},
        log=log,
    )
    deadline = time.monotonic() + 60
    while not connections_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            processes.stop_groups([process], grace=5)
            raise RuntimeError(f"the simulators did not start: see {log}")
        time.sleep(0.2)
    return process, json.loads(connections_file.read_text())


def connection_environment(connections: dict[str, Any]) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` variables (JSON) for every connection."""
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn) for conn_id, conn in connections.items()}


def deployment_for(workdir: Path, options: DemoOptions, connections: dict[str, Any]) -> Deployment:
    """Airflow's embedded defaults (SQLite, LocalExecutor) unless the environment names others."""
    executor = os.environ.get("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    return Deployment(
        home=workdir / "airflow",
        dags_folder=options.dags_folder,
        executor=executor,
        celery_workers=1 if "Celery" in executor else 0,
        environment=connection_environment(connections),
    )


def run_dags(api: AirflowApi, dag_ids: Sequence[str], *, timeout: float) -> Timeline:
    """Trigger every DAG, print each task's state changes until all runs end; return what was seen."""
    api.wait_for_dags(set(dag_ids), timeout=120)
    runs = {}
    for dag_id in dag_ids:
        api.unpause(dag_id)
        runs[dag_id] = api.trigger(dag_id, EXAMPLE_CONF.get(dag_id))
    say(f"Triggered {len(runs)} DAGs through the REST API: {', '.join(dag_ids)}")
    timeline = Timeline()
    started = time.monotonic()
    last_run_check = 0.0
    pending = dict(runs)
    while pending or not timeline.finished():
        now = time.monotonic()
        for key, state in timeline.observe(api.task_instances(), now):
            if state in NEWS:
                say(progress_line(now - started, key, state))
        if now - last_run_check > 2.0:
            last_run_check = now
            for dag_id, run_id in list(pending.items()):
                if api.dag_run(dag_id, run_id)["state"] in ("success", "failed"):
                    del pending[dag_id]
        if now - started > timeout:
            raise RuntimeError(f"the DAG runs did not finish in {timeout:.0f} s: {', '.join(pending)}")
        time.sleep(SAMPLE_INTERVAL)
    return timeline


def main(options: DemoOptions) -> int:
    """Run the demo; return 0 if every DAG run succeeded. Everything started is stopped on the way out."""
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="netapp-dataops-demo-"))
    # Inherited when the caller tags its own processes (a test that checks none is left behind).
    marker = os.environ.get(processes.MARKER) or f"demo-{os.getpid()}-{time.time_ns()}"
    simulators: subprocess.Popen[bytes] | None = None
    airflow: LocalAirflow | None = None
    began = time.monotonic()
    with _stop_on_signals():
        try:
            say("Starting the simulators (Kubernetes + Trident, ONTAP, Cloud Sync, an XCP host)...")
            simulators, connections = start_simulators(workdir, marker)
            deployment = deployment_for(workdir, options, connections)
            airflow = LocalAirflow(deployment, marker=marker)
            say(
                f"Starting Airflow ({deployment.executor}, {deployment.triggerers} triggerer; "
                f"api-server, scheduler, dag-processor, triggerer as processes) in {deployment.home} ..."
            )
            airflow.start()
            say(f"Airflow is up after {time.monotonic() - began:.0f} s: {airflow.api_url}")
            with AirflowApi(airflow.api_url, airflow.username, airflow.password) as api:
                timeline = run_dags(api, options.dag_ids, timeout=options.run_timeout)
                results = {
                    key: api.return_value(key.dag_id, key.run_id, key.task_id, key.map_index)
                    for key in timeline.tasks
                }
            say("")
            say(table(timeline.tasks, results, interval=SAMPLE_INTERVAL))
            failed = sorted(k.label for k, h in timeline.tasks.items() if h.state != "success")
            say("")
            say(f"UI:    {airflow.api_url}  (user {airflow.username}, password {airflow.password})")
            say(f"Logs:  {deployment.logs}  (components: {deployment.component_logs})")
            say(
                f"All done in {time.monotonic() - began:.0f} s."
                if not failed
                else f"Not successful: {failed}"
            )
            if options.keep:
                say("Airflow and the simulators keep running (--keep). Ctrl-C stops everything.")
                while True:
                    signal.pause()
            return 1 if failed else 0
        except (AirflowStartError, AirflowApiError, RuntimeError) as exc:
            say(f"The demo failed: {exc}")
            return 1
        except Stopped:
            say("\nInterrupted.")
            return 130
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):  # nothing interrupts the clean-up
                signal.signal(signum, signal.SIG_IGN)
            say("Stopping Airflow and the simulators...")
            if airflow is not None:
                airflow.stop()
            if simulators is not None:
                processes.stop_groups([simulators], grace=10)
            processes.sweep(marker)
            say(f"Stopped; nothing left running. Files: {workdir}")
