"""Run every benchmark scenario, keep the raw results, draw the plots, refresh ``docs/benchmarks.md``.

``nox -s bench`` runs this module. Each scenario is a separate process (a fresh stand-in for one
triggerer), started one after the other so they never compete for the CPUs.

- ``python -m benchmarks.run``: the full set; raw results (JSON) and plots (PNG) go to
  ``docs/benchmarks/`` and the tables in ``docs/benchmarks.md`` are rewritten.
- ``python -m benchmarks.run --quick``: fewer waits and shorter waits, well under a minute, so CI
  can check the benchmarks still run. Results go to a temporary directory (or ``--out``) and the
  tables are printed; the docs are left alone.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import plots, report, side_by_side

ROOT = Path(__file__).resolve().parent.parent
DOCS_PAGE = ROOT / "docs" / "benchmarks.md"
DOCS_DIR = ROOT / "docs" / "benchmarks"

# (module, label, command-line options) per scenario.
Scenario = tuple[str, str, list[str]]
FULL: list[Scenario] = [
    (
        "snapshot_waits",
        "1,000 waits, 1 namespace",
        ["--waits", "1000", "--namespaces", "1", "--window", "10"],
    ),
    (
        "snapshot_waits",
        "1,000 waits, 4 namespaces",
        ["--waits", "1000", "--namespaces", "4", "--window", "10"],
    ),
    (
        "snapshot_waits",
        "1,000 waits, all ready at once",
        ["--waits", "1000", "--namespaces", "1", "--window", "0", "--concurrency", "32"],
    ),
    (
        "snapshot_waits",
        "1,000 waits, tracemalloc on",
        ["--waits", "1000", "--namespaces", "1", "--window", "10", "--tracemalloc"],
    ),
    ("snapshot_waits", "10 waits, 1 namespace", ["--waits", "10", "--namespaces", "1", "--window", "10"]),
    ("snapshot_waits", "100 waits, 1 namespace", ["--waits", "100", "--namespaces", "1", "--window", "10"]),
    (
        "snapshot_waits",
        "5,000 waits, 1 namespace",
        ["--waits", "5000", "--namespaces", "1", "--window", "10"],
    ),
    (
        "snapshot_waits",
        "5,000 waits, all ready at once",
        ["--waits", "5000", "--namespaces", "1", "--window", "0", "--concurrency", "32"],
    ),
    ("transfer_waits", "10 waits", ["--waits", "10", "--poll-interval", "5", "--duration", "40"]),
    ("transfer_waits", "100 waits", ["--waits", "100", "--poll-interval", "5", "--duration", "40"]),
    ("transfer_waits", "1,000 waits", ["--waits", "1000", "--poll-interval", "5", "--duration", "40"]),
    ("transfer_waits", "5,000 waits", ["--waits", "5000", "--poll-interval", "5", "--duration", "40"]),
    ("xcp_waits", "200 runs on one host", ["--runs", "200", "--poll-interval", "5", "--duration", "30"]),
    ("sync_waits", "10 waits", ["--waits", "10", "--poll-interval", "5", "--duration", "30"]),
    ("sync_waits", "100 waits", ["--waits", "100", "--poll-interval", "5", "--duration", "30"]),
    ("sync_waits", "1,000 waits", ["--waits", "1000", "--poll-interval", "5", "--duration", "30"]),
    *side_by_side.full_scenarios(),
]
QUICK: list[Scenario] = [
    ("snapshot_waits", "200 waits, 1 namespace", ["--waits", "200", "--window", "1", "--settle", "0.5"]),
    (
        "snapshot_waits",
        "200 waits, 4 namespaces",
        ["--waits", "200", "--namespaces", "4", "--window", "1", "--settle", "0.5"],
    ),
    ("transfer_waits", "10 waits", ["--waits", "10", "--poll-interval", "1", "--duration", "2"]),
    ("transfer_waits", "100 waits", ["--waits", "100", "--poll-interval", "1", "--duration", "2"]),
    ("xcp_waits", "20 runs on one host", ["--runs", "20", "--poll-interval", "1", "--duration", "3"]),
    ("sync_waits", "100 waits", ["--waits", "100", "--poll-interval", "1", "--duration", "2"]),
    *side_by_side.quick_scenarios(),
]


def run_scenario(module: str, label: str, options: list[str], out: Path, logs: Path) -> dict[str, Any] | None:
    """Run one scenario in a process of its own; return its JSON result (``None`` if it failed)."""
    result_file = out / f"{module}-{len(list(out.glob(module + '-*.json')))}.json"
    # Numbered by scenario: a failed one writes no result, and the next must not reuse its log.
    log_file = logs / f"{len(list(logs.glob('*.log'))):02d}-{result_file.stem}.log"
    env = {**os.environ, "AIRFLOW_HOME": tempfile.mkdtemp(prefix="bench-airflow-")}
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    command = [
        sys.executable,
        "-m",
        f"benchmarks.{module}",
        "--name",
        label,
        *options,
        "--out",
        str(result_file),
    ]
    began = time.monotonic()
    print(f"- {module}: {label} ...", end="", flush=True)
    with log_file.open("w") as log:
        finished = subprocess.run(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    if finished.returncode != 0:
        print(f" failed (exit {finished.returncode}); see {log_file}")
        return None
    print(f" {time.monotonic() - began:.0f} s")
    result: dict[str, Any] = json.loads(result_file.read_text())
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios, then write results, plots and tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer and shorter waits")
    parser.add_argument(
        "--only",
        choices=("snapshot_waits", "transfer_waits", "xcp_waits", "sync_waits", "compare"),
        help="run one benchmark",
    )
    parser.add_argument("--out", type=Path, help="where results and plots go (default: see module doc)")
    args = parser.parse_args(argv)

    scenarios = [s for s in (QUICK if args.quick else FULL) if args.only in (None, s[0])]
    out = args.out or (Path(tempfile.mkdtemp(prefix="bench-quick-")) if args.quick else DOCS_DIR)
    out.mkdir(parents=True, exist_ok=True)
    # Only the raw results this run replaces: `--only X` keeps the other scenarios' files.
    for module in {scenario[0] for scenario in scenarios}:
        for stale in out.glob(f"{module}-*.json"):
            stale.unlink()
    logs = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    print(f"Benchmarks ({'quick' if args.quick else 'full'}); scenario logs in {logs}")
    results: dict[str, list[dict[str, Any]]] = {}
    failed: list[str] = []
    began = time.monotonic()
    # A failed scenario is reported at the end; the others' tables are still written (a full run
    # takes an hour: one failure must not throw the rest away).
    for module, label, options in scenarios:
        result = run_scenario(module, label, options, out, logs)
        if result is None:
            failed.append(f"{module}: {label}")
        else:
            results.setdefault(module, []).append(result)
    print(f"All scenarios ran in {time.monotonic() - began:.0f} s")
    if not results:
        print("No scenario succeeded; nothing written")
        return 1

    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    first = next(iter(results.values()))[0]
    # The machine block dates the full run of every scenario; a run of one scenario leaves it.
    blocks: dict[str, str] = {}
    if args.only is None:
        blocks["machine"] = report.machine_block(first["machine"], "quick" if args.quick else "full", when)
    snapshots, transfers = results.get("snapshot_waits", []), results.get("transfer_waits", [])
    if snapshots:
        blocks.update(report.snapshot_blocks(snapshots))
        latency_runs = [r for r in snapshots if "tracemalloc" not in r["name"]]
        plots.snapshot_latency(latency_runs, out / "snapshot_latency.png")
        plots.loop_stalls(
            latency_runs, out / "snapshot_loop_stalls.png", "VolumeSnapshot waits: event-loop lateness"
        )
    if transfers:
        blocks.update(report.transfer_blocks(transfers))
        plots.transfer_requests(transfers, out / "transfer_requests.png")
        plots.loop_stalls(
            transfers, out / "transfer_loop_stalls.png", "SnapMirror waits: event-loop lateness"
        )

    if results.get("xcp_waits"):
        blocks.update(report.xcp_blocks(results["xcp_waits"]))
    if results.get("sync_waits"):
        blocks.update(report.sync_blocks(results["sync_waits"]))
    if results.get("compare"):
        blocks.update(side_by_side.blocks(results["compare"], out))

    if args.quick and args.out is None:
        for name, block in blocks.items():
            print(f"\n## {name}\n\n{block}")
        print(f"\nResults and plots in {out} (docs left unchanged)")
    else:
        page = DOCS_PAGE if out == DOCS_DIR else out / "benchmarks.md"
        report.rewrite(page, blocks)
        print(f"Results and plots in {out}; tables written to {page}")
    if failed:
        print("Failed (missing from the tables):", *failed, sep="\n- ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
