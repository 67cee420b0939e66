"""run_blocking: the same from plain code and from inside a running loop; shared things closed after."""

from __future__ import annotations

import asyncio

import pytest

from netapp_dataops_airflow.clients._blocking import run_blocking
from netapp_dataops_airflow.clients._shared import registry


class Session:
    closed = False

    async def close(self) -> None:
        self.closed = True


async def use_a_shared_session() -> Session:
    shared = await registry()

    async def make() -> Session:
        return Session()

    lease = await shared.acquire("endpoint", make)
    return lease.value  # never released: the loop's end must close it


def test_from_synchronous_code_the_loop_end_closes_what_was_shared() -> None:
    session = run_blocking(use_a_shared_session)
    assert session.closed


async def test_from_inside_a_running_loop_it_runs_on_a_loop_of_its_own() -> None:
    outer = asyncio.get_running_loop()

    async def where() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    assert run_blocking(where) is not outer
    assert run_blocking(use_a_shared_session).closed


def test_errors_come_through_unchanged() -> None:
    async def fail() -> None:
        raise LookupError("no such relationship")

    with pytest.raises(LookupError, match="no such relationship"):
        run_blocking(fail)
