"""Shared helpers for the fidelity suite: clients nobody here wrote, run unchanged against the simulators.

Nothing in this file is autouse and nothing starts a simulator by itself: the Kubernetes and the
ONTAP fidelity tests share this directory, and each test asks for what it needs.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator
from netapp_dataops_airflow.testing import kubeconfig_path  # noqa: F401 (a fixture)

# Generous limits for waiting on the simulator: they only bound a hung run, they never time anything.
WAIT_SECONDS = 60
SYSTEM_KUBECTL = Path("/usr/bin/kubectl")
# kubectl 1.20 from Debian's kubernetes-client, unpacked (never installed: it would replace the
# Google Cloud SDK dispatcher at /usr/bin/kubectl). Override the cache with NETAPP_FIDELITY_CACHE.
CACHE_DIR = Path(os.environ.get("NETAPP_FIDELITY_CACHE", Path.home() / ".cache" / "netapp-dataops-airflow"))


@pytest.fixture
def kubernetes_simulator() -> Iterator[KubernetesSimulator]:
    """A fresh simulator per test, over HTTPS with a bearer token, as clients meet a real cluster.

    Overrides the plugin's plain-HTTP fixture for this directory; the plugin's ``kubeconfig_path``
    writes the CA file and the token for it.
    """
    with KubernetesSimulator(tls=True, token=True) as simulator:
        yield simulator


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


def make_kubectl(binary: Path, kubeconfig: Path, tmp_path: Path) -> Iterator[Kubectl]:
    home, manifests = tmp_path / "home", tmp_path / "manifests"
    home.mkdir()
    manifests.mkdir()
    runner = Kubectl(binary=binary, kubeconfig=kubeconfig, home=home, manifests=manifests)
    yield runner
    runner.close()


@pytest.fixture
def kubectl(kubeconfig_path: Path, tmp_path: Path) -> Iterator[Kubectl]:  # noqa: F811
    """The machine's kubectl (the Google Cloud SDK dispatcher), with a HOME of its own."""
    if not SYSTEM_KUBECTL.exists():
        pytest.skip(f"{SYSTEM_KUBECTL} is not installed")
    yield from make_kubectl(SYSTEM_KUBECTL, kubeconfig_path, tmp_path)


@pytest.fixture(scope="session")
def kubectl_1_20_binary() -> Path:
    """kubectl 1.20 unpacked from Debian's kubernetes-client into a cache dir (skip if unavailable)."""
    target = CACHE_DIR / "kubernetes-client"
    binary = target / "usr" / "bin" / "kubectl"
    if binary.exists():
        return binary
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        pytest.skip("kubectl 1.20 needs apt-get and dpkg-deb to fetch Debian's kubernetes-client")
    download = CACHE_DIR / "download"
    download.mkdir(parents=True, exist_ok=True)
    fetched = subprocess.run(
        ["apt-get", "download", "kubernetes-client"],
        cwd=download,
        capture_output=True,
        text=True,
        check=False,
    )
    packages = sorted(download.glob("kubernetes-client_*.deb"))
    if fetched.returncode != 0 or not packages:
        pytest.skip(f"Debian's kubernetes-client is unavailable (apt-get download): {fetched.stderr.strip()}")
    subprocess.run(["dpkg-deb", "-x", str(packages[-1]), str(target)], check=True)
    return binary


@pytest.fixture
def kubectl_1_20(kubectl_1_20_binary: Path, kubeconfig_path: Path, tmp_path: Path) -> Iterator[Kubectl]:  # noqa: F811
    """Debian's kubectl 1.20, with a HOME of its own."""
    yield from make_kubectl(kubectl_1_20_binary, kubeconfig_path, tmp_path)


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


@pytest.fixture
def k8s_api(kubeconfig_path: Path) -> Iterator[kubernetes.client.ApiClient]:  # noqa: F811
    """The official ``kubernetes`` client, configured from the simulator's kubeconfig."""
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(kubeconfig_path), client_configuration=configuration)
    with kubernetes.client.ApiClient(configuration) as api:
        yield api
        # ApiClient.close() leaves urllib3's keep-alive connections open; close them too.
        api.rest_client.pool_manager.clear()


@pytest.fixture
def core_v1(k8s_api: kubernetes.client.ApiClient) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(k8s_api)


@pytest.fixture
def custom_objects(k8s_api: kubernetes.client.ApiClient) -> kubernetes.client.CustomObjectsApi:
    return kubernetes.client.CustomObjectsApi(k8s_api)
