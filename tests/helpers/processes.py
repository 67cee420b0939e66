"""Other programs the fidelity tests run: in a clean environment, and described when they fail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest


def private_env(home: Path, **variables: str) -> dict[str, str]:
    """An environment of the caller's ``PATH``, ``home`` as ``HOME`` and ``variables``, and nothing else.

    Nothing is inherited: no in-cluster hints (``KUBERNETES_SERVICE_HOST``), no ``KUBECONFIG`` or
    credentials of the machine.
    """
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **variables}


def toolkit_python() -> str:
    """The interpreter of the NetApp DataOps toolkits' own virtualenv; skip the test without one."""
    python = os.environ.get("NETAPP_TOOLKIT_PYTHON")
    if not python:
        pytest.skip("NETAPP_TOOLKIT_PYTHON is unset: `nox -s fidelity` points it at the toolkits' venv")
    return python


def run_toolkit(
    script: Path, *args: str, home: Path, timeout: float, **variables: str
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` under the toolkits' interpreter in ``home`` and :func:`private_env`; never raise.

    The test is skipped without that interpreter, and fails (with the output so far) if the script
    outlives ``timeout`` seconds: the toolkits poll forever on what never becomes ready.
    """
    command = [toolkit_python(), str(script), *args]
    try:
        return subprocess.run(
            command,
            env=private_env(home, **variables),
            cwd=home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f"{script.name} hung:\nstdout: {hung.stdout!r}\nstderr: {hung.stderr!r}")


def describe_run(result: subprocess.CompletedProcess[str]) -> str:
    """Render a finished command for an assertion message."""
    return (
        f"$ {' '.join(map(str, result.args))}\n"
        f"exit status {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}--- stderr ---\n{result.stderr}"
    )


class ServedSimulator:
    """``python -m netapp_dataops_airflow.simulators serve ARGS`` as a child process, stopped by Ctrl-C.

    Used as a context manager: the body reads the lines the simulator prints (:meth:`lines`); leaving
    it sends SIGINT (or ``stop_signal``) and waits. A simulator that does not stop is made to dump
    its threads' stacks (``PYTHONFAULTHANDLER`` + SIGABRT) and the test fails with them: a hang is
    then a readable report, not a process left behind.
    """

    STOP_TIMEOUT = 60.0

    def __init__(
        self, *args: str, sigint_ignored: bool = False, stop_signal: signal.Signals = signal.SIGINT
    ) -> None:
        self.args = args
        self.stop_signal = stop_signal
        # As a background job of a non-interactive shell starts it (CI scripts, nohup ... &).
        self.sigint_ignored = sigint_ignored
        self.returncode: int | None = None
        self.stdout = ""  # what it printed after the lines the test read
        self.stderr = ""

    def __enter__(self) -> ServedSimulator:
        command = [sys.executable, "-m", "netapp_dataops_airflow.simulators", "serve", *self.args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=_ignore_sigint if self.sigint_ignored else None,
        )
        return self

    def lines(self, count: int) -> list[str]:
        """The next ``count`` lines the simulator prints."""
        assert self.process.stdout is not None
        return [self.process.stdout.readline() for _ in range(count)]

    def __exit__(self, *exc_info: object) -> None:
        self.process.send_signal(self.stop_signal)
        try:
            self.stdout, self.stderr = self.process.communicate(timeout=self.STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            _, self.stderr = self.process.communicate(timeout=10)
            pytest.fail(
                f"`serve {' '.join(self.args)}` ignored {self.stop_signal.name}; its stacks:\n{self.stderr}"
            )
        self.returncode = self.process.returncode


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
