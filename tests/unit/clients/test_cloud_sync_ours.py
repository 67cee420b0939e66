"""Which finished Cloud Sync activity is the task's sync: never the one shown before the request."""

from __future__ import annotations

import datetime

import pytest

from netapp_dataops_airflow.clients.cloud_sync import Activity
from netapp_dataops_airflow.clients.cloud_sync_watch import is_ours

BEFORE = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
LATER = BEFORE + datetime.timedelta(minutes=5)


def activity(status: str, start: datetime.datetime | None, end: datetime.datetime | None = None) -> Activity:
    record = {"status": status, "startTime": start.isoformat() if start else None}
    record["endTime"] = end.isoformat() if end else None
    return Activity.from_record(record)


@pytest.mark.parametrize(
    ("shown", "after", "seen_active", "ours"),
    [
        (activity("DONE", BEFORE), BEFORE, False, False),  # the previous DONE, still shown
        (activity("DONE", LATER), BEFORE, False, True),
        (activity("FAILED", None, LATER), BEFORE, False, True),  # failed before it started
        (activity("FAILED", None, None), BEFORE, False, False),
        (activity("DONE", BEFORE), BEFORE, True, True),  # seen running since: the next end is ours
        (activity("RUNNING", LATER), BEFORE, True, False),
        (activity("SOMETHING_NEW", LATER), None, True, False),  # unknown: still in progress
        (activity("DONE", LATER), None, False, True),  # nothing was shown before
    ],
)
def test_is_ours(shown: Activity, after: datetime.datetime | None, seen_active: bool, ours: bool) -> None:
    assert is_ours(shown, after, seen_active=seen_active) is ours
