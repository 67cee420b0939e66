"""Waiting for a condition. The limits only end a hung run; no test measures time with them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

WAIT_SECONDS = 60
"""How long the synchronous waits (and the fidelity tests' processes) may take before a test fails."""


async def until(condition: Callable[[], bool], *, timeout: float = 10.0, what: str = "the condition") -> None:
    """Sleep briefly until ``condition()`` holds; fail after ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not come about within {timeout} s")
        await asyncio.sleep(0.01)


def poll(read: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    """Call ``read`` until ``done(result)`` and return the result; fail after ``WAIT_SECONDS``."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        result = read()
        if done(result):
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}; last seen: {result!r}")
        time.sleep(0.05)
