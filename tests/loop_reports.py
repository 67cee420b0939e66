"""Pytest plugin: a test during which an event loop reported an exception nobody handled fails.

asyncio only logs such reports: "Future exception was never retrieved", "Task exception was never
retrieved", "Task was destroyed but it is pending!", and whatever code hands to
``loop.call_exception_handler``. Each is an error lost or a task leaked by the code under test.

Every loop's reports are recorded: the test's own loop, the loops ``asyncio.run`` makes inside
``dag.test()`` (Airflow runs each trigger that way), the simulators' server threads. Many reports
come only when the garbage collector frees a cycle holding the future, so a full collection runs
after each test's teardown; the test then errors at teardown with the reports. Reports after the
last test's teardown fail the session. The messages are still logged as before.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from collections.abc import Callable, Generator
from typing import Any

import pytest

_Handler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]


class Reports:
    """The reports of one pytest session, from any thread, until taken."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[str] = []

    def add(self, context: dict[str, Any]) -> None:
        with self._lock:
            self._items.append(describe(context))

    def take(self) -> list[str]:
        """Return and forget the reports so far."""
        with self._lock:
            items, self._items = self._items, []
        return items


def describe(context: dict[str, Any]) -> str:
    """One line per report: asyncio's message, the exception, and the future or task it came from."""
    parts = [str(context.get("message") or "Unhandled exception in event loop")]
    exception = context.get("exception")
    if exception is not None:
        parts.append(f"{type(exception).__name__}: {exception}")
    source = context.get("task") or context.get("future") or context.get("handle")
    if source is not None:
        parts.append(f"({_short(repr(source))})")
    return " ".join(parts)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


_KEY = pytest.StashKey[Reports]()
_LAST_TEST = pytest.StashKey[str]()

# One patch of the loop class for the process; the innermost session (pytester runs one inside
# another) gets the reports. Patching the class, not each loop, reaches loops made by asyncio.run().
_sessions: list[Reports] = []
_original: _Handler | None = None


def _recording_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if _sessions:
        _sessions[-1].add(context)
    assert _original is not None
    _original(loop, context)


def pytest_configure(config: pytest.Config) -> None:
    global _original
    if not _sessions:
        _original = asyncio.BaseEventLoop.call_exception_handler
        asyncio.BaseEventLoop.call_exception_handler = _recording_handler  # type: ignore[method-assign,assignment]
    reports = Reports()
    _sessions.append(reports)
    config.stash[_KEY] = reports


def pytest_unconfigure(config: pytest.Config) -> None:
    global _original
    reports = config.stash.get(_KEY, None)
    if reports in _sessions:
        _sessions.remove(reports)
    if not _sessions and _original is not None:
        asyncio.BaseEventLoop.call_exception_handler = _original  # type: ignore[method-assign]
        _original = None


_modules_when_frozen = 0


def collect_garbage() -> None:
    """Run a full collection, so the reports of freed cycles come now, in the test that made them.

    What survives it is frozen (left out of later collections) only if modules were imported since the
    last freeze: module-level objects (Airflow imports much on its first DAG run) live all session, and
    every later collection would walk them again (60% more time for the whole suite). A test that
    imports a module is checked as any other, but what it leaves alive is watched again only at the
    session's end, when the heap is unfrozen.
    """
    global _modules_when_frozen
    gc.collect()
    if len(sys.modules) > _modules_when_frozen:
        gc.freeze()
        _modules_when_frozen = len(sys.modules)


def pytest_collection_finish(session: pytest.Session) -> None:
    collect_garbage()  # freezes what importing the test modules made


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when != "teardown":
        return report
    item.config.stash[_LAST_TEST] = item.nodeid
    collect_garbage()
    reports = item.config.stash[_KEY].take()
    if reports:
        text = "\n".join(
            [
                "event loops reported exceptions nobody handled during this test (or since the one "
                "before it); asyncio only logs them:",
                *(f"  {line}" for line in reports),
            ]
        )
        report.outcome = "failed"
        if report.longrepr is None:
            report.longrepr = text
        else:
            report.sections.append(("unhandled event-loop exceptions", text))
    return report


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    gc.unfreeze()  # garbage that frozen objects point to is collected only now
    gc.collect()
    reports = session.config.stash[_KEY].take()
    if not reports:
        return
    last = session.config.stash.get(_LAST_TEST, "none")
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"event loops reported exceptions nobody handled after the last test ({last}):", *reports]
    if terminal is not None:
        terminal.write_sep("=", "unhandled event-loop exceptions", red=True)
        for line in lines:
            terminal.write_line(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
