"""Benchmark 2: concurrent SnapMirror transfer waits on one simulated ONTAP cluster.

This process stands in for one triggerer: it starts ``--waits`` transfers on the ONTAP simulator
(another process; each transfer takes ``--duration`` seconds) and waits for all of them at once
with :class:`SnapMirrorTransferTrigger`, polling every ``--poll-interval`` seconds. Reported, as
JSON in ``--out``:

- requests the cluster received while the waits ran (from the simulator's request log): batched
  relationship polls, per-transfer reads, and all of them per minute;
- delay from each transfer's end (its start, taken as the middle of its POST, plus the duration)
  to its trigger's event;
- event-loop lateness seen by a 5 ms watchdog, and where the loop was when it stalled.

Usage: ``python -m benchmarks.transfer_waits --waits 1000 --poll-interval 5 --out result.json``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import ssl
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.measure import LoopWatchdog, distribution, rss_bytes, write_result
from benchmarks.servers import control, ontap_simulator
from benchmarks.triggerer import InProcessTriggerer, run_in_triggerer

PASSWORD = "bench-password-0123"  # a throwaway simulator's, printed by it anyway
CONN_ID = "ontap_bench"
RELATIONSHIPS = "/api/snapmirror/relationships"
MiB = 1024 * 1024
POLL = re.compile(r"^GET /api/snapmirror/relationships\?")
TRANSFER_READ = re.compile(r"^GET /api/snapmirror/relationships/[^/?]+/transfers/[^/?]+")


async def start_transfers(
    http: aiohttp.ClientSession, waits: int, duration: float
) -> list[tuple[str, str, float, float]]:
    """Seed ``waits`` relationships and start a transfer on each, as operators on workers would.

    Returns (relationship UUID, transfer UUID, expected end, POST round trip) per transfer; the end
    is taken as the middle of the POST plus ``duration`` (off by at most half the round trip).
    """
    await control(http, "PUT", "/_simulator/transfer-settings", {"duration": duration})
    relationships = []
    for index in range(waits):
        body = {"source_path": f"src:vol{index}", "destination_path": f"dst:vol{index}"}
        relationships.append((await control(http, "POST", "/_simulator/relationships", body))["uuid"])
    token = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    auth = {"Authorization": f"Basic {token}"}
    gate = asyncio.Semaphore(16)

    async def start(uuid: str) -> tuple[str, str, float, float]:
        async with gate:
            sent = time.time()
            async with http.post(f"{RELATIONSHIPS}/{uuid}/transfers", json={}, headers=auth) as response:
                response.raise_for_status()
                transfer = response.headers["Location"].rsplit("/", 1)[-1]
            received = time.time()
        return uuid, transfer, (sent + received) / 2 + duration, received - sent

    return list(await asyncio.gather(*(start(uuid) for uuid in relationships)))


def classify(requests: list[str]) -> dict[str, int]:
    """Count requests: batched relationship polls, reads of one transfer, anything else."""
    counts: Counter[str] = Counter()
    for line in requests:
        if POLL.match(line):
            counts["relationship polls (batched)"] += 1
        elif TRANSFER_READ.match(line):
            counts["transfer reads (one per wait)"] += 1
        else:
            counts["other: " + line.split("?")[0]] += 1
    return dict(counts)


async def measure(url: str, ca_pem: str, args: argparse.Namespace) -> dict[str, Any]:
    """Start the transfers, wait for all of them in this loop, and measure."""
    from netapp_dataops_airflow.triggers.snapmirror import SnapMirrorTransferTrigger

    context = ssl.create_default_context(cadata=ca_pem)
    async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(ssl=context)) as http:
        transfers = await start_transfers(http, args.waits, args.duration)
        logged_before = len(await control(http, "GET", "/_simulator/requests"))
        arrivals: dict[str, float] = {}
        statuses: Counter[str] = Counter()

        triggers = [
            SnapMirrorTransferTrigger(CONN_ID, relationship, transfer, poll_interval=args.poll_interval)
            for relationship, transfer, _, _ in transfers
        ]

        def fired(index: int, event: Any, at: float) -> None:
            arrivals[transfers[index][1]] = at
            statuses[event.payload["status"]] += 1

        triggerer = InProcessTriggerer(triggers, fired)
        rss_before = rss_bytes()
        watchdog = LoopWatchdog()
        watchdog.start()
        launched, launched_wall = time.perf_counter(), time.time()
        await run_in_triggerer(triggerer)
        done = time.perf_counter()
        await watchdog.stop()
        rss_peak = max(watchdog.rss_peak, rss_bytes())
        requests = (await control(http, "GET", "/_simulator/requests"))[logged_before:]

    minutes = (done - launched) / 60
    kinds = classify(requests)
    ends = [end for _, _, end, _ in transfers]
    delays = [arrivals[transfer] - end for _, transfer, end, _ in transfers if transfer in arrivals]
    return {
        "benchmark": "transfer_waits",
        "name": args.name,
        "waits": args.waits,
        "poll_interval_s": args.poll_interval,
        "transfer_duration_s": args.duration,
        "statuses": dict(statuses),
        "wall_s": {
            "waiting": round(done - launched, 3),
            "transfers_end_within": round(max(ends) - min(ends), 3),
            "first_end_after_launch": round(min(ends) - launched_wall, 3),
        },
        "api": {
            "requests": kinds,
            "requests_total": len(requests),
            "requests_per_minute": round(len(requests) / minutes, 1),
            "polls_per_minute": round(kinds.get("relationship polls (batched)", 0) / minutes, 1),
        },
        "latency_ms": {
            "end_to_event": distribution(delays),
            "start_post_round_trip": distribution([rtt for _, _, _, rtt in transfers]),
        },
        "loop_lateness_ms": {"whole_run": watchdog.summary()},
        "memory": {
            "rss_before_mib": round(rss_before / MiB, 1),
            "rss_peak_mib": round(rss_peak / MiB, 1),
        },
        "stall_hot_spots": watchdog.sampler.hot_spots() if watchdog.sampler is not None else [],
        "raw": {
            "delay_ms": [round(delay * 1000, 1) for delay in delays],
            "watchdog": [[round(at, 4), round(late * 1000, 3)] for at, late in watchdog.samples],
        },
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--name", default="transfer waits", help="label of this scenario in reports")
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--poll-interval", type=float, default=5.0, help="the triggers' poll_interval")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds each transfer takes")
    parser.add_argument("--out", type=Path, help="write the JSON result here (default: stdout)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the scenario with its own simulator process and report."""
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-transfers-"))
    os.environ.setdefault("AIRFLOW_HOME", str(workdir / "airflow-home"))
    simulator = ontap_simulator(workdir, PASSWORD)
    try:
        ca_pem = Path(simulator.details["CA file"]).read_text()
        connection = {
            "conn_type": "netapp_ontap",
            "host": simulator.url,
            "login": "admin",
            "password": PASSWORD,
            "extra": {"ca_certificate": ca_pem},
        }
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(connection)
        # Import Airflow and the library before anything is measured, as a running triggerer has.
        import netapp_dataops_airflow.triggers.snapmirror  # noqa: F401

        result = asyncio.run(measure(simulator.url, ca_pem, args))
    finally:
        simulator.stop()
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
