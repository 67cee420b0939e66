"""Injected failures: bad answers to matching requests, stalled or garbled watches, CSI driver errors."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass
class FaultRule:
    """The next ``remaining`` requests matching ``method`` and ``path`` fail with ``action``.

    Actions: ``status`` (answer ``status`` with a Status body; 429 adds Retry-After), ``drop`` (close
    the connection without answering), ``stall`` (wait ``seconds`` before handling).
    """

    action: str
    method: str = "*"
    path: str = ""
    status: int = 500
    retry_after: int = 1
    seconds: float = 0.0
    message: str = "injected fault"
    remaining: int = 1

    def matches(self, method: str, path: str) -> bool:
        """Whether a request is subject to this rule."""
        return self.method in ("*", method.upper()) and re.search(self.path, path) is not None


class Faults:
    """The fault table of one simulator (thread-safe; tests may change it from any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._watch_stall_until = 0.0
        self._garbled_watch_lines = 0
        self._driver_errors: dict[str, deque[str]] = {"snapshot": deque(), "clone": deque()}

    def clear(self) -> None:
        """Remove every injected fault."""
        with self._lock:
            self._rules.clear()
            self._watch_stall_until = 0.0
            self._garbled_watch_lines = 0
            for queue in self._driver_errors.values():
                queue.clear()

    def add(self, rule: FaultRule) -> FaultRule:
        """Install a rule (first added, first applied)."""
        if rule.action not in ("status", "drop", "stall"):
            raise ValueError(f"unknown fault action {rule.action!r}")
        with self._lock:
            self._rules.append(rule)
        return rule

    def fail_requests(
        self,
        status: int = 500,
        *,
        method: str = "*",
        path: str = "",
        times: int = 1,
        retry_after: int = 1,
        message: str = "injected fault",
    ) -> FaultRule:
        """Answer the next ``times`` matching requests with ``status`` (5xx, or 429 with Retry-After)."""
        return self.add(
            FaultRule("status", method, path, status, retry_after, message=message, remaining=times)
        )

    def drop_connections(self, *, method: str = "*", path: str = "", times: int = 1) -> FaultRule:
        """Close the connection of the next ``times`` matching requests without an answer."""
        return self.add(FaultRule("drop", method, path, remaining=times))

    def stall_requests(
        self, seconds: float, *, method: str = "*", path: str = "", times: int = 1
    ) -> FaultRule:
        """Hold the next ``times`` matching requests for ``seconds`` before handling them."""
        return self.add(FaultRule("stall", method, path, seconds=seconds, remaining=times))

    def take(self, method: str, path: str) -> FaultRule | None:
        """Return the rule that applies to this request, if any, counting it as used."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def stall_watches(self, seconds: float) -> None:
        """Open watches deliver nothing (no events, no bookmarks) for ``seconds``; 0 ends a stall."""
        with self._lock:
            self._watch_stall_until = time.monotonic() + seconds if seconds > 0 else 0.0

    def watch_stall_remaining(self) -> float:
        """Seconds left of a watch stall."""
        return max(0.0, self._watch_stall_until - time.monotonic())

    def garble_watch_lines(self, times: int = 1) -> None:
        """Send the next ``times`` watch lines (of any open watch) cut short: not valid JSON."""
        with self._lock:
            self._garbled_watch_lines += times

    def take_garbled_watch_line(self) -> bool:
        """Whether the watch line about to be sent must be garbled (counted as used)."""
        with self._lock:
            if self._garbled_watch_lines <= 0:
                return False
            self._garbled_watch_lines -= 1
            return True

    def fail_next_snapshot(self, message: str) -> None:
        """Make the next CSI CreateSnapshot fail with ``message`` (retries then succeed)."""
        with self._lock:
            self._driver_errors["snapshot"].append(message)

    def fail_next_clone(self, message: str) -> None:
        """Make the next CSI CreateVolume from a data source fail with ``message``."""
        with self._lock:
            self._driver_errors["clone"].append(message)

    def take_driver_error(self, operation: str) -> str | None:
        """Take the pending driver error for ``operation`` ("snapshot" or "clone"), consumed."""
        with self._lock:
            queue = self._driver_errors[operation]
            return queue.popleft() if queue else None
