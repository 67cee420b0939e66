"""Watch streams: chunked, one compact JSON event per line, flushed per event.

Starts with synthetic ADDEDs (no or "0" resourceVersion) or a replay from the history; a version
older than the history is answered with HTTP 200 and one ERROR event carrying a 410 Status, as the
apiserver's watch cache does. BOOKMARKs go out on connect and periodically when allowed.
"""

from __future__ import annotations

import asyncio
import random

from aiohttp import web

from . import tables
from .errors import ApiError
from .kinds import Kind
from .meta import JSON, metadata
from .models import KubernetesBackend
from .selectors import FieldSelector, LabelSelector
from .wire import dumps

STALL_POLL = 0.05


class WatchStream:
    """One client's watch: writes events from the store to the HTTP response."""

    def __init__(
        self, backend: KubernetesBackend, kind: Kind, *, table: bool, bookmarks: bool, timeout: float | None
    ) -> None:
        self._backend = backend
        self._kind = kind
        self._table = table
        self._bookmarks = bookmarks
        # Without timeoutSeconds the apiserver picks a random duration in [min-request-timeout, 2x).
        self._timeout = timeout if timeout is not None else random.uniform(1800, 3600)
        self._headers_sent = False
        self._response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        self._response.enable_chunked_encoding()

    async def serve(
        self,
        request: web.Request,
        namespace: str | None,
        resource_version: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
    ) -> web.StreamResponse:
        """Stream until the timeout, the client leaves, or the simulator ends the watch."""
        loop = asyncio.get_running_loop()
        await self._response.prepare(request)  # headers go out before the first event
        try:
            initial, watcher = self._backend.watch(
                self._kind, namespace, resource_version, labels, fields, loop
            )
        except ApiError as error:
            await self._send("ERROR", error.status())
            return self._response
        self._backend.stats.watch_opened(self._kind, namespace)
        try:
            deadline = loop.time() + self._timeout
            last_rv = str(watcher.start_rv)
            for event_type, obj in initial:
                await self._send(event_type, obj)
                last_rv = metadata(obj)["resourceVersion"]
            if self._bookmarks:
                await self._bookmark(last_rv)
            next_bookmark = loop.time() + self._backend.timing.bookmark_interval
            while (remaining := deadline - loop.time()) > 0:
                wait = min(remaining, max(next_bookmark - loop.time(), 0.0)) if self._bookmarks else remaining
                try:
                    batch = [await asyncio.wait_for(watcher.queue.get(), wait)]
                except asyncio.TimeoutError:
                    if self._bookmarks and loop.time() >= next_bookmark:
                        await self._bookmark(last_rv)
                        next_bookmark = loop.time() + self._backend.timing.bookmark_interval
                    continue
                # Send everything already queued in one go: a turn of the loop can be long while
                # the controllers work through many objects, and one event per turn would fall
                # ever further behind the store.
                while not watcher.queue.empty():
                    batch.append(watcher.queue.get_nowait())
                sent_up_to = await self._send_batch(batch)
                if sent_up_to is None:
                    break
                last_rv = sent_up_to
        except ConnectionResetError:
            pass  # the client went away
        finally:
            self._backend.unwatch(watcher)
            self._backend.stats.watch_closed(self._kind, namespace)
        return self._response

    async def _send_batch(self, batch: list[tuple[str, JSON] | None]) -> str | None:
        """Send queued events; return the last resourceVersion, or None at the end marker.

        PROGRESS markers (changes this watch does not select) only move the version on.
        """
        last_rv = None
        for item in batch:
            if item is None:
                return None
            event_type, obj = item
            if event_type != "PROGRESS":
                await self._send(event_type, obj)
            last_rv = metadata(obj)["resourceVersion"]
        return last_rv

    async def _bookmark(self, resource_version: str) -> None:
        await self._send(
            "BOOKMARK",
            {
                "kind": self._kind.kind,
                "apiVersion": self._kind.api_version,
                "metadata": {"resourceVersion": resource_version},
            },
        )

    async def _send(self, event_type: str, obj: JSON) -> None:
        stall = self._backend.faults.watch_stall_remaining()
        while stall > 0:  # short naps: a stall may be ended or extended while we wait
            await asyncio.sleep(min(stall, STALL_POLL))
            stall = self._backend.faults.watch_stall_remaining()
        sent = obj
        if self._table and event_type in ("ADDED", "MODIFIED", "DELETED"):
            sent = tables.table(
                self._kind, [obj], metadata(obj)["resourceVersion"], headers=not self._headers_sent
            )
            self._headers_sent = True
        line = dumps({"type": event_type, "object": sent})
        if self._backend.faults.take_garbled_watch_line():
            line = line[: len(line) // 2]  # as a proxy that cut the stream mid-event would
        await self._response.write((line + "\n").encode())
        if event_type in ("ADDED", "MODIFIED"):
            self._backend.stats.sent(self._kind, obj)
