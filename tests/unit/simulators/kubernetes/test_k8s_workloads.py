"""What a simulated container does: annotations over defaults, per container, spread over its run."""

from __future__ import annotations

from typing import Any

import pytest

from netapp_dataops_airflow.simulators.kubernetes.workloads import (
    DURATION,
    EXIT_CODE,
    OUTPUT,
    XCOM_SIDECAR,
    PodDefaults,
    script_for,
)


def pod(annotations: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": "p", "uid": "u", "annotations": annotations}}


def test_defaults_echo_the_args_or_the_command_after_its_first_word() -> None:
    defaults = PodDefaults()
    with_args = script_for(pod({}), {"name": "base", "command": ["sh", "-c"], "args": ["echo hi"]}, defaults)
    assert (with_args.lines, with_args.duration, with_args.exit_code) == (("echo hi",), 1.0, 0)
    command_only = script_for(pod({}), {"name": "base", "command": ["echo", "a", "b"]}, defaults)
    assert command_only.lines == ("a", "b")


def test_container_annotations_win_over_pod_ones_and_bad_numbers_are_ignored() -> None:
    annotations = {OUTPUT: "shared", EXIT_CODE: "2", EXIT_CODE + ".side": "9", DURATION: "soon"}
    defaults = PodDefaults(duration_seconds=3)
    base = script_for(pod(annotations), {"name": "base"}, defaults)
    side = script_for(pod(annotations), {"name": "side"}, defaults)
    assert (base.lines, base.exit_code, base.duration) == (("shared",), 2, 3.0)
    assert side.exit_code == 9


def test_the_xcom_sidecar_runs_until_stopped() -> None:
    assert script_for(pod({}), {"name": XCOM_SIDECAR}, PodDefaults()).duration is None


def test_lines_are_spread_over_the_run() -> None:
    script = script_for(pod({OUTPUT: "a\nb\nc\nd", DURATION: "4"}), {"name": "base"}, PodDefaults())
    assert script.printed(100.0, 101.5) == [(100.0, "a"), (101.0, "b")]
    assert [text for _, text in script.printed(100.0, 200.0)] == ["a", "b", "c", "d"]


def test_defaults_update_checks_names_and_types() -> None:
    defaults = PodDefaults()
    defaults.update(exit_code="3", output=None, duration_seconds=0)
    assert (defaults.exit_code, defaults.output, defaults.duration_seconds) == (3, None, 0.0)
    with pytest.raises(TypeError, match="unknown pod settings: colour"):
        defaults.update(colour="red")
    with pytest.raises(ValueError):
        defaults.update(exit_code="three")
