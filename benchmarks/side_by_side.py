"""The side-by-side comparison's scenarios, tables (with ratios ours / theirs) and plots.

:mod:`benchmarks.run` runs the scenarios listed here with the others (module ``compare``) and
hands their results to :func:`blocks`, which draws the plots and returns the tables for
``docs/benchmarks.md`` (section "Side by side").
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from benchmarks.plots import _pyplot
from benchmarks.report import table

BACKEND_TITLES = {
    "kubernetes": "Kubernetes VolumeSnapshot",
    "kubernetes_clone": "Kubernetes PVC clone",
    "snapmirror": "SnapMirror update",
    "cloud_sync": "Cloud Sync sync",
}
DESIGN_TITLES = {"ours": "ours", "naive": "provider pattern", "toolkit": "DataOps toolkit"}
SCAN_HOLD = {"kubernetes": 15.0, "kubernetes_clone": 15.0, "snapmirror": 30.0, "cloud_sync": 60.0}
"""Seconds every scan over N holds all its waits before ending every operation at once: three
poll intervals of the toolkit (5 s, 10 s) or one of its 60 s Cloud Sync sleeps."""
SCAN_WAITS = (10, 100, 1000)
TOOLKIT_CAP = 250
"""Most toolkit threads run at once: 250 threads (250 worker slots) already show the trend, and
1,000 threads of blocking pollers would take the two CPUs from the simulator."""
SWEEP = (5.0, 60.0)
"""Operation lengths (s) for worker-slot seconds against duration, at N = 10, ours and the toolkit's."""
SWEEP_BACKENDS = ("kubernetes", "kubernetes_clone", "snapmirror")
"""Cloud Sync is left out of the sweep: the toolkit's 60 s sleep makes any sync under a minute
hold its slot a minute, which the scan's runs of 10 already show."""

Scenario = tuple[str, str, list[str]]


def _scenario(backend: str, design: str, waits: int, *, hold: float = 0, duration: float = 0) -> Scenario:
    how = ["--hold", f"{hold:g}"] if hold else ["--duration", f"{duration:g}"]
    length = f"held {hold:g} s" if hold else f"{duration:g} s each"
    label = f"{backend}: {DESIGN_TITLES[design]}, {waits:,} waits, {length}"
    return ("compare", label, ["--backend", backend, "--design", design, "--waits", str(waits), *how])


def full_scenarios() -> list[Scenario]:
    """Every backend x design x N (the toolkit capped at :data:`TOOLKIT_CAP`), and the sweep.

    Ordered by N, smallest first, the sweep before the largest N: a run cut short still covers
    every backend and design.
    """
    scenarios = []
    for waits in SCAN_WAITS:
        if waits == SCAN_WAITS[-1]:  # the sweep before the slowest runs
            for backend in SWEEP_BACKENDS:
                for duration in SWEEP:
                    scenarios += [_scenario(backend, d, 10, duration=duration) for d in ("ours", "toolkit")]
        for backend, hold in SCAN_HOLD.items():
            for design in ("ours", "naive", "toolkit"):
                count = TOOLKIT_CAP if design == "toolkit" and waits > TOOLKIT_CAP else waits
                scenarios.append(_scenario(backend, design, count, hold=hold))
    return scenarios


def quick_scenarios() -> list[Scenario]:
    """List a smoke run of the comparison: ours and the provider pattern, 10 snapshots held 3 s.

    The toolkit is skipped: its interpreter starts in ~15 s and polls every 5 s, too slow for CI.
    """
    return [_scenario("kubernetes", design, 10, hold=3.0) for design in ("ours", "naive")]


# --- tables -------------------------------------------------------------------------------------

SCAN_HEADER = [
    "backend",
    "waits",
    "design",
    "requests / op",
    "requests / min while waiting",
    "resume delay p50 (ms)",
    "p99",
    "worker-slot s / op p50",
    "max",
    "slot CPU s / op p50",
    "memory / wait (KiB)",
    "done / errors",
    "load (1 min)",
]
RATIO_HEADER = [
    "backend",
    "waits",
    "vs",
    "requests / min while waiting",
    "resume delay p50",
    "worker-slot s / op",
    "slot CPU s / op",
    "memory / wait",
]
SWEEP_HEADER = [
    "backend",
    "design",
    "operation length p50 (s)",
    "waits",
    "worker-slot s / op p50",
    "max",
    "slot CPU s / op p50",
]


def _get(result: dict[str, Any], *path: str) -> Any:
    value: Any = result
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 10**digits else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _ratio(ours: Any, theirs: Any) -> str:
    if not isinstance(ours, (int, float)) or not isinstance(theirs, (int, float)) or theirs <= 0:
        return "-"
    return f"{ours / theirs:.2g}"


def _scan(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pick the runs over N (operations held, then ended at once), not the sweep's."""
    return [r for r in results if r.get("hold_s") is not None]


def _rpm(r: dict[str, Any]) -> Any:
    return _get(r, "api", "waiting_requests_per_minute", "per_minute")


def _metrics(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "rpm": _rpm(r),
        "delay": _get(r, "resume_delay_ms", "p50"),
        "slot": _get(r, "worker_slot_s", "p50"),
        "cpu": _get(r, "worker_slot_cpu_s", "p50"),
        "memory": _get(r, "memory", "per_wait_kib"),
    }


def scan_table(results: list[dict[str, Any]]) -> str:
    """One row per backend, N and design."""
    rows = []

    def order(r: dict[str, Any]) -> tuple[int, int, int]:
        return list(BACKEND_TITLES).index(r["backend"]), r["waits"], list(DESIGN_TITLES).index(r["design"])

    for r in sorted(_scan(results), key=order):
        rows.append(
            [
                BACKEND_TITLES[r["backend"]],
                f"{r['waits']:,}",
                DESIGN_TITLES[r["design"]],
                _fmt(_get(r, "api", "requests_per_operation")),
                _fmt(_rpm(r)),
                _fmt(_get(r, "resume_delay_ms", "p50")),
                _fmt(_get(r, "resume_delay_ms", "p99")),
                _fmt(_get(r, "worker_slot_s", "p50")),
                _fmt(_get(r, "worker_slot_s", "max")),
                _fmt(_get(r, "worker_slot_cpu_s", "p50")),
                _fmt(_get(r, "memory", "per_wait_kib")),
                f"{r['completed']:,} / {r['error_count']}",
                " / ".join(f"{load:g}" for load in r.get("load_average_1m", [])) or "-",
            ]
        )
    return table(SCAN_HEADER, rows)


def ratio_table(results: list[dict[str, Any]]) -> str:
    """Ours / theirs at each N both ran (the toolkit's largest run is set against ours at 1,000)."""
    scan = _scan(results)
    by_key = {(r["backend"], r["design"], r["waits"]): r for r in scan}
    rows = []
    for backend in BACKEND_TITLES:
        for waits in SCAN_WAITS:
            ours = by_key.get((backend, "ours", waits))
            if ours is None:
                continue
            for design in ("naive", "toolkit"):
                theirs = by_key.get((backend, design, waits))
                note = ""
                if theirs is None and design == "toolkit" and waits == SCAN_WAITS[-1]:
                    theirs, note = by_key.get((backend, design, TOOLKIT_CAP)), f" ({TOOLKIT_CAP} threads)"
                if theirs is None:
                    continue
                mine, other = _metrics(ours), _metrics(theirs)
                rows.append(
                    [
                        BACKEND_TITLES[backend],
                        f"{waits:,}",
                        DESIGN_TITLES[design] + note,
                        *(_ratio(mine[k], other[k]) for k in ("rpm", "delay", "slot", "cpu", "memory")),
                    ]
                )
    return table(RATIO_HEADER, rows)


def _sweep_runs(results: list[dict[str, Any]], backend: str, design: str) -> list[dict[str, Any]]:
    """Pick the runs of 10 operations (sweep and scan), ordered by how long the operations took."""
    runs = [
        r
        for r in results
        if r["backend"] == backend and r["design"] == design and r["waits"] == SCAN_WAITS[0]
        and _get(r, "operation_s", "p50") is not None
    ]  # fmt: skip
    return sorted(runs, key=lambda r: _get(r, "operation_s", "p50"))


def sweep_table(results: list[dict[str, Any]]) -> str:
    """Worker-slot seconds per operation against the operation's length, ours and the toolkit's."""
    rows = []
    for backend, title in BACKEND_TITLES.items():
        for design in ("ours", "toolkit"):
            for r in _sweep_runs(results, backend, design):
                rows.append(
                    [
                        title,
                        DESIGN_TITLES[design],
                        _fmt(_get(r, "operation_s", "p50")),
                        r["waits"],
                        _fmt(_get(r, "worker_slot_s", "p50")),
                        _fmt(_get(r, "worker_slot_s", "max")),
                        _fmt(_get(r, "worker_slot_cpu_s", "p50")),
                    ]
                )
    return table(SWEEP_HEADER, rows)


# --- plots --------------------------------------------------------------------------------------


def plot_backend(results: list[dict[str, Any]], backend: str, path: Path) -> None:
    """Plot requests per minute and resume delay against N, one line per design."""
    plt = _pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for design, title in DESIGN_TITLES.items():
        runs = sorted(
            (r for r in _scan(results) if r["backend"] == backend and r["design"] == design),
            key=lambda r: r["waits"],
        )
        if not runs:
            continue
        waits = [r["waits"] for r in runs]
        loads = [_rpm(r) for r in runs]
        left.plot(waits, [math.nan if load is None else load for load in loads], marker="o", label=title)
        right.plot(waits, [_get(r, "resume_delay_ms", "p50") for r in runs], marker="o", label=f"{title} p50")
    # symlog: a watch costs 0 requests a minute while waiting, which a log scale cannot show.
    left.set_yscale("symlog", linthresh=1)
    highest = max([_rpm(r) or 0 for r in _scan(results) if r["backend"] == backend], default=0)
    left.set_ylim(0, max(10, highest) * 2)  # all zero (watches only) has no range of its own
    right.set_yscale("log")
    for axes in (left, right):
        axes.set_xscale("log")
        axes.set_xlabel("concurrent waits (N)")
        axes.grid(alpha=0.3, which="both")
        axes.legend(fontsize="small")
    left.set_ylabel("API requests per minute while all wait")
    left.set_title("Load on the backend", fontsize="medium")
    right.set_ylabel("operation end -> waiter notified (ms)")
    right.set_title("Resume delay", fontsize="medium")
    figure.suptitle(f"{BACKEND_TITLES[backend]}: ours vs the provider pattern vs the DataOps toolkit")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_slots(results: list[dict[str, Any]], path: Path) -> None:
    """Plot worker-slot seconds per operation against the operation's length, ours and the toolkit's.

    Wall time held, and (ours, dotted) the CPU time used: on a busy machine the first stretches.
    """
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(11, 4.5))
    colours = dict(zip(BACKEND_TITLES, ("#1f77b4", "#9467bd", "#2ca02c", "#d62728"), strict=True))
    for backend, title in BACKEND_TITLES.items():
        for design in ("ours", "toolkit"):
            runs = _sweep_runs(results, backend, design)
            if not runs:
                continue
            lengths = [_get(r, "operation_s", "p50") for r in runs]
            style = {"color": colours[backend], "marker": "o" if design == "ours" else "s"}
            axes.plot(
                lengths,
                [_get(r, "worker_slot_s", "p50") for r in runs],
                linestyle="-" if design == "ours" else "--",
                label=f"{title}: {DESIGN_TITLES[design]}",
                **style,
            )
            cpu = [_get(r, "worker_slot_cpu_s", "p50") for r in runs]
            if design == "ours" and all(isinstance(value, float) for value in cpu):
                axes.plot(
                    lengths, cpu, linestyle=":", markerfacecolor="none", label=f"{title}: ours, CPU", **style
                )
    axes.axhline(1.0, color="grey", linestyle=":", linewidth=0.8, label="1 s")
    axes.set_yscale("log")
    axes.set_xlabel("operation length on the backend (s)")
    axes.set_ylabel("worker-slot seconds per operation (p50)")
    axes.set_title("Worker slot held per operation (10 operations each)")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def blocks(results: list[dict[str, Any]], out: Path) -> dict[str, str]:
    """Draw the plots into ``out`` and return the tables by block name."""
    for backend in BACKEND_TITLES:
        if any(r["backend"] == backend for r in results):
            plot_backend(results, backend, out / f"compare_{backend}.png")
    plot_slots(results, out / "compare_worker_slots.png")
    return {
        "compare-table": scan_table(results),
        "compare-ratios": ratio_table(results),
        "compare-slots": sweep_table(results),
    }
