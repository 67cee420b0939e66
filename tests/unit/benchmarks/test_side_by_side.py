"""The side-by-side comparison's own arithmetic: what it counts, the window it rates, the ratios it prints.

The figures come from ``nox -s bench``; these tests check the bookkeeping that turns raw readings
into them, so a wrong ratio or a request counted under the wrong name cannot reach the docs.
"""

from __future__ import annotations

from typing import Any

from benchmarks.baselines.toolkit_driver import CALLS
from benchmarks.compare import BACKENDS, START_REQUEST, TOOLKIT_POLL, _generic, task_context, waiting_rate
from benchmarks.side_by_side import (
    BACKEND_TITLES,
    SCAN_HOLD,
    SWEEP_BACKENDS,
    TOOLKIT_CAP,
    full_scenarios,
    quick_scenarios,
    ratio_table,
)


def result(
    design: str, waits: int, rpm: float, delay: float, slot: float | None, memory: float
) -> dict[str, Any]:
    return {
        "backend": "snapmirror",
        "design": design,
        "waits": waits,
        "hold_s": 30.0,
        "duration_s": None,
        "completed": waits,
        "error_count": 0,
        "api": {"waiting_requests_per_minute": {"per_minute": rpm, "window_s": 30.0}},
        "resume_delay_ms": {"p50": delay},
        "worker_slot_s": {"p50": slot} if slot is not None else {"count": 0},
        "worker_slot_cpu_s": {"p50": slot / 10} if slot is not None else {"count": 0},
        "memory": {"per_wait_kib": memory},
    }


def test_the_waiting_rate_spans_the_readings_inside_the_window() -> None:
    samples = [(0.0, 0, 0), (1.0, 10, 5), (2.0, 20, 5), (3.0, 30, 5), (4.0, 100, 5)]
    assert waiting_rate(samples, since=0.5, until=3.5) == {"per_minute": 600.0, "window_s": 2.0}


def test_no_waiting_rate_without_two_readings_two_seconds_apart() -> None:
    samples = [(0.0, 0, 0), (1.0, 10, 0), (2.0, 20, 0)]
    assert waiting_rate(samples, since=0.5, until=2.5) is None
    assert waiting_rate(samples, since=5.0, until=9.0) is None


def test_request_paths_are_counted_by_kind_not_by_object() -> None:
    uuid = "2c0e9f4e-8f4b-11ee-b9d1-0242ac120002"
    assert _generic(f"/api/snapmirror/relationships/{uuid}/transfers/{uuid}") == (
        "/api/snapmirror/relationships/{id}/transfers/{id}"
    )
    assert _generic("/api/relationships-v2") == "/api/relationships-v2"
    assert _generic("/api/relationships-v2/5f1a8d2c3b9e4a7d6c0b1e2f") == "/api/relationships-v2/{id}"


def test_the_task_state_an_operator_stored_reaches_the_resumed_task() -> None:
    deferred = task_context("op-0001")
    deferred["task_state_store"].set("transfer", {"uuid": "t-1", "adopted": False})
    resumed = task_context("op-0001", deferred["task_state_store"].get("__all__"))
    assert resumed["task_state_store"].get("transfer") == {"uuid": "t-1", "adopted": False}
    assert resumed["task_state_store"].get("missing", "default") == "default"


def test_ratios_are_ours_over_theirs_and_name_the_capped_toolkit_run() -> None:
    results = [
        result("ours", 1000, rpm=6.0, delay=2000.0, slot=0.5, memory=20.0),
        result("naive", 1000, rpm=6000.0, delay=4000.0, slot=None, memory=40.0),
        result("toolkit", TOOLKIT_CAP, rpm=1500.0, delay=8000.0, slot=30.0, memory=100.0),
    ]
    rows = ratio_table(results).splitlines()[2:]
    assert rows == [
        "| SnapMirror update | 1,000 | provider pattern | 0.001 | 0.5 | - | - | 0.5 |",
        f"| SnapMirror update | 1,000 | DataOps toolkit ({TOOLKIT_CAP} threads) "
        "| 0.004 | 0.25 | 0.017 | 0.017 | 0.2 |",
    ]


def test_the_full_run_caps_the_toolkit_and_the_quick_run_skips_it() -> None:
    full = [options for module, _, options in full_scenarios() if module == "compare"]
    toolkit_waits = {int(o[o.index("--waits") + 1]) for o in full if "toolkit" in o}
    assert max(toolkit_waits) == TOOLKIT_CAP
    assert {o[o.index("--design") + 1] for _, _, o in quick_scenarios()} == {"ours", "naive"}


def test_every_backend_is_scanned_with_every_design_and_the_clones_are_swept() -> None:
    assert set(BACKENDS) == set(BACKEND_TITLES) == set(SCAN_HOLD) == set(TOOLKIT_POLL) == set(START_REQUEST)
    assert set(BACKENDS) == set(CALLS)  # the toolkit's driver runs each of them
    full = [options for module, _, options in full_scenarios() if module == "compare"]
    scanned = {(o[o.index("--backend") + 1], o[o.index("--design") + 1]) for o in full if "--hold" in o}
    assert scanned == {(b, d) for b in BACKENDS for d in ("ours", "naive", "toolkit")}
    assert "kubernetes_clone" in SWEEP_BACKENDS
    swept = {o[o.index("--backend") + 1] for o in full if "--duration" in o}
    assert swept == set(SWEEP_BACKENDS)
