"""Numbers, progress lines and the summary block, in XCP's printed shapes.

Counts have thousands separators (``134,630``), sizes binary units (``2.36 GiB``), durations the
``2m1s`` form; the summary block ends with ``STATUS : PASSED`` or ``STATUS : FAILED``.
"""

from __future__ import annotations

from collections.abc import Sequence


def count(value: int) -> str:
    """``134630`` -> ``134,630``."""
    return f"{value:,}"


def size(value: float) -> str:
    """Bytes in binary units as XCP prints them: ``512``, ``1.50 KiB``, ``2.36 GiB``."""
    if value < 1024:
        return f"{int(value)}"
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if value < 1024 or unit == "PiB":
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


def rate(value: float) -> str:
    """Format a rate: ``0/s`` when nothing moved, else ``31.8 MiB/s``."""
    return "0/s" if value <= 0 else f"{size(value)}/s"


def duration(seconds: float) -> str:
    """``121`` -> ``2m1s``; ``3725`` -> ``1h2m5s``; under a minute ``5s``."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def counts_line(pairs: Sequence[tuple[int | str, str]]) -> str:
    """``[(18, "scanned"), (17, "copied")]`` -> ``18 scanned, 17 copied``."""
    return ", ".join(f"{count(n) if isinstance(n, int) else n} {word}" for n, word in pairs)


def traffic(bytes_in: int, bytes_out: int, elapsed: float) -> str:
    """``1.2 MiB in (1.1 MiB/s), 1.3 MiB out (1.2 MiB/s)``."""
    seconds = max(elapsed, 1e-9)
    incoming = f"{size(bytes_in)} in ({rate(bytes_in / seconds)})"
    return f"{incoming}, {size(bytes_out)} out ({rate(bytes_out / seconds)})"


def summary(
    argv: Sequence[str],
    counts: str,
    bytes_in: int,
    bytes_out: int,
    elapsed: float,
    *,
    passed: bool,
    migration_id: str | None,
    job_id: str,
    log_path: str,
) -> list[str]:
    """Build the final block, field order as in XCP's examples (1.9.2 and later)."""
    lines = [
        f"Xcp command : xcp {' '.join(argv)}",
        f"Stats : {counts}",
        f"Speed : {traffic(bytes_in, bytes_out, elapsed)}",
        f"Total Time : {duration(elapsed)}.",
    ]
    if migration_id:
        lines.append(f"Migration ID: {migration_id}")
    lines += [f"Job ID : {job_id}", f"Log Path : {log_path}", f"STATUS : {'PASSED' if passed else 'FAILED'}"]
    return lines
