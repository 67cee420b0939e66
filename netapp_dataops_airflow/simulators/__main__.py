"""Command line: ``python -m netapp_dataops_airflow.simulators serve <simulator> [options]``.

Each simulator package has a ``cli`` module with ``add_arguments(parser)`` and
``async def serve(args)``; ``serve`` prints where it listens and runs until cancelled. This module
cancels it on SIGINT or SIGTERM, so each ``serve`` only cleans up (``async with``, ``finally``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import signal
import sys
from collections.abc import Awaitable, Sequence

# Name on the command line -> module holding add_arguments() and serve(). Imported only when the
# command line runs, so importing the package stays cheap.
SIMULATORS = {
    "all": "netapp_dataops_airflow.simulators.suite.cli",
    "cloud_sync": "netapp_dataops_airflow.simulators.cloud_sync.cli",
    "kubernetes": "netapp_dataops_airflow.simulators.kubernetes.cli",
    "ontap": "netapp_dataops_airflow.simulators.ontap.cli",
    "xcp": "netapp_dataops_airflow.simulators.xcp.cli",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen simulator until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m netapp_dataops_airflow.simulators")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run a simulator on loopback until interrupted")
    targets = serve.add_subparsers(dest="simulator", required=True, metavar="SIMULATOR")
    for name, module_name in SIMULATORS.items():
        module = importlib.import_module(module_name)
        sub = targets.add_parser(name, help=module.__doc__.splitlines()[0] if module.__doc__ else None)
        module.add_arguments(sub)
        sub.set_defaults(module=module)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C before the loop ran
        asyncio.run(_until_stopped(args.module.serve(args)))
    print("stopped", flush=True)
    return 0


async def _until_stopped(serving: Awaitable[None]) -> None:
    """Run ``serving`` until SIGINT or SIGTERM cancels it.

    The handlers are installed here rather than left to Python's default: a program started in
    the background by a non-interactive shell inherits SIGINT as *ignored*, and then Ctrl-C (or a
    test's SIGINT) would never reach asyncio.
    """
    task = asyncio.ensure_future(serving)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise


if __name__ == "__main__":
    sys.exit(main())
