"""ONTAP REST simulator (SnapMirror relationships, transfers, jobs) over HTTPS with basic auth."""

from __future__ import annotations

import argparse
import asyncio

from netapp_dataops_airflow.simulators.ontap.simulator import OntapSimulator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``serve ontap``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    parser.add_argument("--user", default="admin", help="the accepted user name (default: admin)")
    parser.add_argument("--password", default=None, help="its password (default: a random one, printed)")
    parser.add_argument("--cluster-name", default="sim-cluster", help="the cluster name to report")


async def serve(args: argparse.Namespace) -> None:
    """Run the simulator until cancelled, after printing how to reach it."""
    simulator = OntapSimulator(
        username=args.user,
        password=args.password,
        host=args.host,
        port=args.port,
        cluster_name=args.cluster_name,
    )
    async with simulator:
        # The operator started it for local use; showing the password is the point of this output.
        print(f"ONTAP simulator listening on {simulator.url}", flush=True)
        print(f"  user:     {simulator.username}", flush=True)
        print(f"  password: {simulator.password}", flush=True)
        print(f"  CA file:  {simulator.ca_file}", flush=True)
        print("  control:  POST/PUT/GET /_simulator/... (see simulators/ontap/control.py)", flush=True)
        await asyncio.Event().wait()
