"""Cloud Sync simulator (token endpoint and API: accounts, relationships, sync, abort) over HTTPS."""

from __future__ import annotations

import argparse
import asyncio

from netapp_dataops_airflow.simulators.cloud_sync.simulator import CloudSyncSimulator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``serve cloud_sync``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    parser.add_argument("--refresh-token", default=None, help="the accepted refresh token (default: random)")
    parser.add_argument("--account-id", default="account-Sim00001", help="the account to create")


async def serve(args: argparse.Namespace) -> None:
    """Run the simulator until cancelled, after printing what a connection needs."""
    simulator = CloudSyncSimulator(refresh_token=args.refresh_token, host=args.host, port=args.port)
    simulator.backend.add_account(args.account_id, "Simulated")
    async with simulator:
        # Started by the user for local use; showing the refresh token is the point of this output.
        print(f"Cloud Sync simulator listening on {simulator.url}", flush=True)
        print(f"  API URL:       {simulator.api_url}", flush=True)
        print(f"  token URL:     {simulator.token_url}", flush=True)
        print(f"  refresh token: {simulator.refresh_token}", flush=True)
        print(f"  account id:    {args.account_id}", flush=True)
        print(f"  CA file:       {simulator.ca_file}", flush=True)
        print(
            "  control:       POST/PUT/GET /_simulator/... (see simulators/cloud_sync/control.py)", flush=True
        )
        await asyncio.Event().wait()
