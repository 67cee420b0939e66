"""Benchmark: concurrent XCP run waits on one simulated XCP host over SSH.

This process stands in for one triggerer: it starts ``--runs`` xcp copies on a simulated XCP host
(``serve xcp`` in another process: the embedded SSH server and the xcp simulator; each copy takes
about ``--duration`` seconds) and waits for all of them with :class:`XcpRunTrigger` in Airflow's own
trigger runner (:mod:`benchmarks.triggerer`), polling every ``--poll-interval`` seconds.
Reported, as JSON in ``--out``:

- what the host's SSH server saw while the waits ran: connections, commands, commands per minute
  (the target: one connection, one status command per poll);
- delay from each run's end (the time its exit code was written) to its trigger's event;
- event-loop lateness seen by a 5 ms watchdog.

Usage: ``python -m benchmarks.xcp_waits --runs 200 --poll-interval 5 --duration 30 --out result.json``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.measure import LoopWatchdog, distribution, rss_bytes, write_result
from benchmarks.triggerer import InProcessTriggerer, run_in_triggerer

CONN_ID = "xcp_bench"
FILE_SIZE = 100_000


def start_host(directory: Path, duration: float) -> tuple[subprocess.Popen[str], dict[str, Any], Path]:
    """Start ``serve xcp`` in a process of its own; return it, its ssh connection and its stats file."""
    stats = directory / "stats.json"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "netapp_dataops_airflow.simulators", "serve", "xcp",
            "--directory", str(directory / "host"), "--progress-interval", "5",
            "--bytes-per-second", str(int(FILE_SIZE / duration)), "--stats-file", str(stats),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(4)]
    connection = json.loads(lines[3].strip().split("=", 1)[1].strip("'"))
    return process, connection, stats


def ended(run_root: str, run_id: str) -> float:
    """Return when the run's exit code was written (the host is this machine)."""
    return Path(run_root, run_id, "exit_code").stat().st_mtime


def seed(nfs: Path, runs: int) -> None:
    """Make the source tree and one empty target per run."""
    (nfs / "src" / "data").mkdir(parents=True)
    (nfs / "src" / "data" / "file.bin").write_bytes(os.urandom(FILE_SIZE))
    for number in range(runs):
        (nfs / "dst" / f"d{number}").mkdir(parents=True)


def served(stats: Path) -> dict[str, int]:
    """Return what the host's SSH server has served so far (written by it every 0.2 s)."""
    time.sleep(0.5)
    return dict(json.loads(stats.read_text()))


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    """Launch the runs, wait for them all with triggers, measure."""
    from netapp_dataops_airflow.clients._blocking import run_blocking
    from netapp_dataops_airflow.clients.xcp import XcpHost, launch, shared_host
    from netapp_dataops_airflow.clients.xcp_argv import XcpCommand
    from netapp_dataops_airflow.hooks.xcp import XcpHook
    from netapp_dataops_airflow.triggers.xcp import XcpRunTrigger

    directory = Path(tempfile.mkdtemp(prefix="bench-xcp-"))
    process, connection, stats = start_host(directory, args.duration)
    try:
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(connection)
        nfs = directory / "host" / "nfs"
        seed(nfs, args.runs)
        run_root = str(directory / "host" / "runs")
        target = await XcpHook(CONN_ID).aget_connection_settings()
        gate = asyncio.Semaphore(16)
        runs: list[tuple[str, list[str]]] = []
        host: XcpHost | None = None

        async def start(number: int) -> None:
            argv = XcpCommand.parse(
                "copy", source="src:/data", target=f"dst:/d{number}", index=f"bench{number}"
            ).argv()
            assert host is not None
            async with gate:
                await launch(host, run_root, f"run{number}", "xcp", argv, "copy")
            runs.append((f"run{number}", argv))

        async def launch_all() -> None:
            nonlocal host
            async with shared_host(target) as host:
                await asyncio.gather(*(start(number) for number in range(args.runs)))

        began = time.monotonic()
        # Operators launch on workers, other processes: a loop of its own (closed with its
        # connection) stands for them, so the waits below open their connection as a triggerer does.
        await asyncio.to_thread(run_blocking, launch_all)
        launch_seconds = time.monotonic() - began
        before = served(stats)

        watchdog = LoopWatchdog()
        watchdog.start()
        arrived: dict[str, tuple[float, dict[str, Any]]] = {}

        triggers = [
            XcpRunTrigger(CONN_ID, run_root, run_id, argv, args.poll_interval) for run_id, argv in runs
        ]

        def fired(index: int, event: Any, at: float) -> None:
            arrived[runs[index][0]] = (at, event.payload)

        triggerer = InProcessTriggerer(triggers, fired)
        waits_began = time.monotonic()
        await run_in_triggerer(triggerer)
        waited = time.monotonic() - waits_began
        await watchdog.stop()
        after = served(stats)
        delays = [at - ended(run_root, run_id) for run_id, (at, _) in arrived.items()]
        statuses: dict[str, int] = {}
        for _, payload in arrived.values():
            statuses[payload["status"]] = statuses.get(payload["status"], 0) + 1
        commands = after["commands"] - before["commands"]
        return {
            "name": args.name,
            "runs": args.runs,
            "poll_interval_s": args.poll_interval,
            "duration_s": args.duration,
            "launch_seconds": round(launch_seconds, 2),
            "wait_seconds": round(waited, 2),
            "statuses": statuses,
            "ssh": {
                "connections_during_waits": after["connections"] - before["connections"],
                "commands_during_waits": commands,
                "commands_per_minute": round(commands / waited * 60, 1),
            },
            "latency_ms": {"end_to_event": distribution(delays)},
            "loop_lateness_ms": {"whole_run": watchdog.summary()},
            "stall_hot_spots": watchdog.sampler.hot_spots() if watchdog.sampler is not None else [],
            "rss_peak_mib": round(max(watchdog.rss_peak, rss_bytes()) / 2**20, 1),
        }
    finally:
        process.terminate()
        process.wait(30)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, write the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--name", default="xcp waits")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args))
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
