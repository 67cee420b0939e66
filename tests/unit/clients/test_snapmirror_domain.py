"""SnapMirror domain helpers: the minimum poll interval, byte counts, and whose summary a summary is."""

from __future__ import annotations

import datetime

import pytest

from netapp_dataops_airflow.clients.ontap import Transfer
from netapp_dataops_airflow.clients.snapmirror import (
    MIN_POLL_INTERVAL,
    check_poll_interval,
    size,
    summary_is_ours,
)
from netapp_dataops_airflow.exceptions import InvalidInputError

NOON = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def ended(at: datetime.datetime | None, state: str = "success", uuid: str | None = None) -> Transfer:
    return Transfer(state=state, uuid=uuid, bytes_transferred=1024, end_time=at)


@pytest.mark.parametrize("value", [MIN_POLL_INTERVAL, "1", 30, "2.5"])
def test_poll_intervals_from_the_minimum_up_are_accepted(value: object) -> None:
    assert check_poll_interval(value) == float(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0.5, "0.05", 0, -30, "soon", None])
def test_poll_intervals_below_the_minimum_are_refused_with_the_minimum_named(value: object) -> None:
    with pytest.raises(InvalidInputError, match=r"poll_interval must be at least 1 seconds, got "):
        check_poll_interval(value)


@pytest.mark.parametrize(
    ("count", "text"),
    [(None, "an unknown amount"), (0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (3 << 30, "3.0 GiB")],
)
def test_size_is_for_people(count: int | None, text: str) -> None:
    assert size(count) == text


def test_a_summary_that_ended_after_the_previous_transfer_is_ours() -> None:
    later = NOON + datetime.timedelta(seconds=1)
    assert summary_is_ours(ended(later), NOON, seen_running=False)
    assert summary_is_ours(ended(later, "failed"), NOON, seen_running=False)


def test_the_previous_transfers_summary_is_not_ours() -> None:
    # Right after the POST, the relationship may still describe the transfer before ours.
    assert not summary_is_ours(ended(NOON), NOON, seen_running=False)
    assert not summary_is_ours(ended(NOON - datetime.timedelta(hours=1)), NOON, seen_running=False)


def test_times_without_an_offset_are_not_compared_with_times_with_one() -> None:
    later_naive = (NOON + datetime.timedelta(hours=1)).replace(tzinfo=None)
    assert not summary_is_ours(ended(later_naive), NOON, seen_running=False)


def test_without_a_previous_transfer_any_finished_summary_is_ours() -> None:
    assert summary_is_ours(ended(NOON), None, seen_running=False)


def test_a_summary_without_an_end_time_counts_only_once_ours_was_seen_running() -> None:
    assert not summary_is_ours(ended(None), None, seen_running=False)
    assert summary_is_ours(ended(None), NOON, seen_running=True)


@pytest.mark.parametrize(
    "summary",
    [None, ended(NOON, "transferring"), ended(NOON, uuid="6f1b3e5c-0000-4000-8000-000000000000")],
    ids=["absent", "running", "names-a-transfer"],
)
def test_running_or_named_transfers_are_never_taken_for_ours(summary: Transfer | None) -> None:
    assert not summary_is_ours(summary, None, seen_running=True)
