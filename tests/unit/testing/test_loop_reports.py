"""The loop_reports plugin turns exceptions asyncio would only log into test errors."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).parents[2]

LEAKS = """
import asyncio
import gc

import pytest

gc.disable()  # only the plugin's own collection after each test may free the cycles below


def test_clean():
    async def main():
        future = asyncio.get_running_loop().create_future()
        future.set_exception(RuntimeError("handled"))
        with pytest.raises(RuntimeError):
            await future

    asyncio.run(main())


def test_failed_future_freed_only_by_the_garbage_collector():
    async def main():
        future = asyncio.get_running_loop().create_future()
        future.set_exception(RuntimeError("lost in a cycle"))
        box = [future]
        box.append(box)

    asyncio.run(main())  # as dag.test() runs a trigger


def test_pending_task_destroyed():
    loop = asyncio.new_event_loop()
    task = loop.create_task(asyncio.Event().wait())
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    del task


@pytest.mark.asyncio
async def test_task_exception_never_retrieved():
    async def fail():
        raise ValueError("nobody awaited me")

    task = asyncio.get_running_loop().create_task(fail())
    await asyncio.sleep(0.01)
    del task


def test_exception_handed_to_the_handler():
    async def main():
        asyncio.get_running_loop().call_exception_handler(
            {"message": "callback failed", "exception": OSError("disk gone")}
        )

    asyncio.run(main())
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """An inner pytest session that loads the plugin from tests/ (in a subprocess of its own)."""
    monkeypatch.setenv("PYTHONPATH", str(TESTS_DIR))
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


def test_each_kind_of_unhandled_report_fails_its_own_test(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_leaks=LEAKS)

    result = inner.runpytest_subprocess("-p", "loop_reports")

    result.assert_outcomes(passed=5, errors=4)
    result.stdout.fnmatch_lines_random(
        [
            "*ERROR at teardown of test_failed_future_freed_only_by_the_garbage_collector*",
            "*ERROR at teardown of test_pending_task_destroyed*",
            "*ERROR at teardown of test_task_exception_never_retrieved*",
            "*ERROR at teardown of test_exception_handed_to_the_handler*",
            "*Future exception was never retrieved RuntimeError: lost in a cycle*",
            "*Task was destroyed but it is pending!*",
            "*Task exception was never retrieved ValueError: nobody awaited me*",
            "*callback failed OSError: disk gone*",
        ]
    )
    assert "test_clean" not in "\n".join(line for line in result.outlines if "ERROR" in line)


def test_without_the_plugin_the_same_leaks_pass_silently(inner: pytest.Pytester) -> None:
    # The control: what the plugin catches is otherwise invisible to pytest.
    inner.makepyfile(test_leaks=LEAKS)

    result = inner.runpytest_subprocess()

    result.assert_outcomes(passed=5)


def test_a_report_after_the_last_test_fails_the_session(inner: pytest.Pytester) -> None:
    inner.makeconftest(
        """
import asyncio

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish():
    loop = asyncio.new_event_loop()
    future = loop.create_future()
    future.set_exception(KeyError("late"))
    del future
    loop.close()
"""
    )
    inner.makepyfile(test_fine="def test_fine():\n    pass\n")

    result = inner.runpytest_subprocess("-p", "loop_reports")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*event loops reported exceptions nobody handled after the last test (test_fine.py::test_fine)*",
            "*Future exception was never retrieved KeyError: 'late'*",
        ]
    )
