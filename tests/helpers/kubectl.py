"""A kubectl binary run with a private HOME, for the fidelity tests; long-running ones read line by line."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.processes import describe_run, private_env
from tests.helpers.waiting import WAIT_SECONDS


class LineReader:
    """Collect a running process's stdout line by line in a thread, so reads can have a limit."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, predicate: Callable[[str], bool], what: str) -> str:
        """Return the first new line that satisfies ``predicate``; fail if the output ends first."""
        while True:
            try:
                line = self._queue.get(timeout=WAIT_SECONDS)
            except queue.Empty:
                pytest.fail(f"no line with {what} within {WAIT_SECONDS}s; output so far: {self.lines}")
            if line is None:
                stderr = self.process.stderr.read() if self.process.stderr else ""
                pytest.fail(f"output ended before a line with {what}: {self.lines}\nstderr: {stderr}")
            self.lines.append(line)
            if predicate(line):
                return line


@dataclass
class Kubectl:
    """Run one kubectl binary with a private HOME (its discovery and /version caches live there)."""

    binary: Path
    kubeconfig: Path
    home: Path
    manifests: Path
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return private_env(self.home, KUBECONFIG=str(self.kubeconfig))

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        """Run kubectl; with ``ok`` (default) fail the test unless it exits 0, else expect a failure."""
        result = subprocess.run(
            [str(self.binary), *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS * 2,
            check=False,
        )
        if ok:
            assert result.returncode == 0, describe_run(result)
        else:
            assert result.returncode != 0, describe_run(result)
        return result

    __call__ = run

    def json(self, *args: str) -> dict[str, Any]:
        """Run a ``get``-like command with ``-o json`` and return the parsed document."""
        result = self.run(*args, "-o", "json")
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    def manifest(self, obj: dict[str, Any]) -> Path:
        """Write ``obj`` as a YAML manifest and return its path (for ``-f``)."""
        path = self.manifests / f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(obj, sort_keys=False))
        return path

    def stream(self, *args: str) -> LineReader:
        """Start a long-running kubectl (``get -w``); it is terminated when the test ends."""
        process = subprocess.Popen(
            [str(self.binary), *args],
            env=self.env,
            cwd=self.home,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.processes.append(process)
        return LineReader(process)

    def close(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(timeout=WAIT_SECONDS)
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()
