"""``serve`` stops on Ctrl-C and SIGTERM even when it inherited SIGINT as ignored.

A non-interactive shell starts background jobs with SIGINT ignored (a CI script, ``nohup ... &``);
Python then installs no KeyboardInterrupt handler and asyncio none of its own, so a simulator that
relied on them kept running after Ctrl-C.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.helpers.processes import ServedSimulator

SERVE = {
    "ontap": ("ontap",),
    "cloud_sync": ("cloud_sync",),
    "kubernetes": ("kubernetes", "--delay", "0"),
}


@pytest.mark.parametrize("name", list(SERVE))
def test_ctrl_c_stops_a_simulator_started_with_sigint_ignored(name: str) -> None:
    with ServedSimulator(*SERVE[name], sigint_ignored=True) as served:
        assert served.lines(1)[0].strip()  # it is up and serving
    assert served.returncode == 0, served.stderr
    assert "stopped" in served.stdout


def test_sigterm_stops_the_xcp_host(tmp_path: Path) -> None:
    with ServedSimulator("xcp", "--directory", str(tmp_path), stop_signal=signal.SIGTERM) as served:
        assert served.lines(1)[0].startswith("XCP host simulator")
    assert served.returncode == 0, served.stderr
