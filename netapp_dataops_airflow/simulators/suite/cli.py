"""Every simulator, seeded for the example DAGs, with the AIRFLOW_CONN_* lines for a local Airflow."""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import tempfile
from pathlib import Path

from netapp_dataops_airflow.simulators.suite.suite import SimulatorSuite


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``serve all``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument(
        "--directory",
        type=Path,
        default=None,
        help="where the kubeconfig and the XCP host's files go (default: a new temporary directory)",
    )
    parser.add_argument(
        "--connections-file",
        type=Path,
        default=None,
        help="also write the connections here as JSON {conn_id: connection} (mode 0600), for programs",
    )


def environment_lines(connections: dict[str, dict[str, object]]) -> list[str]:
    """Render connections as ``export AIRFLOW_CONN_<ID>='<json>'`` lines a POSIX shell accepts."""
    return [
        f"export AIRFLOW_CONN_{conn_id.upper()}={shlex.quote(json.dumps(connection))}"
        for conn_id, connection in connections.items()
    ]


def write_private_json(path: Path, value: object) -> None:
    """Write ``value`` as JSON, readable by the owner only, atomically (a reader never sees half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.touch(mode=0o600)
    partial.write_text(json.dumps(value))
    partial.replace(path)


async def serve(args: argparse.Namespace) -> None:
    """Run every simulator until cancelled, after printing how Airflow reaches them."""
    directory = args.directory or Path(tempfile.mkdtemp(prefix="netapp-simulators-"))
    async with SimulatorSuite(directory, host=args.host) as suite:
        connections = suite.connections()
        if args.connections_file:
            write_private_json(args.connections_file, connections)
        print("Simulators running (control API of each: <url>/_simulator/, see docs/simulators.md):")
        for name, where in suite.endpoints().items():
            print(f"  {name:<11} {where}")
        print(f"  kubeconfig  {suite.kubeconfig}")
        # Started by the user for a local Airflow: the credentials in these lines are the point.
        print("Airflow connections (run these in the shell that starts Airflow):")
        for line in environment_lines(connections):
            print(line)
        print("Ctrl-C stops the simulators.", flush=True)
        await asyncio.Event().wait()  # until cancelled
