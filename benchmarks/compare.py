"""Side by side: our waits vs the DataOps toolkit examples' model vs the usual provider pattern.

One process per (backend, design, number of waits), started by :mod:`benchmarks.run`. The backend
is a simulator in another process; ``--duration`` is how long every operation takes there.

- ``ours``: the library's real operators and triggers. Each operator's ``execute`` runs in a thread
  of a pool standing in for worker slots, until it raises ``TaskDeferred``; the trigger then waits
  in this process's event loop (the triggerer) with every other; ``execute_complete`` runs in the
  pool again. Worker-slot time is ``execute`` plus ``execute_complete``, as the thread measures it.
- ``naive``: :mod:`benchmarks.baselines.naive_triggers`, one trigger per operation with its own
  client and poll loop, all in this event loop; the operations are started by a plain request.
- ``toolkit``: :mod:`benchmarks.baselines.toolkit_driver` under the toolkits' interpreter
  (``NETAPP_TOOLKIT_PYTHON``), one thread per operation that holds its slot until the toolkit's
  function returns.

Reported, as JSON in ``--out``: API requests the simulator received from the first operation
started to the last waiter notified (in all, per operation, per minute); resume delay (operation's
end on the server to the waiter notified: the trigger's event, or the toolkit's function
returning); worker-slot seconds per operation; resident memory per wait.

Backends: ``kubernetes`` (a VolumeSnapshot until ready to use), ``kubernetes_clone`` (a PVC cloned
from a PVC until Bound), ``snapmirror`` (a SnapMirror update), ``cloud_sync`` (a Cloud Sync sync).

Usage: ``python -m benchmarks.compare --backend kubernetes --design ours --waits 100 --out r.json``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp

from benchmarks.measure import distribution, rss_bytes, write_result
from benchmarks.servers import (
    SimulatorProcess,
    control,
    kubernetes_simulator,
    ontap_simulator,
    snapshot_manifest,
    start_simulator,
    sync_relationship,
)
from netapp_dataops_airflow.simulators.kubernetes.seed import DEFAULT_CLASS

BACKENDS = ("kubernetes", "kubernetes_clone", "snapmirror", "cloud_sync")
#: The backends served by the Kubernetes simulator: snapshots, and PVCs cloned from a PVC.
KUBERNETES = ("kubernetes", "kubernetes_clone")
DESIGNS = ("ours", "naive", "toolkit")
#: The toolkits' own poll intervals (their sleeps); ours and the naive triggers poll as often.
TOOLKIT_POLL = {"kubernetes": 5.0, "kubernetes_clone": 5.0, "snapmirror": 10.0, "cloud_sync": 60.0}
WORKER_SLOTS = 8
"""Processes running operators' ``execute``/``execute_complete``: the worker slots of a small fleet."""
NAMESPACE = "bench-0"
PASSWORD = "bench-password-0123"  # throwaway simulators' secrets, printed by them anyway
REFRESH_TOKEN = "bench-refresh-token-0123"
ACCOUNT = "account-Bench001"
CLIENT_ID = "Mu0V1ywgYteI6w1MbD15fKfVIUrNXGWC"
CONN_ID = "bench"
TOOLKIT_DRIVER = Path(__file__).with_name("baselines") / "toolkit_driver.py"
MiB = 1024 * 1024
ENDLESS = 86400.0
SOURCE_PVC = "data"
#: A ready snapshot of the source: the toolkit's ``clone_volume`` always restores one (it takes one
#: first when given none); ours and the provider pattern clone the PVC itself.
SOURCE_SNAPSHOT = "data-snap"
#: The request that starts one operation, as :meth:`Backend.requests` names it.
START_REQUEST = {
    "kubernetes": "create volumesnapshots",
    "kubernetes_clone": "create persistentvolumeclaims",
    "snapmirror": "POST /api/snapmirror/relationships/{id}/transfers",
    "cloud_sync": "PUT /api/relationships/{id}/sync",
}


def task_context(task_id: str, state: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the parts of a task's context the operators read.

    ``ti``, ``task_state_store`` and ``outlet_events`` (Airflow's own accessors, so the asset
    events cost what they cost in a task). The store keeps JSON as Airflow does;
    ``get("__all__")`` hands everything over to the process that resumes the task.
    """
    from airflow.sdk.execution_time.context import OutletEventAccessors

    values: dict[str, Any] = dict(state or {})

    def get(key: str, default: Any = None) -> Any:
        return dict(values) if key == "__all__" else values.get(key, default)

    def set_value(key: str, value: Any, **_: Any) -> None:
        values[key] = json.loads(json.dumps(value))

    store = SimpleNamespace(get=get, set=set_value)
    ti = SimpleNamespace(dag_id="bench", task_id=task_id, run_id="run", map_index=-1, try_number=1)
    return {"ti": ti, "task_state_store": store, "outlet_events": OutletEventAccessors()}


@dataclass
class Backend:
    """One simulated backend: how to start it, seed it, start operations and read what it saw."""

    name: str
    workdir: Path
    duration: float
    """Seconds each operation takes; :data:`ENDLESS` when the benchmark ends them all at once."""
    simulator: SimulatorProcess | None = None
    ca_pem: str = ""
    details: dict[str, str] = field(default_factory=dict)

    # --- set-up ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the simulator and export the Airflow connection our operators use."""
        if self.name in KUBERNETES:
            self.simulator = kubernetes_simulator(self.workdir)
            connection: dict[str, Any] = {
                "conn_type": "kubernetes",
                "extra": {"kube_config_path": self.simulator.details["kubeconfig"]},
            }
        elif self.name == "snapmirror":
            self.simulator = ontap_simulator(self.workdir, PASSWORD)
            self.ca_pem = Path(self.simulator.details["CA file"]).read_text()
            connection = {
                "conn_type": "netapp_ontap",
                "host": self.simulator.url,
                "login": "admin",
                "password": PASSWORD,
                "extra": {"ca_certificate": self.ca_pem},
            }
        else:
            options = ("--refresh-token", REFRESH_TOKEN, "--account-id", ACCOUNT)
            log = self.workdir / "simulator.log"
            self.simulator = start_simulator("cloud_sync", *options, log=log, expect=("CA file",))
            self.ca_pem = Path(self.simulator.details["CA file"]).read_text()
            connection = {
                "conn_type": "netapp_cloud_sync",
                "password": REFRESH_TOKEN,
                "extra": {
                    "account_id": ACCOUNT,
                    "api_url": self.simulator.details["API URL"],
                    "token_url": self.simulator.details["token URL"],
                    "ca_certificate": self.ca_pem,
                },
            }
        self.details = self.simulator.details
        conn_id = "kubernetes_default" if self.name in KUBERNETES else CONN_ID
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(connection)

    def session(self) -> aiohttp.ClientSession:
        """Open an HTTP session on the simulator (its CA trusted)."""
        assert self.simulator is not None
        return self.simulator.session()

    async def seed(self, http: aiohttp.ClientSession, waits: int) -> list[Any]:
        """Prepare ``waits`` operations' worth of objects; return the targets (one per operation)."""
        if self.name == "kubernetes":
            # The snapshot is cut `duration` seconds after its content appears, which is at once.
            await control(
                http, "POST", "/_simulator/timing", {"snapshot": 0, "snapshot_ready": self.duration}
            )
            claims = {"boundClaims": [{"name": "data", "namespace": NAMESPACE}]}
            await control(http, "POST", "/_simulator/seed", claims)
            return [[NAMESPACE, "data", f"snap-{index:04d}"] for index in range(waits)]
        if self.name == "kubernetes_clone":
            return await self.seed_clones(http, waits)
        if self.name == "snapmirror":
            await control(http, "PUT", "/_simulator/transfer-settings", {"duration": self.duration})
            uuids = []
            for index in range(waits):
                body = {"source_path": f"src:vol{index}", "destination_path": f"dst:vol{index}"}
                uuids.append((await control(http, "POST", "/_simulator/relationships", body))["uuid"])
            return uuids
        # No PENDING phase and no stale DONE after a request: the toolkit knows neither (see the
        # fidelity tests); ours handles both, but every design gets the same service here.
        settings = {"pending_seconds": 0, "duration": self.duration, "stale_seconds": 0}
        await control(http, "PUT", "/_simulator/sync-settings", settings)
        # Tokens outlive the clock's jump past every sync's end (end_all), as they would a real sync.
        await control(http, "PUT", "/_simulator/token-lifetime", {"seconds": 10 * ENDLESS})
        ids = []
        for index in range(waits):
            body = sync_relationship(index, ACCOUNT)
            ids.append((await control(http, "POST", "/_simulator/relationships", body))["id"])
        return ids

    async def seed_clones(self, http: aiohttp.ClientSession, waits: int) -> list[Any]:
        """Seed the source PVC and a ready snapshot of it; return one clone to make per operation.

        Each clone is provisioned ``duration`` s after the provisioner first sees it and bound at
        once (held: until :meth:`end_all`).
        """
        await control(http, "POST", "/_simulator/timing", {"snapshot": 0, "snapshot_ready": 0, "binding": 0})
        claims = {"boundClaims": [{"name": SOURCE_PVC, "namespace": NAMESPACE}]}
        await control(http, "POST", "/_simulator/seed", claims)
        snapshots = f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NAMESPACE}/volumesnapshots"
        await control(http, "POST", snapshots, snapshot_manifest(NAMESPACE, SOURCE_PVC, SOURCE_SNAPSHOT))
        for _ in range(200):  # ready within a few controller passes
            snapshot = await control(http, "GET", f"{snapshots}/{SOURCE_SNAPSHOT}")
            if (snapshot.get("status") or {}).get("readyToUse"):
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"VolumeSnapshot {SOURCE_SNAPSHOT} of the clones' source never became ready")
        await control(http, "POST", "/_simulator/timing", {"provisioning": self.duration})
        return [[NAMESPACE, SOURCE_PVC, f"clone-{index:04d}", SOURCE_SNAPSHOT] for index in range(waits)]

    # --- what the server saw --------------------------------------------------------------------

    async def requests(self, http: aiohttp.ClientSession) -> Counter[str]:
        """Every API request the server has counted so far, by kind."""
        if self.name in KUBERNETES:
            counts = Counter((await control(http, "GET", "/_simulator/stats"))["requests"]["byVerb"])
            counts.pop("patch volumesnapshotcontents", None)  # the flipper's, playing the CSI driver
            return counts
        counts: Counter[str] = Counter()
        for line in await control(http, "GET", "/_simulator/requests"):
            method, _, path = line.partition(" ")
            counts[f"{method} {_generic(path.split('?')[0])}"] += 1
        return counts

    async def ends(self, http: aiohttp.ClientSession, targets: list[Any]) -> dict[str, float]:
        """When each operation ended on the server (``time.time()``), by target key."""
        if self.name == "kubernetes":
            ready = (await control(http, "GET", "/_simulator/stats"))["ready"]
            keys = {f"volumesnapshots/{ns}/{name}": name for ns, _, name in targets}
            return {name: ready[key]["committedAt"] for key, name in keys.items() if key in ready}
        if self.name == "kubernetes_clone":
            ready = (await control(http, "GET", "/_simulator/stats"))["ready"]
            keys = {f"persistentvolumeclaims/{ns}/{name}": name for ns, _, name, _ in targets}
            return {name: ready[key]["committedAt"] for key, name in keys.items() if key in ready}
        state = await control(http, "GET", "/_simulator/state")
        if self.name == "snapmirror":
            # ONTAP gives seconds: the end lies within the second named, so take its middle.
            return {
                t["relationship"]["uuid"]: _epoch(t["end_time"]) + 0.5
                for t in state["transfers"]
                if t.get("end_time")
            }
        return {
            r["id"]: _epoch(r["activity"]["endTime"])
            for r in state["relationships"]
            if (r.get("activity") or {}).get("endTime")
        }

    async def end_all(self, http: aiohttp.ClientSession, targets: list[Any]) -> float:
        """End every (endless) operation now; return when (``time.time()``).

        SnapMirror and Cloud Sync: the simulated clock jumps past every operation's end. Kubernetes:
        :mod:`benchmarks.flipper`, in a process of its own, marks every content ready at once, as
        the CSI driver would (each snapshot's moment is then read from the server's stats).
        Kubernetes clones: the day-long provisioning delay every clone waits out drops to 0 in one
        control request, and the simulated provisioner binds them all (their moments: the stats).
        """
        if self.name == "kubernetes_clone":
            await control(http, "POST", "/_simulator/timing", {"provisioning": 0})
            return time.time()
        if self.name != "kubernetes":
            await control(http, "POST", "/_simulator/advance", {"seconds": ENDLESS})
            return time.time()
        assert self.simulator is not None
        listed = await control(
            http, "GET", f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NAMESPACE}/volumesnapshots"
        )
        contents = [s["status"]["boundVolumeSnapshotContentName"] for s in listed["items"]]
        names = self.workdir / "contents.json"
        names.write_text(json.dumps(contents))
        command = [
            sys.executable,
            "-m",
            "benchmarks.flipper",
            self.simulator.url,
            str(names),
            *("--ca-file", self.simulator.details["CA file"]),
            *("--window", "0"),
        ]
        flipper = await asyncio.create_subprocess_exec(
            *command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(Path(__file__).parent.parent)
        )
        when = time.time()
        await flipper.communicate(b"go\n")
        return when

    # --- starting and waiting, per design -------------------------------------------------------

    async def naive_start(self, http: aiohttp.ClientSession, target: Any, poll: float, token: str) -> Any:
        """Start one operation with a plain request; return the naive trigger that waits for it."""
        from benchmarks.baselines import naive_triggers as naive

        if self.name == "kubernetes":
            namespace, pvc, name = target
            path = f"/apis/snapshot.storage.k8s.io/v1/namespaces/{namespace}/volumesnapshots"
            await control(http, "POST", path, snapshot_manifest(namespace, pvc, name))
            return naive.NaiveVolumeSnapshotTrigger(self.details["kubeconfig"], namespace, name, poll)
        if self.name == "kubernetes_clone":
            namespace, source, name, _ = target
            body = {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "accessModes": ["ReadWriteMany"],
                    "resources": {"requests": {"storage": "1Gi"}},  # the source's size
                    "storageClassName": DEFAULT_CLASS,
                    "dataSource": {"kind": "PersistentVolumeClaim", "name": source},
                },
            }
            await control(http, "POST", f"/api/v1/namespaces/{namespace}/persistentvolumeclaims", body)
            return naive.NaivePersistentVolumeClaimTrigger(self.details["kubeconfig"], namespace, name, poll)
        assert self.simulator is not None
        if self.name == "snapmirror":
            auth = aiohttp.BasicAuth("admin", PASSWORD)
            path = f"/api/snapmirror/relationships/{target}/transfers"
            async with http.post(path, json={}, auth=auth) as response:
                response.raise_for_status()
                transfer = response.headers["Location"].rsplit("/", 1)[-1]
            url = self.simulator.url
            return naive.NaiveSnapMirrorTrigger(url, "admin", PASSWORD, self.ca_pem, target, transfer, poll)
        headers = {"Authorization": f"Bearer {token}", "x-account-id": ACCOUNT}
        async with http.put(f"/api/relationships/{target}/sync", headers=headers) as response:
            response.raise_for_status()
        return naive.NaiveCloudSyncTrigger(
            self.details["API URL"],
            self.details["token URL"],
            REFRESH_TOKEN,
            ACCOUNT,
            self.ca_pem,
            target,
            poll,
            client_id=CLIENT_ID,
        )

    def toolkit_env(self, home: Path) -> dict[str, str]:
        """Point the toolkit at the simulator the way the fidelity tests do."""
        assert self.simulator is not None
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
        config_dir = home / ".netapp_dataops"
        config_dir.mkdir(parents=True, exist_ok=True)
        if self.name in KUBERNETES:
            return {**env, "KUBECONFIG": self.details["kubeconfig"]}
        if self.name == "snapmirror":
            config = {
                "connectionType": "ONTAP",
                "hostname": self.simulator.url.split("://", 1)[1].rstrip("/"),
                "svm": "dst",
                "sslCertPath": self.details["CA file"],
            }
            (config_dir / "config.json").write_text(json.dumps(config))
            return {**env, "ONTAP_USER": "admin", "ONTAP_PASSWORD": PASSWORD}
        token = base64.b64encode(REFRESH_TOKEN.encode()).decode()
        config = {"connectionType": "ONTAP", "cloudCentralRefreshToken": token}
        (config_dir / "config.json").write_text(json.dumps(config))
        return {
            **env,
            "CLOUD_SYNC_SIMULATOR_URL": self.simulator.url,
            "CLOUD_SYNC_CA_FILE": self.details["CA file"],
        }


def make_operator(backend: str, index: int, target: Any, poll: float) -> Any:
    """Our operator for one operation."""
    task_id = f"op-{index:04d}"
    if backend == "kubernetes":
        from netapp_dataops_airflow.operators.kubernetes import VolumeSnapshotOperator

        return VolumeSnapshotOperator(task_id=task_id, pvc=target[1], snapshot=target[2], namespace=target[0])
    if backend == "kubernetes_clone":
        from netapp_dataops_airflow.operators.kubernetes import CloneVolumeOperator

        return CloneVolumeOperator(
            task_id=task_id, source_pvc=target[1], new_pvc=target[2], namespace=target[0]
        )
    if backend == "snapmirror":
        from netapp_dataops_airflow.operators.snapmirror import SnapMirrorUpdateOperator

        return SnapMirrorUpdateOperator(
            task_id=task_id, relationship=target, ontap_conn_id=CONN_ID, poll_interval=poll
        )
    from netapp_dataops_airflow.operators.cloud_sync import CloudSyncOperator

    return CloudSyncOperator(
        task_id=task_id, relationship_id=target, cloud_sync_conn_id=CONN_ID, poll_interval=poll
    )


def worker_execute(backend: str, index: int, target: Any, poll: float) -> dict[str, Any]:
    """In a worker process: run the operator's ``execute`` until it defers; time it.

    Returns the trigger as a triggerer receives it (class path and kwargs), the task state the
    operator stored, and the seconds the slot was held.
    """
    from airflow.sdk.exceptions import TaskDeferred

    op, context = make_operator(backend, index, target, poll), task_context(f"op-{index:04d}")
    began, wall, cpu = time.perf_counter(), time.time(), time.process_time()
    try:
        op.execute(context)
    except TaskDeferred as deferral:
        held, cpu = time.perf_counter() - began, time.process_time() - cpu
        classpath, kwargs = deferral.trigger.serialize()
        state = context["task_state_store"].get("__all__")
        return {
            "trigger": [classpath, kwargs],
            "state": state,
            "held": held,
            "cpu": cpu,
            "began": wall,
            "deferred": time.time(),
        }
    raise RuntimeError(f"{op.task_id} finished without deferring")


def worker_complete(
    backend: str, index: int, target: Any, poll: float, state: Any, event: Any
) -> tuple[float, float]:
    """In a worker process: resume the task with the trigger's event (``execute_complete``).

    Returns the seconds the slot was held and the CPU seconds the process used meanwhile (the
    worker process runs one task at a time, so that is the task's).
    """
    op, context = make_operator(backend, index, target, poll), task_context(f"op-{index:04d}", state)
    began, cpu = time.perf_counter(), time.process_time()
    op.execute_complete(context, event)
    return time.perf_counter() - began, time.process_time() - cpu


def warm_worker(backend: str) -> None:
    """Import what a worker has imported before it runs a task (the toolkit's driver does the same)."""
    import netapp_dataops_airflow.hooks
    import netapp_dataops_airflow.triggers  # noqa: F401

    make_operator(backend, 0, ["", "", "", ""] if backend in KUBERNETES else "", 1.0)


def _generic(path: str) -> str:
    """``/api/snapmirror/relationships/<uuid>/transfers/<uuid>`` -> ``.../{id}/transfers/{id}``."""
    parts = path.split("/")
    # UUIDs and Cloud Sync ids are long and full of digits; ``relationships-v2`` is neither.
    return "/".join(
        "{id}" if len(part) >= 16 and sum(c.isdigit() for c in part) > 2 else part for part in parts
    )


def _epoch(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _key(target: Any) -> str:
    return str(target[2]) if isinstance(target, list) else str(target)


@dataclass
class Run:
    """What one design did: per operation when it started and was notified, and slot seconds."""

    started: dict[str, float] = field(default_factory=dict)
    #: when the operation was started and its wait began (ours: deferred; toolkit: see the driver)
    waiting: dict[str, float] = field(default_factory=dict)
    notified: dict[str, float] = field(default_factory=dict)
    slot_seconds: dict[str, float] = field(default_factory=dict)
    #: CPU seconds each operation's slot used (a busy machine stretches the wall time, not this)
    slot_cpu: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    rss_before: int = 0
    rss_peak: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


async def peak_rss_while(work: Awaitable[Any]) -> tuple[Any, int]:
    """Await ``work`` while sampling this process's resident memory; return its result and the peak."""
    peak = rss_bytes()

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, rss_bytes())
            await asyncio.sleep(0.25)

    sampler = asyncio.ensure_future(sample())
    try:
        result = await work
    finally:
        sampler.cancel()
    return result, max(peak, rss_bytes())


async def run_ours(backend: Backend, targets: list[Any], poll: float, slots: ProcessPoolExecutor) -> Run:
    """Operators' ``execute`` in worker processes, the triggers in this loop, ``execute_complete`` after.

    As in Airflow, the trigger crosses from worker to triggerer as its class path and kwargs, and
    the task's stored state comes back with the resumed task.
    """
    import importlib

    run = Run(rss_before=rss_bytes())
    loop = asyncio.get_running_loop()

    async def one(index: int, target: Any) -> None:
        key = _key(target)
        try:
            deferred = await loop.run_in_executor(slots, worker_execute, backend.name, index, target, poll)
            run.started[key], run.waiting[key] = deferred["began"], deferred["deferred"]
            classpath, kwargs = deferred["trigger"]
            module, _, name = classpath.rpartition(".")
            trigger = getattr(importlib.import_module(module), name)(**kwargs)
            async for event in trigger.run():
                run.notified[key] = time.time()
                payload = event.payload
                break
            complete = partial(worker_complete, backend.name, index, target, poll, deferred["state"], payload)
            held, cpu = await loop.run_in_executor(slots, complete)
            run.slot_seconds[key] = deferred["held"] + held
            run.slot_cpu[key] = deferred["cpu"] + cpu
        except Exception as exc:  # count it and go on: one failure must not hide the rest
            run.errors.append(f"{key}: {type(exc).__name__}: {exc}")

    _, run.rss_peak = await peak_rss_while(asyncio.gather(*(one(i, t) for i, t in enumerate(targets))))
    return run


async def run_naive(backend: Backend, http: aiohttp.ClientSession, targets: list[Any], poll: float) -> Run:
    """Start each operation with one request, then wait with a naive trigger each, all in this loop."""
    run = Run(rss_before=rss_bytes())
    token = ""
    if backend.name == "cloud_sync":
        grant = {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, "client_id": CLIENT_ID}
        token = (await control(http, "POST", "/oauth/token", grant))["access_token"]
    gate = asyncio.Semaphore(WORKER_SLOTS)  # as many starts at once as our worker slots

    async def one(target: Any) -> None:
        key = _key(target)
        try:
            async with gate:
                run.started[key] = time.time()
                trigger = await backend.naive_start(http, target, poll, token)
                run.waiting[key] = time.time()
            async for _event in trigger.run():
                run.notified[key] = time.time()
                break
        except Exception as exc:  # count it and go on
            run.errors.append(f"{key}: {type(exc).__name__}: {exc}")

    _, run.rss_peak = await peak_rss_while(asyncio.gather(*(one(t) for t in targets)))
    return run


async def run_toolkit(backend: Backend, targets: list[Any]) -> Run:
    """Run the toolkit driver (one thread per operation) under the toolkits' interpreter."""
    python = os.environ.get("NETAPP_TOOLKIT_PYTHON")
    if not python:
        raise SystemExit("NETAPP_TOOLKIT_PYTHON is unset: `nox -s bench` points it at the toolkits' venv")
    home = backend.workdir / "toolkit-home"
    process = await asyncio.create_subprocess_exec(
        python,
        str(TOOLKIT_DRIVER),
        backend.name,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=backend.toolkit_env(home),
        cwd=str(backend.workdir),
    )
    out, err = await process.communicate(json.dumps(targets).encode())
    if process.returncode != 0:
        raise RuntimeError(f"the toolkit driver failed (exit {process.returncode}):\n{err.decode()[-4000:]}")
    report = json.loads(out.decode().strip().splitlines()[-1])
    run = Run(rss_before=report["rss_before"], rss_peak=report["rss_peak"])
    run.extra["threads_peak"] = report["threads_peak"]
    for target, op in zip(targets, report["operations"], strict=True):
        key = _key(target)
        if "error" in op:
            run.errors.append(f"{key}: {op['error']}")
            continue
        run.started[key], run.notified[key] = op["start"], op["end"]
        # The toolkit's create/POST/PUT is its first request; a second covers it even with 250 threads.
        run.waiting[key] = op["start"] + 1.0
        run.slot_seconds[key] = op["end"] - op["start"]
        if "cpu" in op:
            run.slot_cpu[key] = op["cpu"]
    return run


async def sample_requests(
    backend: Backend, samples: list[tuple[float, int, int]], every: float = 1.0
) -> None:
    """Read how many API requests (and starts) the server has counted, every ``every`` s, until cancelled.

    A session of its own, so that the readings never queue behind the design's requests.
    """
    async with backend.session() as http:
        while True:
            try:
                counts = await backend.requests(http)
                samples.append((time.time(), sum(counts.values()), counts[START_REQUEST[backend.name]]))
            except aiohttp.ClientError:
                pass  # a reading missed under load; the next one will do
            await asyncio.sleep(every)


def waiting_rate(samples: list[tuple[float, int, int]], since: float, until: float) -> dict[str, Any] | None:
    """Return requests per minute between two readings in ``[since, until]`` (None: not two).

    ``since``: the last operation started and waited for; ``until``: the first operation ended.
    """
    inside = [(at, count) for at, count, _ in samples if since <= at <= until]
    if len(inside) < 2 or inside[-1][0] - inside[0][0] < 2.0:
        return None
    (first, low), (last, high) = inside[0], inside[-1]
    return {"per_minute": round((high - low) / ((last - first) / 60), 1), "window_s": round(last - first, 1)}


async def all_started(
    running: asyncio.Future[Any], samples: list[tuple[float, int, int]], starts: int, give_up: float
) -> None:
    """Return once the server has counted ``starts`` start requests, the design ended, or ``give_up`` s.

    The sampler's readings are the only signal shared by all three designs (the toolkit's
    threads live in another process), so this polls them. An operation that failed to start
    never sends its request: the others must still be ended, so waiting is bounded.
    """
    deadline = time.monotonic() + give_up
    while not running.done() and (not samples or samples[-1][2] < starts):
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.5)


async def measure(
    backend: Backend, args: argparse.Namespace, slots: ProcessPoolExecutor | None = None
) -> dict[str, Any]:
    """Seed, run the design, and read what the server saw."""
    poll = args.poll_interval or TOOLKIT_POLL[backend.name]
    load_before = os.getloadavg()[0]
    async with backend.session() as http:
        targets = await backend.seed(http, args.waits)
        before = await backend.requests(http)
        samples: list[tuple[float, int, int]] = []
        sampler = asyncio.ensure_future(sample_requests(backend, samples))
        began = time.perf_counter()
        if args.design == "ours":
            design = run_ours(backend, targets, poll, slots)
        elif args.design == "naive":
            design = run_naive(backend, http, targets, poll)
        else:
            design = run_toolkit(backend, targets)
        running = asyncio.ensure_future(design)
        all_waiting = ended = None
        if args.hold is not None:
            # Every operation started (as the server saw it), then W seconds of nothing but waiting.
            # Generous: 8 worker slots start 1,000 operations in minutes on a busy machine.
            give_up = 120.0 + 0.6 * args.waits
            await all_started(running, samples, before[START_REQUEST[backend.name]] + args.waits, give_up)
            all_waiting = time.time() + 2.0  # the last starts' own follow-up requests settle
            await asyncio.sleep(2.0 + args.hold)
            ended = await backend.end_all(http, targets)
        run = await running
        wall = time.perf_counter() - began
        sampler.cancel()
        counts = await backend.requests(http)
        counts.subtract(before)
        if ended is not None and backend.name == "kubernetes":
            counts["list volumesnapshots"] -= 1  # end_all's own, to find the contents to flip
        if ended is not None and backend.name not in KUBERNETES:
            ends = dict.fromkeys(run.notified, ended)
        else:
            ends = await backend.ends(http, targets)
    # The same span for every design: first operation started to last waiter notified.
    span = (max(run.notified.values()) - min(run.started.values())) if run.notified else wall
    total = sum(counts.values())
    if all_waiting is not None and ended is not None:
        steady = waiting_rate(samples, all_waiting, ended)
    else:
        steady = waiting_rate(
            samples, max(run.waiting.values(), default=0.0), min(ends.values(), default=0.0)
        )
    delays = [run.notified[key] - ends[key] for key in run.notified if key in ends]
    slot = list(run.slot_seconds.values())
    lengths = [ends[key] - run.started[key] for key in run.notified if key in ends and key in run.started]
    return {
        "benchmark": "compare",
        "name": args.name,
        "backend": backend.name,
        "design": args.design,
        "waits": args.waits,
        "duration_s": args.duration if args.hold is None else None,
        "hold_s": args.hold,
        "poll_interval_s": poll,
        "completed": len(run.notified),
        "errors": run.errors[:20],
        "error_count": len(run.errors),
        "wall_s": round(wall, 3),
        # Other work on the machine shows here: the figures are only as quiet as the machine was.
        "load_average_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "span_s": round(span, 3),
        "api": {
            "requests": {kind: n for kind, n in sorted(counts.items()) if n},
            "requests_total": total,
            "requests_per_operation": round(total / args.waits, 2),
            "requests_per_minute": round(total / (span / 60), 1),
            # The load of N waits alone: every operation started, none ended yet.
            "waiting_requests_per_minute": steady,
        },
        "resume_delay_ms": distribution(delays),
        "worker_slot_s": distribution(slot, scale=1.0, digits=3),
        "worker_slot_cpu_s": distribution(list(run.slot_cpu.values()), scale=1.0, digits=3),
        # From the operation's start (as its design started it) to its end on the server.
        "operation_s": distribution(lengths, scale=1.0, digits=2),
        "memory": {
            "rss_before_mib": round(run.rss_before / MiB, 1),
            "rss_peak_mib": round(run.rss_peak / MiB, 1),
            "per_wait_kib": round((run.rss_peak - run.rss_before) / 1024 / args.waits, 1),
        },
        **run.extra,
        "raw": {
            "resume_delay_ms": [round(d * 1000, 1) for d in delays],
            "worker_slot_s": [round(s, 4) for s in slot],
            "requests_seen": [[round(at, 3), count] for at, count, _ in samples],
        },
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--name", default="compare", help="label of this scenario in reports")
    parser.add_argument("--backend", choices=BACKENDS, required=True)
    parser.add_argument("--design", choices=DESIGNS, required=True)
    parser.add_argument("--waits", type=int, default=10)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds each operation takes")
    parser.add_argument(
        "--hold",
        type=float,
        help="operations never end by themselves: once all are waiting, hold this many seconds "
        "(the waiting load is measured), then end them all at once (the resume delay is measured)",
    )
    parser.add_argument(
        "--poll-interval", type=float, help="ours and naive (default: the toolkit's own interval)"
    )
    parser.add_argument("--out", type=Path, help="write the JSON result here (default: stdout)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run one comparison scenario with its own simulator process and report."""
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-compare-{args.backend}-"))
    os.environ.setdefault("AIRFLOW_HOME", str(workdir / "airflow-home"))
    backend = Backend(args.backend, workdir, ENDLESS if args.hold is not None else args.duration)
    backend.start()
    try:
        # Import Airflow and the code under test before anything is measured, as running processes have.
        slots = None
        if args.design == "ours":
            warm_worker(args.backend)
            import netapp_dataops_airflow.triggers  # noqa: F401

            # Worker slots are processes of their own, forked now, before this one runs a loop or
            # threads: each starts with Airflow and the library imported, as a warm worker has.
            fork = multiprocessing.get_context("fork")
            slots = ProcessPoolExecutor(
                WORKER_SLOTS, mp_context=fork, initializer=warm_worker, initargs=(args.backend,)
            )
            list(slots.map(warm_worker, [args.backend] * WORKER_SLOTS))
        elif args.design == "naive":
            import benchmarks.baselines.naive_triggers  # noqa: F401
        try:
            result = asyncio.run(measure(backend, args, slots))
        finally:
            if slots is not None:
                slots.shutdown()
    finally:
        assert backend.simulator is not None
        backend.simulator.stop()
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
