"""Kubernetes API server with the CSI snapshot controller and Trident (kubectl-compatible)."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from .simulator import KubernetesSimulator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``serve kubernetes``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway CA")
    parser.add_argument("--token", help="require this bearer token")
    parser.add_argument("--kubeconfig", type=Path, help="where to write the kubeconfig (default: a temp dir)")
    parser.add_argument("--delay", type=float, help="seconds each simulated controller step takes")
    parser.add_argument(
        "--pod-duration", type=float, help="seconds a pod's container runs (default 1; annotations win)"
    )
    parser.add_argument("--pod-exit-code", type=int, help="exit code of a pod's container (default 0)")
    parser.add_argument(
        "--pod-output", help="what a pod's container prints, \\n between lines (default: echo its args)"
    )


async def serve(args: argparse.Namespace) -> None:
    """Run until cancelled, printing the URL and the kubeconfig path."""
    simulator = KubernetesSimulator(host=args.host, port=args.port, tls=args.tls, token=args.token)
    if args.delay is not None:
        simulator.backend.timing.set_all(args.delay)
    output = args.pod_output.replace("\\n", "\n") if args.pod_output is not None else None
    pods = {"duration_seconds": args.pod_duration, "exit_code": args.pod_exit_code, "output": output}
    simulator.backend.pods.defaults.update(**{k: v for k, v in pods.items() if v is not None})
    async with simulator:
        path = args.kubeconfig or Path(tempfile.mkdtemp(prefix="k8s-sim-")) / "kubeconfig"
        simulator.write_kubeconfig(path)
        print(f"Kubernetes simulator listening on {simulator.url}", flush=True)
        print(f"kubeconfig: {path}", flush=True)
        await asyncio.Event().wait()  # until cancelled
