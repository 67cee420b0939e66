"""The batched poller: one fetch per tick for every waiter, shorter intervals wake it, errors reach all."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from netapp_dataops_airflow.clients._poller import BatchedPoller, PollTrouble, check_poll_interval
from netapp_dataops_airflow.exceptions import InvalidInputError


class Backend:
    """Records each fetch; answers with the current state of each key."""

    def __init__(self) -> None:
        self.state: dict[str, object] = {}
        self.fetches: list[frozenset[str]] = []
        self.fail_with: BaseException | None = None

    async def fetch(self, keys: frozenset[str]) -> Mapping[str, object]:
        self.fetches.append(keys)
        if self.fail_with is not None:
            raise self.fail_with
        return {key: self.state[key] for key in keys if key in self.state}


def transient(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionError)


async def test_one_fetch_per_tick_serves_every_waiter() -> None:
    backend = Backend()
    backend.state = {"a": 1, "b": 2}
    poller = BatchedPoller("cluster", backend.fetch, is_transient=transient, min_interval=0.01)
    try:
        async with poller.watch("a", 0.05) as a, poller.watch("b", 0.05) as b, poller.watch("c", 0.05) as c:
            assert await a.next() == 1
            assert await b.next() == 2
            assert await c.next() is None  # absent from the fetch
        assert backend.fetches[0] == frozenset({"a", "b", "c"})
        assert len(backend.fetches) == poller.polls
    finally:
        await poller.close()


async def test_a_shorter_interval_wakes_a_poller_sleeping_for_a_long_one() -> None:
    backend = Backend()
    backend.state = {"slow": "s", "fast": "f"}
    poller = BatchedPoller("cluster", backend.fetch, is_transient=transient, min_interval=0.01)
    try:
        async with poller.watch("slow", 3600):
            await asyncio.sleep(0.05)
            assert backend.fetches == []
            async with poller.watch("fast", 0.02) as fast:
                # Without the wake-up this would wait out the hour-long sleep.
                assert await asyncio.wait_for(fast.next(), 30) == "f"
    finally:
        await poller.close()


async def test_an_interval_below_the_minimum_is_refused() -> None:
    poller = BatchedPoller("cluster", Backend().fetch, is_transient=transient, min_interval=0.5)
    try:
        with pytest.raises(
            InvalidInputError, match=r"poll_interval must be at least 0\.5 seconds, got 0\.01"
        ):
            async with poller.watch("a", 0.01):
                pass
        assert poller.waiting == 0
    finally:
        await poller.close()


@pytest.mark.parametrize("value", [0, -1, "0.1x", float("nan"), True, "inf"])
def test_check_poll_interval_names_the_bad_value(value: object) -> None:
    with pytest.raises(InvalidInputError, match="poll_interval"):
        check_poll_interval(value, 1.0)


async def test_transient_failures_are_trouble_lasting_ones_and_bugs_reach_every_waiter() -> None:
    backend = Backend()
    backend.state = {"a": 1}
    poller = BatchedPoller("cluster", backend.fetch, is_transient=transient, min_interval=0.01)
    try:
        async with poller.watch("a", 0.02) as a, poller.watch("b", 0.02) as b:
            backend.fail_with = ConnectionError("reset by peer")
            trouble = await a.next()
            assert isinstance(trouble, PollTrouble)
            assert "reset by peer" in trouble.message
            assert isinstance(await b.next(), PollTrouble)
            backend.fail_with = TypeError("a bug in the fetch")
            with pytest.raises(TypeError, match="a bug in the fetch"):
                await a.next()
            with pytest.raises(TypeError, match="a bug in the fetch"):
                await b.next()
    finally:
        await poller.close()


async def test_a_per_key_exception_goes_to_that_waiter_only() -> None:
    backend = Backend()
    backend.state = {"a": 1, "gone": LookupError("relationship deleted"), "flaky": ConnectionError("503")}
    poller = BatchedPoller("cluster", backend.fetch, is_transient=transient, min_interval=0.01)
    try:
        async with (
            poller.watch("a", 0.02) as a,
            poller.watch("gone", 0.02) as gone,
            poller.watch("flaky", 0.02) as flaky,
        ):
            assert await a.next() == 1
            with pytest.raises(LookupError):
                await gone.next()
            assert isinstance(await flaky.next(), PollTrouble)
    finally:
        await poller.close()


async def test_the_interval_is_the_shortest_among_the_waiters() -> None:
    poller = BatchedPoller("cluster", Backend().fetch, is_transient=transient, min_interval=0.01)
    try:
        assert poller.interval is None
        async with poller.watch("a", 60):
            assert poller.interval == 60
            async with poller.watch("b", 5):
                assert poller.interval == 5
            assert poller.interval == 60
    finally:
        await poller.close()
