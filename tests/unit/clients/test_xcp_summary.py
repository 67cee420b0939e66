"""Reading xcp's summary block, progress lines and errors as XCP prints them."""

from __future__ import annotations

import pytest

from netapp_dataops_airflow.clients.xcp_summary import (
    duration_seconds,
    failure_reason,
    last_progress,
    parse_summary,
    succeeded,
)

COPY = """\
Job ID: Job_2023-06-13_11.20.32.571348_copy
12 scanned, 3 copied, 1.50 KiB in (300/s), 1.50 KiB out (300/s), 5s
18 scanned, 17 copied, 2.36 GiB in (31.8 MiB/s), 2.37 GiB out (31.9 MiB/s), 10s
Xcp command : xcp copy -newid XCP_copy_2023 nfs1:/src nfs2:/dst
Stats : 18 scanned, 0 matched, 17 copied, 0 error
Speed : 2.36 GiB in (31.8 MiB/s), 2.37 GiB out (31.9 MiB/s)
Total Time : 1m16s.
Migration ID: XCP_copy_2023
Job ID : Job_2023-06-13_11.20.32.571348_copy
Log Path : /opt/NetApp/xFiles/xcp/xcplogs/Job_2023-06-13_11.20.32.571348_copy.log
STATUS : PASSED
"""


def test_the_copy_summary_is_read_field_by_field() -> None:
    summary = parse_summary(COPY)
    assert summary.status == "PASSED"
    assert summary.counters == {"scanned": 18, "matched": 0, "copied": 17, "error": 0}
    assert summary.bytes_in == int(2.36 * 2**30)
    assert summary.bytes_out == int(2.37 * 2**30)
    assert summary.duration_seconds == 76
    assert summary.index_name == "XCP_copy_2023"
    assert summary.job_id == "Job_2023-06-13_11.20.32.571348_copy"
    assert summary.log_path is not None
    assert summary.log_path.endswith("_copy.log")
    assert succeeded(0, summary)


def test_sync_and_resume_counters_keep_their_words() -> None:
    sync = parse_summary(
        "Stats : 0 scanned, 1,234 copied, 2 modification, 3 new item, 4 delete item, 0 error\n"
    )
    assert sync.counters == {
        "scanned": 0, "copied": 1234, "modification": 2, "new_item": 3, "delete_item": 4, "error": 0,
    }  # fmt: skip
    resume = parse_summary(
        "134,630 scanned*, 134,630 copied*, 0 modification, 0 new item, 0 delete item, 0 error"
    )
    assert resume.counters == {}  # older releases print a bare counts line without "Stats :"


def test_success_needs_exit_zero_and_passed() -> None:
    summary = parse_summary(COPY)
    assert not succeeded(1, summary)
    assert not succeeded(None, summary)
    failed = parse_summary(COPY.replace("PASSED", "FAILED"))
    assert not succeeded(0, failed)
    assert "STATUS : FAILED" in failure_reason(0, failed)


def test_an_error_line_fails_even_with_exit_zero() -> None:
    text = "xcp: ERROR: License file /opt/NetApp/xFiles/xcp/license not found.\n"
    summary = parse_summary(text)
    assert not succeeded(0, summary)
    reason = failure_reason(0, summary)
    assert "License file" in reason
    assert "no summary block" in reason


def test_only_the_last_summary_block_counts() -> None:
    summary = parse_summary(COPY.replace("STATUS : PASSED", "STATUS : FAILED") + COPY)
    assert summary.status == "PASSED"


def test_the_last_progress_line_is_found() -> None:
    assert last_progress(COPY).startswith("18 scanned, 17 copied")  # type: ignore[union-attr]
    assert last_progress("nothing here") is None


@pytest.mark.parametrize(("text", "seconds"), [("5s", 5), ("2m1s", 121), ("1h2m5s", 3725), ("1m16s.", 76)])
def test_durations(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


def test_a_missing_duration_is_none() -> None:
    assert duration_seconds("soon") is None
