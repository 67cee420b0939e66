"""Plots of the raw results (PNG, via matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LATENCY_TARGET_MS = 250
STALL_TARGET_MS = 50


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def snapshot_latency(results: list[dict[str, Any]], path: Path) -> None:
    """Plot the CDF of the delay from ``readyToUse`` committed on the server to the trigger's event."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for result in results:
        values = sorted(result["raw"]["latency_ms"])
        if values:
            fractions = [(index + 1) / len(values) for index in range(len(values))]
            axes.step(values, fractions, where="post", label=result["name"])
    axes.axvline(
        LATENCY_TARGET_MS, color="grey", linestyle="--", label=f"target p99 < {LATENCY_TARGET_MS} ms"
    )
    axes.axhline(0.99, color="grey", linestyle=":", linewidth=0.8)
    axes.set_xlabel("readyToUse committed on the server -> trigger event (ms)")
    axes.set_ylabel("fraction of waits")
    axes.set_title("VolumeSnapshot waits: delay to the trigger's event (CDF)")
    axes.set_ylim(0, 1.01)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def loop_stalls(results: list[dict[str, Any]], path: Path, title: str) -> None:
    """Plot event-loop lateness over time, one panel per scenario, phases shaded when known."""
    plt = _pyplot()
    figure, panels = plt.subplots(
        len(results), 1, figsize=(9, 2.3 * len(results)), sharex=False, squeeze=False
    )
    shades = {"start": "#fde2c8", "idle": "#e3efe0", "completion": "#dde6f5"}
    for axes, result in zip(panels[:, 0], results, strict=True):
        samples = result["raw"]["watchdog"]
        axes.plot([at for at, _ in samples], [late for _, late in samples], linewidth=0.7, color="#1f4e8c")
        for phase, (since, until) in result["raw"].get("phases_s", {}).items():
            origin = result["raw"]["phases_s"]["start"][0]
            axes.axvspan(
                since - origin, until - origin, color=shades.get(phase, "#eeeeee"), label=phase, zorder=0
            )
        axes.axhline(STALL_TARGET_MS, color="grey", linestyle="--", linewidth=0.8)
        axes.set_yscale("symlog", linthresh=1)
        axes.set_ylim(bottom=0)
        axes.set_ylabel("late (ms)")
        axes.set_title(result["name"], fontsize="small", loc="left")
        axes.grid(alpha=0.3)
    if results[0]["raw"].get("phases_s"):
        panels[0, 0].legend(fontsize="x-small", loc="upper right")
    panels[-1, 0].set_xlabel("seconds since the waits were launched (dashed: 50 ms target)")
    figure.suptitle(title, fontsize="medium")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def transfer_requests(results: list[dict[str, Any]], path: Path) -> None:
    """Plot requests per minute to the cluster by number of waits, and the delay to the event."""
    plt = _pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    labels = [str(result["waits"]) for result in results]
    polls = [result["api"]["polls_per_minute"] for result in results]
    total = [result["api"]["requests_per_minute"] for result in results]
    positions = range(len(results))
    left.bar([p - 0.2 for p in positions], polls, width=0.4, label="batched polls / min")
    left.bar([p + 0.2 for p in positions], total, width=0.4, label="all requests / min")
    left.set_xticks(list(positions), labels)
    left.set_xlabel("concurrent transfer waits")
    left.set_ylabel("requests per minute")
    left.set_title("Load on the cluster", fontsize="medium")
    left.legend(fontsize="small")
    left.grid(alpha=0.3, axis="y")
    for result in results:
        values = sorted(result["raw"]["delay_ms"])
        if values:
            right.step(
                values, [(i + 1) / len(values) for i in range(len(values))], where="post", label=labels[0]
            )
            labels.pop(0)
    right.set_xlabel("transfer end -> trigger event (ms)")
    right.set_ylabel("fraction of waits")
    right.set_title("Delay to the event (CDF, by number of waits)", fontsize="medium")
    right.grid(alpha=0.3)
    right.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
