"""Read what xcp printed: the summary block, the last progress line, the error lines.

XCP prints progress and its summary on stderr (docs and real-output parsers agree). The summary's
counts line differs per command (``18 scanned, 0 matched, 17 copied, 0 error``; sync adds
``modification``, ``new item``, ``delete item``; resume marks carried-over counts with ``*``);
every ``<number> <word>`` pair is kept under the word (blanks as ``_``). Success needs exit status
0 **and** ``STATUS : PASSED``: some failures exit 0 (see :func:`succeeded`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_COUNT = re.compile(r"(\d[\d,]*)\*? ([a-z][a-z .]*?)\*?(?=,|$)")
_UNITS = {"": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50}
_SIZE = r"(\d+(?:\.\d+)?)(?: ([KMGTP]iB))?"
_SPEED = re.compile(rf"{_SIZE} in \([^)]*\), {_SIZE} out")
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?")
_FIELD = re.compile(
    r"^(Xcp command|Stats|Speed|Total Time|Migration ID|Job ID|Log Path|STATUS) ?: ?(.*?)\s*$"
)
_PROGRESS = re.compile(r"\d[\d,]*\*? (?:scanned|reviewed|compared)")


def size_in_bytes(number: str, unit: str | None) -> int:
    """``("2.36", "GiB")`` -> bytes."""
    return int(float(number) * _UNITS[unit or ""])


def duration_seconds(text: str) -> float | None:
    """``2m1s`` -> 121.0; ``None`` when it is not XCP's duration form."""
    match = _DURATION.fullmatch(text.strip().rstrip("."))
    if match is None or not any(match.groups()):
        return None
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


@dataclass(frozen=True)
class XcpSummary:
    """The summary block of one run (fields are ``None`` when xcp did not print them)."""

    status: str | None = None
    counters: dict[str, int] = field(default_factory=dict)
    bytes_in: int | None = None
    bytes_out: int | None = None
    duration_seconds: float | None = None
    index_name: str | None = None
    job_id: str | None = None
    log_path: str | None = None
    errors: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON for the task's XCom."""
        return {
            "status": self.status,
            "counters": dict(self.counters),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "duration_seconds": self.duration_seconds,
            "index_name": self.index_name,
            "job_id": self.job_id,
            "log_path": self.log_path,
            "errors": list(self.errors),
        }


def parse_summary(stderr: str) -> XcpSummary:
    """Read the last summary block (and every ``ERROR`` line) out of xcp's stderr."""
    fields: dict[str, str] = {}
    errors: list[str] = []
    job_start: str | None = None
    for line in stderr.splitlines():
        if "ERROR" in line and line.lstrip().startswith(("xcp:", "ERROR")):
            errors.append(line.strip())
            continue
        if line.startswith("Job ID:") and job_start is None:
            job_start = line.partition(":")[2].strip()
        match = _FIELD.match(line)
        if match is not None:
            if match.group(1) == "Xcp command":
                fields = {}  # a new block: keep only the last one
            fields[match.group(1)] = match.group(2)
    counters: dict[str, int] = {}
    for number, word in _COUNT.findall(fields.get("Stats", "")):
        counters[word.strip().replace(" ", "_")] = int(number.replace(",", ""))
    bytes_in = bytes_out = None
    speed = _SPEED.search(fields.get("Speed", ""))
    if speed is not None:
        bytes_in = size_in_bytes(speed.group(1), speed.group(2))
        bytes_out = size_in_bytes(speed.group(3), speed.group(4))
    status = fields.get("STATUS")
    return XcpSummary(
        status=status if status in ("PASSED", "FAILED") else None,
        counters=counters,
        bytes_in=bytes_in,
        bytes_out=bytes_out,
        duration_seconds=duration_seconds(fields["Total Time"]) if "Total Time" in fields else None,
        index_name=fields.get("Migration ID"),
        job_id=fields.get("Job ID") or job_start,
        log_path=fields.get("Log Path"),
        errors=tuple(errors),
    )


def last_progress(text: str) -> str | None:
    """Return the last progress line (``... scanned, ... copied, ..., 15s``) in ``text``, if any."""
    for line in reversed(text.replace("\r", "\n").splitlines()):
        if _PROGRESS.match(line.strip()) and not line.startswith("Stats"):
            return line.strip()
    return None


def succeeded(exit_code: int | None, summary: XcpSummary) -> bool:
    """Exit status 0 **and** ``STATUS : PASSED``, and no ``xcp: ERROR`` line."""
    return exit_code == 0 and summary.status == "PASSED" and not summary.errors


def failure_reason(exit_code: int | None, summary: XcpSummary) -> str:
    """XCP's own words for a failed run: its error lines, its status, its exit code."""
    parts = list(summary.errors[-3:])
    if summary.status is None:
        parts.append("xcp printed no summary block (STATUS line missing)")
    elif summary.status != "PASSED":
        parts.append(f"STATUS : {summary.status}")
    if exit_code is None:
        parts.append("it ended without an exit status (killed?)")
    elif exit_code != 0:
        parts.append(f"exit status {exit_code}")
    return "; ".join(parts)
