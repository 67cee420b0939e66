"""The one way to run async client code from synchronous code (an operator on a worker).

Each call runs on a fresh event loop with ``asyncio.run``; when that loop ends, the loop registry
closes every session and client the work shared, so nothing leaks into the next call. If the calling
thread already runs a loop (a task written with ``async def``, a notebook), ``asyncio.run`` would
refuse, so the work runs on a loop in a thread of its own and this call waits for it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def run_blocking(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work()`` to completion on a fresh event loop and return its result (or raise its error)."""

    async def main() -> T:
        return await work()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="netapp-blocking") as pool:
        return pool.submit(asyncio.run, main()).result()
