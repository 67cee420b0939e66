"""The simulator's sense of time: real time plus an offset tests can push forward.

Transfers and jobs progress with time. Tests move time on with :meth:`Clock.advance` instead of
sleeping, so "transferring, then success" is observable without timed waits.
"""

from __future__ import annotations

import datetime
import time


class Clock:
    """Monotonic and wall-clock readings that share one adjustable offset."""

    def __init__(self) -> None:
        self._offset = 0.0

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (never backwards)."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._offset += seconds

    def monotonic(self) -> float:
        """Seconds on a monotonic scale, for durations."""
        return time.monotonic() + self._offset

    def now(self) -> datetime.datetime:
        """Return the current (offset) wall-clock time in UTC, for timestamps in records."""
        return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=self._offset)
