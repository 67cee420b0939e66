"""ONTAP's ISO 8601 durations (``total_duration``, ``lag_time``) read into seconds."""

from __future__ import annotations

import pytest

from netapp_dataops_airflow.clients.ontap import Transfer, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT28M41S", 1721.0), ("P2DT1H0M0S", 176400.0), ("PT0S", 0.0), ("PT1.5S", 1.5), ("P1D", 86400.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [None, "", "P", "PT", "28 minutes", 42])
def test_absent_or_malformed_durations_are_none(text: object) -> None:
    assert parse_duration(text) is None


def test_transfers_carry_their_duration() -> None:
    transfer = Transfer.from_record({"state": "success", "total_duration": "PT1M5S"})
    assert transfer.duration_seconds == 65.0
    assert Transfer.from_record({"state": "transferring"}).duration_seconds is None
