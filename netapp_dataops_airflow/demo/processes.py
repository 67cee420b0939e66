"""Programs started in process groups of their own, stopped by group, and every descendant found again.

Each program leads a new session (``start_new_session``), so the terminal's Ctrl-C reaches only
the program that started them, which stops them in order. Some descendants leave their group on
purpose (XCP runs are started with ``setsid`` to survive their SSH connection; Airflow's task
supervisors may too), so every program also carries a marker in its environment, inherited by
whatever it starts: :func:`marked_processes` finds them all by pid (on Linux, through ``/proc``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

MARKER = "NETAPP_DATAOPS_AIRFLOW_RUN"
"""The environment variable whose value tags every process of one deployment."""


def start_group(argv: Sequence[str], *, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``argv`` as the leader of a new session and process group, output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Send ``signum`` to the process group ``process`` leads (its pid), if the group is still there."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def stop_groups(processes: Iterable[subprocess.Popen[bytes]], *, grace: float) -> None:
    """TERM each group, wait up to ``grace`` seconds for the leaders, then KILL what is left of each group."""
    processes = list(processes)
    for process in processes:
        signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(max(0.0, deadline - time.monotonic()))
    for process in processes:
        signal_group(process, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)


def marked_processes(marker: str, *, proc: Path = Path("/proc")) -> list[int]:
    """Return the pids (other than this process) whose environment has ``MARKER=marker``.

    Empty where there is no ``/proc`` (macOS): there, stopping by process group is all there is.
    """
    wanted = f"{MARKER}={marker}".encode()
    found = []
    for entry in proc.glob("[0-9]*") if proc.is_dir() else ():
        pid = int(entry.name)
        if pid == os.getpid():
            continue
        try:
            environment = (entry / "environ").read_bytes().split(b"\0")
        except OSError:  # gone, or not ours to read
            continue
        if wanted in environment:
            found.append(pid)
    return found


def sweep(marker: str, *, grace: float = 5.0) -> list[int]:
    """TERM every process still carrying ``marker``, KILL those alive after ``grace``; return their pids."""
    pids = marked_processes(marker)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and marked_processes(marker):
        time.sleep(0.1)
    for pid in marked_processes(marker):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return pids
