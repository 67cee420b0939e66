"""Faults the HTTP layer injects before a request reaches the simulated cluster.

A fault matches requests by method and path prefix and fires a fixed number of times. Kinds:

* ``error``: answer with ``status`` and an ONTAP error envelope (``code``, ``message``), e.g. a 500
  or one of the "wait and retry" codes;
* ``drop``: close the connection without answering;
* ``stall``: wait ``seconds`` and then answer normally;
* ``garble``: answer HTTP 200 with ``body`` as it is (by default JSON cut short), as a proxy's page or
  a broken middlebox would; clients must not take it for an empty answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from netapp_dataops_airflow.simulators.ontap import errors

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
    code: str = errors.INTERNAL_ERROR
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
