"""Benchmark 1: concurrent VolumeSnapshot waits in one triggerer.

This process stands in for one triggerer: it runs ``--waits`` :class:`VolumeSnapshotReadyTrigger`
waits at once in Airflow's own ``TriggerRunner`` (:mod:`benchmarks.triggerer`), spread over
``--namespaces`` namespaces,
against the Kubernetes simulator in another process. Once every wait has seen its snapshot
"bound, not ready yet", :mod:`benchmarks.flipper` (a third process) makes the snapshots ready,
spread over ``--window`` seconds (0: all at once). Reported, as JSON in ``--out``:

- API requests and watch streams per namespace, as the simulator counted them;
- delay from the simulator committing ``readyToUse: true`` to the trigger's event (p50..max), split
  into the server's share (commit to the watch event written) and ours (written to event), which
  in turn splits at the trigger's check seeing the ready snapshot (watch read, decoded, fanned out
  by the informer) before the trigger takes the snapshot's content (for its handle) from the content
  informer;
- event-loop lateness seen by a 5 ms watchdog, over the whole run and per phase;
- resident memory before, at peak and after (``--tracemalloc``: Python allocations and where);
- wall time to start every wait and to finish them after the first flip.

Usage: ``python -m benchmarks.snapshot_waits --waits 1000 --namespaces 4 --out result.json``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.measure import LoopWatchdog, distribution, rss_bytes, short_path, write_result
from benchmarks.servers import SimulatorProcess, control, kubernetes_simulator
from benchmarks.triggerer import InProcessTriggerer, run_in_triggerer

VOLUME_SNAPSHOTS = "/apis/snapshot.storage.k8s.io/v1/namespaces/{namespace}/volumesnapshots"
# The simulated csi-snapshotter waits this long before cutting a snapshot: never, in a benchmark.
NEVER = 86400.0
MiB = 1024 * 1024


@dataclass(frozen=True)
class Snapshot:
    """One VolumeSnapshot waited for."""

    namespace: str
    name: str
    uid: str

    @property
    def key(self) -> str:
        """The simulator's name for it in ``/_simulator/stats``."""
        return f"volumesnapshots/{self.namespace}/{self.name}"


async def prepare(http: aiohttp.ClientSession, waits: int, namespaces: int) -> list[Snapshot]:
    """Seed a bound claim per namespace and ``waits`` snapshots of them, bound but never ready."""
    await control(http, "POST", "/_simulator/timing", {"snapshot": 0, "snapshot_ready": NEVER})
    names = [f"bench-{index}" for index in range(namespaces)]
    claims = [{"name": "data", "namespace": namespace} for namespace in names]
    await control(http, "POST", "/_simulator/seed", {"boundClaims": claims})
    bodies = [
        {
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshot",
            "metadata": {"name": f"snap-{index:04d}", "namespace": names[index % namespaces]},
            "spec": {"source": {"persistentVolumeClaimName": "data"}},
        }
        for index in range(waits)
    ]
    snapshots = []
    for start in range(0, waits, 250):
        seeded = await control(http, "POST", "/_simulator/seed", {"objects": bodies[start : start + 250]})
        snapshots += [
            Snapshot(item["metadata"]["namespace"], item["metadata"]["name"], item["metadata"]["uid"])
            for item in seeded["items"]
        ]
    # The simulated snapshot controller binds each to a content; wait until it has.
    while True:
        bound = 0
        for namespace in names:
            listed = await control(http, "GET", VOLUME_SNAPSHOTS.format(namespace=namespace))
            bound += sum(
                1 for s in listed["items"] if (s.get("status") or {}).get("boundVolumeSnapshotContentName")
            )
        if bound == waits:
            return snapshots
        await asyncio.sleep(0.2)


class StartedWaits:
    """Note when each wait first checks its snapshot: it has joined the informer and is set up.

    Connection resolved, API client and informer shared, object found and checked: from then on
    the wait costs nothing until the snapshot changes.
    """

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.times: dict[str, float] = {}
        #: when each trigger's check first saw its snapshot ready (``time.time()``)
        self.seen_ready: dict[str, float] = {}
        self.all_started = asyncio.Event()

    def checked(self, key: str, outcome: Any) -> None:
        """Record the first check of the snapshot ``key``, and the first that found it ready."""
        if key not in self.times:
            self.times[key] = time.perf_counter()
            if len(self.times) >= self.expected:
                self.all_started.set()
        if outcome is not None and outcome.get("status") == "success" and key not in self.seen_ready:
            self.seen_ready[key] = time.time()


def observed_trigger_class(started: StartedWaits) -> type[Any]:
    """Return ``VolumeSnapshotReadyTrigger`` unchanged but for noting its checks in ``started``.

    The trigger logs through structlog, so its progress lines cannot be caught with a logging
    handler; a subclass that times the first call of :meth:`check` and then defers to the real
    one is the least intrusive observer.
    """
    from netapp_dataops_airflow.triggers.kubernetes import VolumeSnapshotReadyTrigger

    class ObservedVolumeSnapshotReadyTrigger(VolumeSnapshotReadyTrigger):
        def check(self, obj: Any) -> Any:
            outcome = super().check(obj)
            started.checked(f"volumesnapshots/{self.namespace}/{self.name}", outcome)
            return outcome

    return ObservedVolumeSnapshotReadyTrigger


def request_counts(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """Count requests by verb between two stats readings, less the flipper's PATCHes (not ours)."""
    counts = Counter(after["requests"]["byVerb"])
    counts.subtract(before["requests"]["byVerb"])
    counts.pop("patch volumesnapshotcontents", None)
    return {verb: count for verb, count in sorted(counts.items()) if count}


async def measure(
    simulator: SimulatorProcess, args: argparse.Namespace, flipper: subprocess.Popen[str], contents: Path
) -> dict[str, Any]:
    """Prepare, then run and time every wait; return the measurements."""
    async with simulator.session() as http:
        snapshots = await prepare(http, args.waits, args.namespaces)
        order = [snapshot.key for snapshot in snapshots]
        random.Random(42).shuffle(order)  # namespaces and names interleave, as real completions would
        by_key = {snapshot.key: snapshot for snapshot in snapshots}
        names = json.dumps([f"snapcontent-{by_key[key].uid}" for key in order])
        await asyncio.to_thread(contents.write_text, names)
        before = await control(http, "GET", "/_simulator/stats")

        started = StartedWaits(args.waits)
        trigger_class = observed_trigger_class(started)
        arrivals: dict[str, float] = {}
        statuses: Counter[str] = Counter()

        triggers = [trigger_class(name=s.name, namespace=s.namespace, uid=s.uid) for s in snapshots]

        def fired(index: int, event: Any, at: float) -> None:
            arrivals[snapshots[index].key] = at
            statuses[event.payload["status"]] += 1

        triggerer = InProcessTriggerer(triggers, fired)
        if args.tracemalloc:
            tracemalloc.start(1)
        rss_before = rss_bytes()
        watchdog = LoopWatchdog()
        watchdog.start()
        launched = time.perf_counter()
        runner = asyncio.ensure_future(run_in_triggerer(triggerer))
        await asyncio.wait_for(started.all_started.wait(), 300)
        all_started = time.perf_counter()
        rss_waiting = rss_bytes()
        sites = top_allocation_sites() if args.tracemalloc else []
        await asyncio.sleep(args.settle)  # a quiet phase: what do 1,000 idle waits cost?
        idle = await control(http, "GET", "/_simulator/stats")
        assert flipper.stdin is not None
        flipper.stdin.write("go\n")
        flipper.stdin.flush()
        go = time.perf_counter()
        await asyncio.wait_for(runner, 600)
        done = time.perf_counter()
        await watchdog.stop()
        rss_peak = max(watchdog.rss_peak, rss_bytes())
        traced = tracemalloc.get_traced_memory() if args.tracemalloc else None
        tracemalloc.stop()
        after = await control(http, "GET", "/_simulator/stats")
        flipped = json.loads(flipper.communicate(timeout=60)[0] or "{}")

    ready = after["ready"]
    committed = [ready[key]["committedAt"] for key in order if key in ready]
    latency = [arrivals[key] - ready[key]["committedAt"] for key in order if key in ready and key in arrivals]
    server = [
        ready[key]["sentAt"] - ready[key]["committedAt"] for key in order if ready.get(key, {}).get("sentAt")
    ]
    sent = {key: ready[key]["sentAt"] for key in order if ready.get(key, {}).get("sentAt")}
    ours = [arrivals[key] - sent[key] for key in sent if key in arrivals]
    delivered = [started.seen_ready[key] - sent[key] for key in sent if key in started.seen_ready]
    read = [arrivals[key] - started.seen_ready[key] for key in started.seen_ready if key in arrivals]
    origin = launched - watchdog.started
    phases = {
        "start": (origin, all_started - watchdog.started),
        "idle": (all_started - watchdog.started, go - watchdog.started),
        "completion": (go - watchdog.started, done - watchdog.started),
    }
    result: dict[str, Any] = {
        "benchmark": "snapshot_waits",
        "name": args.name,
        "waits": args.waits,
        "namespaces": args.namespaces,
        "flip_window_s": args.window,
        "statuses": dict(statuses),
        "flipper": flipped,
        "wall_s": {
            "start_all_waits": round(all_started - launched, 3),
            "finish_after_first_flip": round(done - go, 3),
            "flips_spread_over": round(max(committed) - min(committed), 3) if committed else None,
        },
        "api": {
            "requests_to_start": request_counts(before, idle),
            "requests_to_finish": request_counts(idle, after),
            "requests_total": sum(request_counts(before, after).values()),
            "watch_streams": [
                {"namespace": w["namespace"], "opened": w["opened"]}
                for w in after["watches"]
                if w["resource"] == "volumesnapshots"
            ],
        },
        "latency_ms": {
            "commit_to_event": distribution(latency),
            "commit_to_sent (simulator)": distribution(server),
            "sent_to_event (client)": distribution(ours),
            "sent_to_check (watch, informer)": distribution(delivered),
            "check_to_event (content GET, result)": distribution(read),
        },
        "loop_lateness_ms": {
            "whole_run": watchdog.summary(),
            **{phase: watchdog.summary(since, until) for phase, (since, until) in phases.items()},
        },
        "memory": {
            "rss_before_mib": round(rss_before / MiB, 1),
            "rss_all_waiting_mib": round(rss_waiting / MiB, 1),
            "rss_peak_mib": round(rss_peak / MiB, 1),
            "rss_peak_delta_per_1000_waits_mib": round((rss_peak - rss_before) / MiB * 1000 / args.waits, 1),
        },
        "raw": {
            "phases_s": {phase: [round(a, 4), round(b, 4)] for phase, (a, b) in phases.items()},
            "latency_ms": [round(value * 1000, 2) for value in latency],
            "committed_s": [round(value - min(committed), 4) for value in committed] if committed else [],
            "watchdog": [[round(at - origin, 4), round(late * 1000, 3)] for at, late in watchdog.samples],
        },
    }
    if traced is not None:
        result["memory"]["tracemalloc_peak_mib"] = round(traced[1] / MiB, 1)
        result["memory"]["top_sites_while_waiting"] = sites
    if watchdog.sampler is not None:
        result["stall_hot_spots"] = watchdog.sampler.hot_spots()
    return result


def top_allocation_sites(limit: int = 8) -> list[dict[str, Any]]:
    """List the files holding the most traced memory right now (needs ``tracemalloc`` running)."""
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    stats = snapshot.statistics("filename")[:limit]
    return [
        {"file": short_path(stat.traceback[0].filename), "mib": round(stat.size / MiB, 2)} for stat in stats
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--name", default="snapshot waits", help="label of this scenario in reports")
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--namespaces", type=int, default=1)
    parser.add_argument(
        "--window", type=float, default=10.0, help="seconds over which snapshots become ready"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="the flipper's requests in flight")
    parser.add_argument("--settle", type=float, default=2.0, help="idle seconds between start and first flip")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="trace Python allocations (slows the loop)"
    )
    parser.add_argument("--out", type=Path, help="write the JSON result here (default: stdout)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the scenario with its own simulator process and report."""
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-snapshots-"))
    os.environ.setdefault("AIRFLOW_HOME", str(workdir / "airflow-home"))
    simulator = kubernetes_simulator(workdir)
    try:
        connection = {
            "conn_type": "kubernetes",
            "extra": {"kube_config_path": simulator.details["kubeconfig"]},
        }
        os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = json.dumps(connection)
        # Import Airflow and the library before anything is measured, as a running triggerer has.
        import netapp_dataops_airflow.triggers.kubernetes  # noqa: F401

        contents = workdir / "contents.json"
        flipper = subprocess.Popen(
            [
                *(sys.executable, "-m", "benchmarks.flipper", simulator.url, str(contents)),
                *("--ca-file", simulator.details["CA file"]),
                *("--window", str(args.window), "--concurrency", str(args.concurrency)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            result = asyncio.run(measure(simulator, args, flipper, contents))
        finally:
            flipper.kill()
    finally:
        simulator.stop()
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
