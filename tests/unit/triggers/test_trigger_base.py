"""The base trigger's own decisions: the kill table, and telling the deadline from a backend's timeout.

A minimal trigger exercises the base class (its ``wait`` is the only thing it adds); the wall clock
the base reads is replaced by one the test steps, as NTP or an administrator would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from netapp_dataops_airflow.triggers import base
from netapp_dataops_airflow.triggers.base import Event, NetAppTrigger, kill_decision
from tests.helpers.airflow import ABSENT, KILL_STATES, only_event


class SleepingTrigger(NetAppTrigger):
    """Waits forever, or raises what ``outcome`` raises; records how its wait ended."""

    def __init__(self, *, deadline: float | None = None, outcome: Callable[[], Event] | None = None) -> None:
        super().__init__(deadline=deadline)
        self.outcome = outcome
        self.ended: str | None = None

    async def wait(self) -> Event:
        try:
            if self.outcome is not None:
                return self.outcome()
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.ended = "cancelled"
            raise
        raise AssertionError("unreachable")


def stepping_clock(after_first_reading: float) -> SimpleNamespace:
    """A wall clock that jumps by ``after_first_reading`` seconds once it has been read once."""
    readings = 0

    def read() -> float:
        nonlocal readings
        readings += 1
        return time.time() + (after_first_reading if readings > 1 else 0.0)

    return SimpleNamespace(time=read)


@pytest.mark.parametrize(
    ("state", "cancels"),
    # Every state Airflow has (an absent task instance is the trigger's case, not a state), and one
    # a later Airflow may add.
    [(state, cancels) for state, cancels in KILL_STATES if state != ABSENT] + [("some_future_state", False)],
)
def test_only_failed_cancels(state: str | None, cancels: bool) -> None:
    reason = kill_decision(state)
    assert (reason is None) is cancels
    if not cancels:
        assert reason  # a reason for the task log


async def test_a_clock_stepped_back_still_ends_the_wait_with_a_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trigger = SleepingTrigger(deadline=time.time() + 0.2)
    monkeypatch.setattr(base, "time", stepping_clock(-3600.0))  # an hour back, once the wait began
    event = await only_event(trigger)
    assert event["status"] == "timeout"
    assert trigger.ended == "cancelled"


async def test_a_backends_timeout_is_an_error_even_when_the_clock_jumped_past_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def backend_gives_up() -> Event:
        raise TimeoutError("read timed out")

    trigger = SleepingTrigger(deadline=time.time() + 60, outcome=backend_gives_up)
    monkeypatch.setattr(base, "time", stepping_clock(+3600.0))
    event = await only_event(trigger)
    assert event["status"] == "error"
    assert "timed out talking to the backend" in event["message"]


async def test_a_cancelled_trigger_cancels_its_wait() -> None:
    """The triggerer cancels a trigger's task (kill, shutdown): the wait must not outlive it."""
    trigger = SleepingTrigger(deadline=time.time() + 60)
    running = asyncio.ensure_future(only_event(trigger))
    await asyncio.sleep(0.05)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert trigger.ended == "cancelled"
