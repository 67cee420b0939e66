"""Close what an event loop's triggers shared (API clients, HTTP sessions) when that loop ends.

A triggerer's loop lives as long as the process, but ``dag.test()`` runs every trigger in a loop of
its own with ``asyncio.run()``, and so do scripts and tests. ``asyncio.run()`` cancels the tasks left
over and then closes every async generator still suspended, inside the loop
(``loop.shutdown_asyncgens()``). One generator per loop, parked at its ``yield``, is therefore a
shutdown hook that can still await: it closes the loop's shared clients so no connection or
"unclosed session" warning outlives the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable

log = logging.getLogger(__name__)

Closer = Callable[[], Awaitable[None]]

# loop -> (the parked generator, its closers). The generator must stay referenced: collected, it
# would be finalized (and run the closers) while the loop is still in use.
_scopes: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[AsyncGenerator[None, None], list[Closer]]
] = weakref.WeakKeyDictionary()


async def _parked(closers: list[Closer]) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        for closer in reversed(closers):
            with contextlib.suppress(Exception):
                await closer()


async def close_at_loop_end(closer: Closer) -> None:
    """Run ``closer`` when the running loop shuts down (``asyncio.run`` or ``shutdown_asyncgens``)."""
    loop = asyncio.get_running_loop()
    if loop not in _scopes:
        closers: list[Closer] = []
        generator = _parked(closers)
        await generator.asend(None)
        _scopes[loop] = (generator, closers)
    _scopes[loop][1].append(closer)
