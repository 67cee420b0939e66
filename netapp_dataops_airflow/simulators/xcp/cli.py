"""XCP host simulator: the xcp executable behind an embedded SSH server, on loopback."""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from netapp_dataops_airflow.simulators.xcp.host import SimulatedXcpHost


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``serve xcp``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    parser.add_argument(
        "--directory", default=None, help="where the host keeps its files (default: a new one)"
    )
    parser.add_argument("--progress-interval", type=float, default=5.0, help="seconds between progress lines")
    parser.add_argument("--bytes-per-second", type=int, default=0, help="copy speed (default: unlimited)")
    parser.add_argument(
        "--stats-file", default=None, help="keep the SSH connections and commands served so far here (JSON)"
    )


def _write_stats(path: Path, host: SimulatedXcpHost) -> None:
    """Replace the stats file atomically: a reader never sees half of it."""
    stats = {"connections": host.server.connections, "commands": host.server.commands}
    path.with_suffix(".tmp").write_text(json.dumps(stats))
    path.with_suffix(".tmp").replace(path)


async def serve(args: argparse.Namespace) -> None:
    """Run the simulated XCP host until cancelled, after printing how to reach it."""
    directory = Path(args.directory) if args.directory else Path(tempfile.mkdtemp(prefix="xcp-host-"))
    host = SimulatedXcpHost(directory, progress_interval=args.progress_interval)
    host.configure(bytes_per_second=args.bytes_per_second)
    host.server.host, host.server.port = args.host, args.port
    await host.server.start()
    try:
        # The operator started it for local use; showing the key is the point of this output.
        print(
            f"XCP host simulator: SSH on {host.server.host}:{host.server.port}, user {host.user}", flush=True
        )
        print(f"  exports:  {host.config.root}/<server>/<export>  (server:/export)", flush=True)
        print(f"  runs:     {host.runs}", flush=True)
        print(f"  AIRFLOW_CONN_XCP_SIM='{json.dumps(host.connection())}'", flush=True)
        while True:
            if args.stats_file:
                _write_stats(Path(args.stats_file), host)
            await asyncio.sleep(0.2)
    finally:
        await host.server.stop()
