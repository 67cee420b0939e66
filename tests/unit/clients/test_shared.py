"""The loop registry: one thing per key, versions replace, idle grace, closed with the loop."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from netapp_dataops_airflow.clients._shared import LoopRegistry, registry


class Thing:
    """A shared thing that counts its closes."""

    made = 0

    def __init__(self, name: str) -> None:
        Thing.made += 1
        self.name = name
        self.closed = 0

    async def close(self) -> None:
        self.closed += 1


def maker(name: str, made: list[Thing]):
    async def make() -> Thing:
        await asyncio.sleep(0)  # let concurrent acquirers meet while it is being made
        thing = Thing(name)
        made.append(thing)
        return thing

    return make


async def test_concurrent_users_of_a_key_share_one_thing_closed_after_the_last() -> None:
    shared = await registry()
    made: list[Thing] = []
    leases = await asyncio.gather(*(shared.acquire("k", maker("a", made)) for _ in range(5)))
    assert len(made) == 1
    assert {id(lease.value) for lease in leases} == {id(made[0])}
    assert shared.users("k") == 5
    for lease in leases[:-1]:
        await lease.release()
    assert made[0].closed == 0
    await leases[-1].release()
    assert made[0].closed == 1
    assert shared.users("k") == 0
    assert shared.keys() == []


async def test_a_new_version_replaces_the_old_entry_instead_of_adding_one() -> None:
    shared = await registry()
    made: list[Thing] = []
    old = await shared.acquire("cluster", maker("token-1", made), version="token-1")
    new = await shared.acquire("cluster", maker("token-2", made), version="token-2")
    assert [t.name for t in made] == ["token-1", "token-2"]
    assert shared.keys() == ["cluster"]  # one key, not one per credential ever seen
    assert made[0].closed == 0  # still in use by its holder
    await old.release(idle_grace=60)
    assert made[0].closed == 1  # retired: closed as soon as unused, whatever the grace
    again = await shared.acquire("cluster", maker("token-2", made), version="token-2")
    assert again.value is new.value
    await again.release()
    await new.release()
    assert made[1].closed == 1


async def test_idle_grace_keeps_the_thing_for_the_next_user() -> None:
    shared = await registry()
    made: list[Thing] = []
    async with shared.use("k", maker("a", made), idle_grace=0.2):
        pass
    async with shared.use("k", maker("b", made), idle_grace=0.05) as thing:
        assert thing is made[0]
    assert made[0].closed == 0
    for _ in range(100):
        if made[0].closed:
            break
        await asyncio.sleep(0.02)
    assert made[0].closed == 1
    assert shared.keys() == []


async def test_a_failed_make_reaches_every_waiting_user_and_is_not_kept() -> None:
    shared = await registry()
    attempts = 0

    async def broken() -> Thing:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0)
        raise OSError("no route to host")

    results = await asyncio.gather(*(shared.acquire("k", broken) for _ in range(3)), return_exceptions=True)
    assert attempts == 1
    assert all(isinstance(r, OSError) for r in results)
    assert shared.keys() == []
    made: list[Thing] = []
    async with shared.use("k", maker("a", made)) as thing:
        assert thing is made[0]


async def test_a_cancelled_first_user_does_not_cancel_the_making_for_the_others() -> None:
    shared = await registry()
    gate = asyncio.Event()

    async def slow() -> Thing:
        await gate.wait()
        return Thing("slow")

    first = asyncio.create_task(shared.acquire("k", slow))
    await asyncio.sleep(0)
    second = asyncio.create_task(shared.acquire("k", slow))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    gate.set()
    lease = await second
    assert lease.value.name == "slow"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert shared.users("k") == 1
    await lease.release()


def test_everything_is_closed_when_the_loop_ends_in_use_or_idle() -> None:
    made: list[Thing] = []

    async def main() -> LoopRegistry:
        shared = await registry()
        await shared.acquire("held", maker("held", made))  # never released
        async with shared.use("idle", maker("idle", made), idle_grace=3600):
            pass
        retired = await shared.acquire("rotated", maker("v1", made), version=1)
        await shared.acquire("rotated", maker("v2", made), version=2)
        assert retired.value.closed == 0
        return shared

    asyncio.run(main())
    assert [(t.name, t.closed) for t in made] == [("held", 1), ("idle", 1), ("v1", 1), ("v2", 1)]


def test_each_loop_has_its_own_registry_and_an_ended_loop_is_not_pinned() -> None:
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def mine() -> LoopRegistry:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        return await registry()

    first, second = asyncio.run(mine()), asyncio.run(mine())
    assert first is not second
    del first, second
    gc.collect()
    assert [ref() for ref in loops] == [None, None]


async def test_a_retired_thing_is_replaced_for_new_users_and_closed_after_its_last_one() -> None:
    shared = await registry()
    made: list[Thing] = []
    broken = await shared.acquire("informer", maker("broken", made))
    other_user = await shared.acquire("informer", maker("unused", made))
    await broken.retire()
    await broken.retire()  # twice is harmless
    fresh = await shared.acquire("informer", maker("fresh", made))
    assert fresh.value is not broken.value
    assert shared.keys() == ["informer"]
    await broken.release(idle_grace=60)
    assert made[0].closed == 0  # another user still holds it
    await other_user.release(idle_grace=60)
    assert made[0].closed == 1
    await fresh.release()
    assert [(t.name, t.closed) for t in made] == [("broken", 1), ("fresh", 1)]
