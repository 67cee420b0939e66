"""Benchmark: many concurrent SnapMirror transfer waits on one simulated ONTAP cluster.

Runs the ONTAP simulator in a process of its own, starts ``--waits`` transfers that each take
``--transfer-seconds``, and waits for all of them with SnapMirrorTransferTrigger in one event loop,
as one triggerer would. Prints, as JSON:

- requests the cluster received per minute while the transfers ran (from the simulator's log);
- the delay from each transfer's end to its event (p50, p99, max);
- event-loop stalls (how late a 50 ms sleep woke up: p99, max).

Usage: ``python benchmarks/snapmirror_waits.py --waits 1000 --poll-interval 5``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

PASSWORD = "bench-password-0123"
CONN_ID = "ontap_bench"


def percentile(values: list[float], fraction: float) -> float:
    """Return the value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


async def control(http: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> Any:
    """Call the simulator's control API."""
    async with http.request(method, path, json=body) as response:
        response.raise_for_status()
        return await response.json()


async def measure(url: str, ca_pem: str, args: argparse.Namespace) -> dict[str, Any]:
    """Seed, start, wait and measure."""
    from netapp_dataops_airflow.hooks.ontap import OntapHook
    from netapp_dataops_airflow.triggers.snapmirror import SnapMirrorTransferTrigger

    context = ssl.create_default_context(cadata=ca_pem)
    async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(ssl=context)) as http:
        await control(http, "PUT", "/_simulator/transfer-settings", {"duration": args.transfer_seconds})
        relationships = [
            (await control(http, "POST", "/_simulator/relationships", {"source_path": f"src:v{i}",
             "destination_path": f"dst:v{i}", "size_bytes": 1 << 30}))["uuid"]
            for i in range(args.waits)
        ]  # fmt: skip
        settings = OntapHook(CONN_ID).get_connection_settings()
        async with settings.session_client() as client:
            started = await asyncio.gather(*(client.start_transfer(uuid) for uuid in relationships))
        ends = time.monotonic() + args.transfer_seconds  # every transfer ends about now
        before = len(await control(http, "GET", "/_simulator/requests"))

        lags: list[float] = []
        stop = asyncio.Event()

        async def watch_loop() -> None:
            while not stop.is_set():
                asleep = time.monotonic()
                await asyncio.sleep(0.05)
                lags.append(time.monotonic() - asleep - 0.05)
                if lags[-1] > 0.05 and args.show_stalls:
                    print(f"stall {lags[-1]:.3f}s at +{time.monotonic() - began:.2f}s", file=sys.stderr)

        arrivals: list[float] = []

        async def wait(relationship: str, transfer: str) -> str:
            trigger = SnapMirrorTransferTrigger(CONN_ID, relationship, transfer, args.poll_interval)
            async for event in trigger.run():
                arrivals.append(time.monotonic())
                return str(event.payload["status"])
            return "none"

        async def requests_when_transfers_end() -> list[str]:
            await asyncio.sleep(max(0.0, ends - time.monotonic()))
            return list(await control(http, "GET", "/_simulator/requests"))[before:]

        watcher = asyncio.create_task(watch_loop())
        began = time.monotonic()
        at_end = asyncio.create_task(requests_when_transfers_end())
        statuses = await asyncio.gather(*(wait(r, t) for r, t in zip(relationships, started, strict=True)))
        stop.set()
        await watcher
        while_running = await at_end
        requests = list(await control(http, "GET", "/_simulator/requests"))[before:]

    def batched(log: list[str]) -> int:
        return sum(1 for r in log if r.startswith("GET /api/snapmirror/relationships?"))

    per_transfer = [r for r in requests if re.match(r"GET /api/snapmirror/relationships/[^?]+/transfers/", r)]
    delays = [arrival - ends for arrival in arrivals]
    return {
        "waits": args.waits,
        "poll_interval_s": args.poll_interval,
        "transfer_seconds": args.transfer_seconds,
        "statuses": {status: statuses.count(status) for status in set(statuses)},
        "requests_per_minute_while_transferring": round(len(while_running) / (ends - began) * 60, 1),
        "batched_polls_while_transferring": batched(while_running),
        "per_transfer_reads_at_the_end": len(per_transfer),
        "all_requests_during_the_wait": len(requests),
        "end_to_event_delay_s": {
            "p50": round(statistics.median(delays), 3),
            "p99": round(percentile(delays, 0.99), 3),
            "max": round(max(delays), 3),
        },
        "loop_stall_s": {"p99": round(percentile(lags, 0.99), 4), "max": round(max(lags), 4)},
    }


def main() -> int:
    """Run the benchmark; print its measurements as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--transfer-seconds", type=float, default=30.0)
    parser.add_argument("--show-stalls", action="store_true", help="print each stall over 50 ms to stderr")
    args = parser.parse_args()

    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))
    server = subprocess.Popen(
        [sys.executable, "-m", "netapp_dataops_airflow.simulators", "serve", "ontap", "--password", PASSWORD],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split()[-1]
        ca_file = ""
        for line in server.stdout:
            if "CA file:" in line:
                ca_file = line.split()[-1]
                break
        ca_pem = Path(ca_file).read_text()
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
            {"conn_type": "netapp_ontap", "host": url, "login": "admin", "password": PASSWORD,
             "extra": {"ca_certificate": ca_pem}}
        )  # fmt: skip
        print(json.dumps(asyncio.run(measure(url, ca_pem, args)), indent=2))
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
