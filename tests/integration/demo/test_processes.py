"""Stopping by process group, and finding again the descendants that left the group."""

from __future__ import annotations

import os
import time
from pathlib import Path

from netapp_dataops_airflow.demo.processes import MARKER, marked_processes, start_group, stop_groups, sweep


def wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_descendant_in_a_session_of_its_own_survives_the_group_stop_but_not_the_sweep(
    tmp_path: Path,
) -> None:
    marker = f"processes-test-{os.getpid()}"
    # Like an XCP run: the program starts a child that leaves its process group with setsid.
    program = start_group(
        ["/bin/sh", "-c", "setsid sleep 300 & wait"],
        env={**os.environ, MARKER: marker},
        log=tmp_path / "out.log",
    )

    def escaped_the_group() -> bool:
        try:
            return any(os.getpgid(pid) != program.pid for pid in marked_processes(marker))
        except ProcessLookupError:
            return False

    wait_for(escaped_the_group)  # setsid has run: the child leads a session of its own
    stop_groups([program], grace=5)
    assert program.returncode is not None
    (escaped,) = marked_processes(marker)
    assert os.getpgid(escaped) != program.pid
    assert sweep(marker) == [escaped]
    wait_for(lambda: marked_processes(marker) == [])
