"""Benchmark 3: concurrent Cloud Sync sync waits on one simulated account.

This process stands in for one triggerer: it seeds ``--waits`` relationships on the Cloud Sync
simulator (another process), requests a sync on each (each runs ``--duration`` seconds after a
second pending), and waits for all of them with :class:`CloudSyncTrigger` in Airflow's own trigger
runner (:mod:`benchmarks.triggerer`), polling every ``--poll-interval`` seconds.
Reported, as JSON in ``--out``:

- requests the service received while the waits ran (from the simulator's request log): account
  listings (the shared poll), per-relationship reads, token exchanges, and API requests per minute;
- delay from each sync's end (its request, taken as the middle of its PUT, plus pending and
  duration) to its trigger's event;
- event-loop lateness seen by a 5 ms watchdog, and where the loop was when it stalled.

Usage: ``python -m benchmarks.sync_waits --waits 1000 --poll-interval 5 --out result.json``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.measure import LoopWatchdog, distribution, rss_bytes, write_result
from benchmarks.servers import control, start_simulator, sync_relationship
from benchmarks.triggerer import InProcessTriggerer, run_in_triggerer

REFRESH_TOKEN = "bench-refresh-token-0123"  # a throwaway simulator's, printed by it anyway
ACCOUNT = "account-Bench001"
CONN_ID = "cloud_sync_bench"
CLIENT_ID = "Mu0V1ywgYteI6w1MbD15fKfVIUrNXGWC"
PENDING = 1.0
MiB = 1024 * 1024


async def start_syncs(
    http: aiohttp.ClientSession, waits: int, duration: float
) -> list[tuple[str, str | None, float]]:
    """Seed relationships and request a sync on each, as operators on workers would.

    Returns (relationship id, start of the activity shown before, expected end) per sync.
    """
    settings = {"pending_seconds": PENDING, "duration": duration, "stale_seconds": PENDING}
    await control(http, "PUT", "/_simulator/sync-settings", settings)
    await control(http, "PUT", "/_simulator/token-lifetime", {"seconds": 86400})
    ids = []
    for index in range(waits):
        seeded = await control(http, "POST", "/_simulator/relationships", sync_relationship(index, ACCOUNT))
        ids.append((seeded["id"], seeded["activity"]["startTime"]))
    grant = {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, "client_id": CLIENT_ID}
    async with http.post("/oauth/token", json=grant) as response:
        token = (await response.json())["access_token"]
    headers = {"Authorization": f"Bearer {token}", "x-account-id": ACCOUNT}
    gate = asyncio.Semaphore(16)

    async def start(relationship: str, shown: str | None) -> tuple[str, str | None, float]:
        async with gate:
            sent = time.time()
            async with http.put(f"/api/relationships/{relationship}/sync", headers=headers) as response:
                response.raise_for_status()
            received = time.time()
        return relationship, shown, (sent + received) / 2 + PENDING + duration

    return list(await asyncio.gather(*(start(r, s) for r, s in ids)))


def classify(requests: list[str]) -> dict[str, int]:
    """Count requests: account listings, reads of one relationship, token exchanges, anything else."""
    counts: Counter[str] = Counter()
    for line in requests:
        path = line.split(" ", 1)[1].split("?")[0]
        if path == "/api/relationships-v2":
            counts["listings (one per account and poll)"] += 1
        elif path.startswith("/api/relationships-v2/"):
            counts["relationship reads (one per wait)"] += 1
        elif path == "/oauth/token":
            counts["token exchanges"] += 1
        else:
            counts["other: " + line.split("?")[0]] += 1
    return dict(counts)


async def measure(url: str, ca_pem: str, args: argparse.Namespace) -> dict[str, Any]:
    """Request the syncs, wait for all of them in this loop, and measure."""
    from netapp_dataops_airflow.triggers.cloud_sync import CloudSyncTrigger

    context = ssl.create_default_context(cadata=ca_pem)
    async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(ssl=context)) as http:
        syncs = await start_syncs(http, args.waits, args.duration)
        logged_before = len(await control(http, "GET", "/_simulator/requests"))
        arrivals: dict[str, float] = {}
        statuses: Counter[str] = Counter()

        triggers = [
            CloudSyncTrigger(CONN_ID, relationship, args.poll_interval, started_after=shown)
            for relationship, shown, _ in syncs
        ]

        def fired(index: int, event: Any, at: float) -> None:
            arrivals[syncs[index][0]] = at
            statuses[event.payload["status"]] += 1

        triggerer = InProcessTriggerer(triggers, fired)
        rss_before = rss_bytes()
        watchdog = LoopWatchdog()
        watchdog.start()
        launched = time.perf_counter()
        await run_in_triggerer(triggerer, give_up_after=900)
        done = time.perf_counter()
        await watchdog.stop()
        rss_peak = max(watchdog.rss_peak, rss_bytes())
        requests = (await control(http, "GET", "/_simulator/requests"))[logged_before:]

    minutes = (done - launched) / 60
    kinds = classify(requests)
    api = [r for r in requests if " /api/" in r]
    delays = [arrivals[r] - end for r, _, end in syncs if r in arrivals]
    return {
        "benchmark": "sync_waits",
        "name": args.name,
        "waits": args.waits,
        "poll_interval_s": args.poll_interval,
        "sync_duration_s": args.duration,
        "statuses": dict(statuses),
        "wall_s": {"waiting": round(done - launched, 3)},
        "api": {
            "requests": kinds,
            "api_requests_total": len(api),
            "api_requests_per_minute": round(len(api) / minutes, 1),
            "token_requests": kinds.get("token exchanges", 0),
        },
        "latency_ms": {"done_to_event": distribution(delays)},
        "loop_lateness_ms": {"whole_run": watchdog.summary()},
        "memory": {"rss_before_mib": round(rss_before / MiB, 1), "rss_peak_mib": round(rss_peak / MiB, 1)},
        "stall_hot_spots": watchdog.sampler.hot_spots() if watchdog.sampler is not None else [],
        "raw": {"delay_ms": [round(delay * 1000, 1) for delay in delays]},
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--name", default="sync waits", help="label of this scenario in reports")
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--poll-interval", type=float, default=5.0, help="the triggers' poll_interval")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds each sync runs")
    parser.add_argument("--out", type=Path, help="write the JSON result here (default: stdout)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the scenario with its own simulator process and report."""
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-syncs-"))
    os.environ.setdefault("AIRFLOW_HOME", str(workdir / "airflow-home"))
    simulator = start_simulator(
        "cloud_sync",
        "--refresh-token",
        REFRESH_TOKEN,
        "--account-id",
        ACCOUNT,
        log=workdir / "simulator.log",
        expect=("CA file",),
    )
    try:
        ca_pem = Path(simulator.details["CA file"]).read_text()
        connection = {
            "conn_type": "netapp_cloud_sync",
            "password": REFRESH_TOKEN,
            "extra": {
                "account_id": ACCOUNT,
                "api_url": simulator.details["API URL"],
                "token_url": simulator.details["token URL"],
                "ca_certificate": ca_pem,
            },
        }
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(connection)
        # Import Airflow and the library before anything is measured, as a running triggerer has.
        import netapp_dataops_airflow.triggers.cloud_sync  # noqa: F401

        result = asyncio.run(measure(simulator.url, ca_pem, args))
    finally:
        simulator.stop()
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
