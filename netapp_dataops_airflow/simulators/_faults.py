"""Faults the HTTP layer injects before a request reaches a simulated service (ONTAP, Cloud Sync).

A fault matches requests by method and path prefix and fires a fixed number of times. Kinds:

* ``error``: answer with ``status`` and the service's error envelope (``message``, and for ONTAP
  ``code``), e.g. a 500 or one of ONTAP's "wait and retry" codes;
* ``drop``: close the connection without answering;
* ``stall``: wait ``seconds`` and then answer normally;
* ``garble``: answer HTTP 200 with ``body`` as it is (by default JSON cut short), as a proxy's page or
  a broken middlebox would; clients must not take it for an empty answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from netapp_dataops_airflow.simulators._control import PREFIX

FAULT_KINDS = ("error", "drop", "stall", "garble")
# What a garbled answer says by default: a collection cut off mid-record.
GARBLED_BODY = '{"records": [{"uuid": "'


@dataclass
class Fault:
    """One injected fault; ``times`` counts down to zero (a negative value never runs out)."""

    kind: str
    method: str | None = None
    path: str | None = None
    times: int = 1
    status: int = 500
    code: str = "8"  # ONTAP's "internal error"; services without codes ignore it
    message: str = "Internal error (injected by the simulator)."
    seconds: float = 0.0
    body: str = GARBLED_BODY

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {', '.join(FAULT_KINDS)}")
        if self.method is not None:
            self.method = self.method.upper()

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request."""
        if self.times == 0:
            return False
        if self.method is not None and self.method != method.upper():
            return False
        return self.path is None or path.startswith(self.path)


class FaultPlan:
    """The ordered list of pending faults; the first match fires."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Queue a fault behind the ones already pending."""
        self._faults.append(fault)

    def clear(self) -> None:
        """Drop every pending fault."""
        self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """Return the first fault matching the request, consuming one of its occurrences."""
        for fault in self._faults:
            if fault.matches(method, path):
                if fault.times > 0:
                    fault.times -= 1
                self._faults = [f for f in self._faults if f.times != 0]
                return fault
        return None

    def pending(self) -> list[Fault]:
        """Return the faults that have not fired out yet."""
        return list(self._faults)


class FaultyBackend(Protocol):
    """What :func:`fault_middleware` needs of a simulated service."""

    def record_request(self, method: str, path_qs: str) -> None: ...

    def take_fault(self, method: str, path: str) -> Fault | None: ...


def fault_middleware(
    backend: FaultyBackend, refuse: Callable[[Fault], Exception], *, content_type: str = "application/json"
) -> Middleware:
    """Build the middleware that logs each API request and fires the fault that applies to it.

    ``refuse`` turns an ``error`` fault into the service's own exception (its envelope middleware,
    outside this one, renders it). The control API is neither logged nor faulted.
    """

    @web.middleware
    async def faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(PREFIX):
            return await handler(request)
        backend.record_request(request.method, request.path_qs)
        fault = backend.take_fault(request.method, request.path)
        if fault is None:
            return await handler(request)
        if fault.kind == "stall":
            await asyncio.sleep(fault.seconds)
            return await handler(request)
        if fault.kind == "garble":
            return web.Response(status=200, text=fault.body, content_type=content_type)
        if fault.kind == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response()  # never delivered: the connection is gone
        raise refuse(fault)

    return faults
