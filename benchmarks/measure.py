"""Measuring tools shared by the scenarios: percentiles, an event-loop watchdog, memory readings."""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import resource
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: How often the watchdog wakes, like Airflow triggerer's ``block_watchdog`` but finer.
WATCHDOG_PERIOD = 0.005


def percentile(values: Iterable[float], fraction: float) -> float:
    """Return the nearest-rank percentile (``fraction`` 0.99 for p99); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def distribution(values: list[float], *, scale: float = 1000.0, digits: int = 1) -> dict[str, Any]:
    """Summarise ``values`` (seconds) as count, p50, p95, p99, max and mean, in milliseconds."""
    if not values:
        return {"count": 0}
    summary: dict[str, Any] = {"count": len(values)}
    for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        summary[name] = round(percentile(values, fraction) * scale, digits)
    summary["max"] = round(max(values) * scale, digits)
    summary["mean"] = round(sum(values) / len(values) * scale, digits)
    return summary


def rss_bytes() -> int:
    """Resident set size of this process now (Linux ``/proc``; elsewhere the peak so far)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


OLDEST_GENERATION = len(gc.get_threshold()) - 1
"""Collections of this generation go through every tracked object: the long ones."""


@dataclass
class LoopWatchdog:
    """Sleep ``period`` seconds in a loop and record how late each wake-up was.

    A wake-up is late when something else held the event loop: in a scenario process that is the
    code under test (and the garbage collector it keeps busy). Every tenth wake-up also reads the
    resident memory, so the peak is seen without a thread of its own.
    """

    period: float = WATCHDOG_PERIOD
    started: float = field(default_factory=time.perf_counter)
    #: (seconds since ``started`` when the sleep began, lateness in seconds)
    samples: list[tuple[float, float]] = field(default_factory=list)
    #: (seconds since ``started`` when it began, seconds it took) per full garbage collection:
    #: they hold the GIL, so the stall sampler cannot see them, and they grow with the heap.
    full_collections: list[tuple[float, float]] = field(default_factory=list)
    _collecting_since: float | None = None
    rss_peak: int = 0
    _task: asyncio.Task[None] | None = None

    sampler: StallSampler | None = None

    def start(self, *, sample_stacks: bool = True) -> None:
        """Start watching the running loop (and, from a thread, what blocks it)."""
        self.started = time.perf_counter()
        self.rss_peak = rss_bytes()
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="loop watchdog")
        gc.callbacks.append(self._on_collection)
        if sample_stacks:
            self.sampler = StallSampler(threading.get_ident(), self.started)
            self.sampler.start()

    async def stop(self) -> None:
        """Stop watching."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.sampler is not None:
            self.sampler.stop()
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != OLDEST_GENERATION:
            return  # a young generation's: short, and not what stalls a loop for long
        now = time.perf_counter()
        if phase == "start":
            self._collecting_since = now
        elif self._collecting_since is not None:
            self.full_collections.append(
                (self._collecting_since - self.started, now - self._collecting_since)
            )
            self._collecting_since = None

    async def _watch(self) -> None:
        count = 0
        while True:
            before = time.perf_counter()
            if self.sampler is not None:
                self.sampler.heartbeat = before
            await asyncio.sleep(self.period)
            self.samples.append((before - self.started, time.perf_counter() - before - self.period))
            count += 1
            if count % 10 == 0:
                self.rss_peak = max(self.rss_peak, rss_bytes())

    def lateness(self, since: float = 0.0, until: float = math.inf) -> list[float]:
        """Lateness of the wake-ups whose sleep began in ``[since, until)`` (seconds from start)."""
        return [late for at, late in self.samples if since <= at < until]

    def summary(self, since: float = 0.0, until: float = math.inf) -> dict[str, Any]:
        """Summarize the window: lateness (ms), wake-ups late by over 10 and 50 ms, full GCs.

        Full garbage collections are those that began in the window: their count and the longest (ms).
        """
        late = self.lateness(since, until)
        result = distribution(late, digits=2)
        result["over_10ms"] = sum(1 for value in late if value > 0.010)
        result["over_50ms"] = sum(1 for value in late if value > 0.050)
        pauses = [took for at, took in self.full_collections if since <= at < until]
        result["full_gc_count"] = len(pauses)
        result["full_gc_max"] = round(max(pauses, default=0.0) * 1000, 2)
        return result


class StallSampler(threading.Thread):
    """From a thread, catch the event loop's thread in the act when it has not ticked for a while.

    The watchdog task writes a heartbeat every tick. When it is older than ``threshold`` seconds,
    the loop is blocked: this thread reads the loop thread's current stack (``sys._current_frames``)
    and counts it. Stacks seen often are where the loop spends its stalls. The thread wakes every
    ``interval`` seconds and holds the GIL only for a moment, so it barely disturbs the measurement.
    """

    def __init__(
        self, loop_thread: int, origin: float, *, threshold: float = 0.02, interval: float = 0.005
    ) -> None:
        super().__init__(name="stall sampler", daemon=True)
        self.loop_thread = loop_thread
        self.origin = origin
        self.threshold = threshold
        self.interval = interval
        self.heartbeat = time.perf_counter()
        #: (seconds since origin, the blocked loop's innermost frames, innermost last)
        self.stacks: list[tuple[float, list[str]]] = []
        self._stopped = threading.Event()

    def run(self) -> None:
        """Sample until stopped."""
        while not self._stopped.wait(self.interval):
            now = time.perf_counter()
            if now - self.heartbeat < self.threshold:
                continue
            frame = sys._current_frames().get(self.loop_thread)
            if frame is not None:
                frames = traceback.extract_stack(frame)[-12:]
                self.stacks.append(
                    (now - self.origin, [f"{short_path(f.filename)}:{f.lineno} {f.name}" for f in frames])
                )

    def stop(self) -> None:
        """Stop sampling."""
        self._stopped.set()
        self.join(timeout=1)

    def hot_spots(self, limit: int = 8, depth: int = 6) -> list[dict[str, Any]]:
        """Rank the blocked stacks seen most often (``depth`` innermost frames), with how often each was seen.

        Each sample stands for about ``interval`` seconds of a stall, so ``samples x interval``
        approximates the time the loop spent blocked there.
        """
        counts: dict[tuple[str, ...], int] = {}
        first_seen: dict[tuple[str, ...], float] = {}
        for at, frames in self.stacks:
            key = tuple(frames[-depth:])
            counts[key] = counts.get(key, 0) + 1
            first_seen.setdefault(key, at)
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:limit]
        return [
            {
                "samples": count,
                "approx_ms": round(count * self.interval * 1000),
                "first_seen_s": round(first_seen[key], 3),
                "stack": list(key),
            }
            for key, count in ranked
        ]


def short_path(path: str) -> str:
    """``.../site-packages/aiohttp/client.py`` -> ``aiohttp/client.py``; our files relative to the repo."""
    for marker in ("site-packages/", "lib/python3.11/", "lib/python3.12/", "lib/python3.13/"):
        if marker in path:
            return path.split(marker, 1)[1]
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


def machine() -> dict[str, Any]:
    """Describe where the numbers were taken: CPUs, OS, Python."""
    import platform

    cpu_model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu_model = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "")
    except OSError:
        cpu_model = platform.processor()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model or platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def write_result(result: dict[str, Any], out: Path | None) -> None:
    """Stamp ``result`` with the machine it ran on, then write it as JSON to ``out`` (or print it)."""
    result["machine"] = machine()
    text = json.dumps(result, indent=1)
    if out:
        out.write_text(text)
    else:
        print(text)
