"""Play the CSI driver: mark VolumeSnapshotContents ready on a schedule, from a process of its own.

The scenario starts this process early, seeds VolumeSnapshots whose contents the simulated
csi-snapshotter never finishes (its delay is set to a day), starts the waits, then writes the
contents' names to a file and ``go`` to this process's stdin. From then on this process PATCHes
each content's ``/status`` to ``readyToUse: true`` (spread evenly over ``--window`` seconds, or
all at once with ``--window 0``) as csi-snapshotter does when a CSI snapshot is cut; the
simulated snapshot controller copies that to the VolumeSnapshot, and the simulator times that
change. Doing it here keeps the work out of the measured event loop.

Usage: ``python -m benchmarks.flipper URL CONTENTS.json --ca-file CA.pem --window 10 --concurrency 16``;
prints ``{"flipped": n, "failed": n, "first": t, "last": t}`` (``time.time()``) when done.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import time
from pathlib import Path

import aiohttp

CONTENTS = "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


async def flip(http: aiohttp.ClientSession, name: str) -> bool:
    """Mark one content's CSI snapshot as taken and ready."""
    status = {
        "readyToUse": True,
        "snapshotHandle": f"bench/{name}",
        "restoreSize": 1 << 30,
        "creationTime": time.time_ns(),
    }
    async with http.patch(
        f"{CONTENTS}/{name}/status", data=json.dumps({"status": status}), headers=MERGE_PATCH
    ) as response:
        return response.status == 200


async def flip_all(
    url: str, ca_file: Path, contents: Path, window: float, concurrency: int
) -> dict[str, float]:
    """Wait for ``go`` on stdin, then flip the contents listed in ``contents`` over ``window`` s.

    The file is read after ``go``: the scenario writes it once it knows the names.
    """
    context = ssl.create_default_context(cafile=ca_file)
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=context)
    async with aiohttp.ClientSession(url, connector=connector) as http:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        names = json.loads(await asyncio.to_thread(contents.read_text))
        start = time.monotonic()
        first = time.time()

        async def at(offset: float, name: str) -> bool:
            await asyncio.sleep(max(0.0, start + offset - time.monotonic()))
            return await flip(http, name)

        step = window / max(1, len(names) - 1) if window > 0 else 0.0
        results = await asyncio.gather(*(at(index * step, name) for index, name in enumerate(names)))
    return {
        "flipped": sum(results),
        "failed": len(results) - sum(results),
        "first": first,
        "last": time.time(),
    }


def main() -> int:
    """Parse the command line, flip, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("url")
    parser.add_argument("contents", type=Path, help="JSON list of VolumeSnapshotContent names, in order")
    parser.add_argument("--ca-file", type=Path, required=True, help="the simulator's CA (PEM)")
    parser.add_argument("--window", type=float, default=10.0, help="seconds to spread the flips over")
    parser.add_argument("--concurrency", type=int, default=16, help="PATCH requests in flight at most")
    args = parser.parse_args()
    summary = asyncio.run(flip_all(args.url, args.ca_file, args.contents, args.window, args.concurrency))
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
