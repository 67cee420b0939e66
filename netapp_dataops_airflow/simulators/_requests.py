"""The log of API requests a simulated service received, for tests and benchmarks to count."""

from __future__ import annotations

import collections

# Enough for the benchmarks' longest runs, yet bounded: a long-running demo server must not grow forever.
LOG_SIZE = 100_000


class RequestLog:
    """Requests as ``"METHOD /path?query"``, oldest first, faults and refused credentials included."""

    def __init__(self, size: int = LOG_SIZE) -> None:
        self._entries: collections.deque[str] = collections.deque(maxlen=size)

    def record(self, method: str, path_qs: str) -> None:
        """Note a request as it arrived."""
        self._entries.append(f"{method.upper()} {path_qs}")

    def matching(self, method: str | None = None, path: str = "") -> list[str]:
        """Return the logged requests with ``method`` (any if ``None``) whose path starts with ``path``."""
        return [
            entry
            for entry in self._entries
            if (method is None or entry.startswith(f"{method.upper()} "))
            and entry.partition(" ")[2].startswith(path)
        ]
