"""Helpers for the Kubernetes fidelity tests: manifests, a kubectl runner, polling.

Kept out of ``conftest.py`` so test modules can import them by a name no other directory uses.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

# Generous limits for waiting on the simulator: they only bound a hung run, they never time anything.
WAIT_SECONDS = 60
NAMESPACE = "default"
SNAPSHOT_GROUP = "snapshot.storage.k8s.io"
SNAPSHOT_VERSION = "v1"
# The class name netapp-dataops-k8s assumes; the simulator serves it as Trident's snapshot class.
SNAPSHOT_CLASS = "csi-snapclass"
# Keyword arguments naming the namespace's VolumeSnapshots for the clients' custom-object APIs.
VS_ARGS = {
    "group": SNAPSHOT_GROUP,
    "version": SNAPSHOT_VERSION,
    "namespace": NAMESPACE,
    "plural": "volumesnapshots",
}


def pvc(
    name: str,
    size: str = "1Gi",
    *,
    labels: dict[str, str] | None = None,
    snapshot: str | None = None,
    access_mode: str = "ReadWriteOnce",
) -> dict[str, Any]:
    """A PersistentVolumeClaim of the default StorageClass, optionally restored from a snapshot."""
    spec: dict[str, Any] = {"accessModes": [access_mode], "resources": {"requests": {"storage": size}}}
    if snapshot is not None:
        spec["dataSource"] = {"apiGroup": SNAPSHOT_GROUP, "kind": "VolumeSnapshot", "name": snapshot}
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata, "spec": spec}


def volume_snapshot(name: str, source_pvc: str, *, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A dynamic VolumeSnapshot of ``source_pvc``."""
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = labels
    return {
        "apiVersion": f"{SNAPSHOT_GROUP}/{SNAPSHOT_VERSION}",
        "kind": "VolumeSnapshot",
        "metadata": metadata,
        "spec": {
            "volumeSnapshotClassName": SNAPSHOT_CLASS,
            "source": {"persistentVolumeClaimName": source_pvc},
        },
    }


def describe_run(result: subprocess.CompletedProcess[str]) -> str:
    """Render a finished command for an assertion message."""
    return (
        f"$ {' '.join(map(str, result.args))}\n"
        f"exit status {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}--- stderr ---\n{result.stderr}"
    )


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
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "KUBECONFIG": str(self.kubeconfig),
        }

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


def poll(read: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    """Call ``read`` until ``done(result)``; fail after ``WAIT_SECONDS`` (a hang guard, not a timing)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        result = read()
        if done(result):
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}; last seen: {result!r}")
        time.sleep(0.05)
