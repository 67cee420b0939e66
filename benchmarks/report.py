"""Markdown tables of the results, written between markers in ``docs/benchmarks.md``.

The page's prose (what the numbers mean) is written by hand; only the blocks between
``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` are regenerated, so a rerun refreshes the
figures without touching the interpretation around them.
"""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path
from typing import Any

PACKAGES = ("netapp-dataops-airflow", "apache-airflow", "kubernetes_asyncio", "aiohttp", "structlog")
COST_HEADER = [
    "scenario",
    "waits",
    "watch streams opened (per namespace)",
    "requests to start",
    "requests to finish",
    "requests in all",
]
LATENCY_HEADER = [
    "scenario",
    "p50 (ms)",
    "p95",
    "p99",
    "max",
    "simulator share p50/p99",
    "watch + informer p50/p99",
    "content + result p50/p99",
]
STALLS_HEADER = [
    "scenario",
    "longest stall (ms)",
    "in start",
    "while idle",
    "while completing",
    "completing p50/p99",
    "wake-ups > 50 ms",
    "full GCs: count / longest (ms)",
]
MEMORY_HEADER = [
    "scenario",
    "RSS before (MiB)",
    "RSS all waiting",
    "peak RSS growth per 1,000 waits (MiB)",
    "tracemalloc peak (MiB)",
    "start all waits (s)",
    "flips spread over (s)",
    "last event after first flip (s)",
]
TRANSFER_HEADER = [
    "waits",
    "poll interval (s)",
    "batched polls",
    "polls / min",
    "transfer reads",
    "all requests / min",
    "end to event p50 (ms)",
    "p99",
    "max",
    "longest stall (ms)",
    "stall p99",
    "full GCs: count / longest (ms)",
]

SYNC_HEADER = [
    "waits",
    "poll interval (s)",
    "listings",
    "relationship reads",
    "token exchanges",
    "API requests / min",
    "DONE to event p50 (ms)",
    "p99",
    "max",
    "longest stall (ms)",
    "stall p99",
    "full GCs: count / longest (ms)",
]


def table(header: list[str], rows: list[list[Any]]) -> str:
    """Render a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _ms(summary: dict[str, Any], key: str) -> str:
    value = summary.get(key)
    return "-" if value is None else f"{value:g}"


def machine_block(machine: dict[str, Any], mode: str, when: str) -> str:
    """Describe the machine, the interpreter and the versions the figures were taken with."""
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    rows = [
        ["taken", f"{when} ({mode} run)"],
        ["CPUs", f"{machine['cpus']} x {machine['cpu_model']}"],
        ["OS", machine["os"]],
        ["Python", machine["python"]],
        ["versions", ", ".join(versions)],
        [
            "processes",
            "scenario (the measured loop), simulator, and for snapshots a flipper: 3 on these CPUs",
        ],
    ]
    return table(["", ""], rows)


def snapshot_blocks(results: list[dict[str, Any]]) -> dict[str, str]:
    """Build the tables of benchmark 1: API cost, latency, loop stalls, memory and wall time."""
    cost, latency, stalls, memory = [], [], [], []
    for r in results:
        api, lat, loop, mem, wall = r["api"], r["latency_ms"], r["loop_lateness_ms"], r["memory"], r["wall_s"]
        watches = ", ".join(f"{w['namespace']}: {w['opened']}" for w in api["watch_streams"])
        start = ", ".join(f"{n} {verb}" for verb, n in api["requests_to_start"].items())
        finish = ", ".join(f"{n} {verb}" for verb, n in api["requests_to_finish"].items())
        cost.append([r["name"], r["waits"], watches, start, finish, api["requests_total"]])
        total, server = lat["commit_to_event"], lat["commit_to_sent (simulator)"]
        watch, read = lat["sent_to_check (watch, informer)"], lat["check_to_event (content GET, result)"]
        latency.append(
            [
                r["name"],
                *(_ms(total, key) for key in ("p50", "p95", "p99", "max")),
                f"{_ms(server, 'p50')} / {_ms(server, 'p99')}",
                f"{_ms(watch, 'p50')} / {_ms(watch, 'p99')}",
                f"{_ms(read, 'p50')} / {_ms(read, 'p99')}",
            ]
        )
        stalls.append(
            [
                r["name"],
                _ms(loop["whole_run"], "max"),
                _ms(loop["start"], "max"),
                _ms(loop["idle"], "max"),
                _ms(loop["completion"], "max"),
                f"{_ms(loop['completion'], 'p50')} / {_ms(loop['completion'], 'p99')}",
                loop["whole_run"]["over_50ms"],
                _full_gcs(loop["whole_run"]),
            ]
        )
        memory.append(
            [
                r["name"],
                mem["rss_before_mib"],
                mem["rss_all_waiting_mib"],
                mem["rss_peak_delta_per_1000_waits_mib"],
                mem.get("tracemalloc_peak_mib", "-"),
                wall["start_all_waits"],
                wall["flips_spread_over"],
                wall["finish_after_first_flip"],
            ]
        )
    return {
        "snapshot-cost": table(COST_HEADER, cost),
        "snapshot-latency": table(LATENCY_HEADER, latency),
        "snapshot-stalls": table(STALLS_HEADER, stalls),
        "snapshot-memory": table(MEMORY_HEADER, memory),
        "snapshot-hotspots": hot_spots(results),
    }


def hot_spots(results: list[dict[str, Any]], per_scenario: int = 2) -> str:
    """List the stacks the stall sampler caught most often, per scenario (innermost frame last)."""
    rows = []
    for r in results:
        for spot in r.get("stall_hot_spots", [])[:per_scenario]:
            rows.append(
                [r["name"], f"~{spot['approx_ms']} ms", "<br>".join(f"`{f}`" for f in spot["stack"][-4:])]
            )
    return (
        table(["scenario", "blocked for", "where (innermost last)"], rows) if rows else "(no stalls sampled)"
    )


def _full_gcs(loop: dict[str, Any]) -> str:
    """Say how many full garbage collections ran and the longest (results before they were timed: -)."""
    if "full_gc_count" not in loop:
        return "-"
    return f"{loop['full_gc_count']} / {loop['full_gc_max']:g}"


def transfer_blocks(results: list[dict[str, Any]]) -> dict[str, str]:
    """Build the table of benchmark 2: load on the cluster, delay to the event, loop stalls."""
    rows = []
    for r in results:
        api, delay, loop = r["api"], r["latency_ms"]["end_to_event"], r["loop_lateness_ms"]["whole_run"]
        reads = api["requests"].get("transfer reads (one per wait)", 0)
        rows.append(
            [
                r["waits"],
                r["poll_interval_s"],
                api["requests"].get("relationship polls (batched)", 0),
                api["polls_per_minute"],
                reads,
                api["requests_per_minute"],
                *(_ms(delay, key) for key in ("p50", "p99", "max")),
                _ms(loop, "max"),
                _ms(loop, "p99"),
                _full_gcs(loop),
            ]
        )
    return {"transfer-table": table(TRANSFER_HEADER, rows), "transfer-hotspots": hot_spots(results, 2)}


XCP_HEADER = [
    "runs",
    "poll (s)",
    "SSH connections",
    "commands",
    "commands/min",
    "end→event p50",
    "p99",
    "max",
    "loop max",
    "loop p99",
    "full GCs: count / longest (ms)",
]


def xcp_blocks(results: list[dict[str, Any]]) -> dict[str, str]:
    """Build the table of the XCP benchmark: what the host's SSH server saw, delay, loop stalls."""
    rows = []
    for r in results:
        ssh, delay, loop = r["ssh"], r["latency_ms"]["end_to_event"], r["loop_lateness_ms"]["whole_run"]
        rows.append(
            [
                r["runs"],
                r["poll_interval_s"],
                ssh["connections_during_waits"],
                ssh["commands_during_waits"],
                ssh["commands_per_minute"],
                *(_ms(delay, key) for key in ("p50", "p99", "max")),
                _ms(loop, "max"),
                _ms(loop, "p99"),
                _full_gcs(loop),
            ]
        )
    return {"xcp-table": table(XCP_HEADER, rows)}


def sync_blocks(results: list[dict[str, Any]]) -> dict[str, str]:
    """Build the table of benchmark 3: load on the Cloud Sync account, delay to the event, loop stalls."""
    rows = []
    for r in results:
        api, delay, loop = r["api"], r["latency_ms"]["done_to_event"], r["loop_lateness_ms"]["whole_run"]
        kinds = api["requests"]
        rows.append(
            [
                r["waits"],
                r["poll_interval_s"],
                kinds.get("listings (one per account and poll)", 0),
                kinds.get("relationship reads (one per wait)", 0),
                api["token_requests"],
                api["api_requests_per_minute"],
                *(_ms(delay, key) for key in ("p50", "p99", "max")),
                _ms(loop, "max"),
                _ms(loop, "p99"),
                _full_gcs(loop),
            ]
        )
    return {"sync-table": table(SYNC_HEADER, rows), "sync-hotspots": hot_spots(results, 2)}


def rewrite(page: Path, blocks: dict[str, str]) -> None:
    """Replace each ``<!-- bench:NAME -->...<!-- /bench:NAME -->`` block in ``page``.

    Blocks missing from the page are appended at its end, so a new table is never lost.
    """
    text = page.read_text() if page.exists() else "# Benchmarks\n"
    for name, body in blocks.items():
        block = f"<!-- bench:{name} -->\n{body}\n<!-- /bench:{name} -->"
        pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
        found = pattern.search(text)
        if found:
            text = text[: found.start()] + block + text[found.end() :]
        else:
            text = text.rstrip("\n") + f"\n\n{block}\n"
    page.write_text(text)
