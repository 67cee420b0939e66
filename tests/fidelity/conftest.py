"""Shared fixtures for the fidelity suite: clients nobody here wrote, run unchanged against the simulators.

Nothing in this file is autouse and nothing starts a simulator by itself: the Kubernetes and the
ONTAP fidelity tests share this directory, and each test asks for what it needs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator
from tests.helpers.kubectl import Kubectl

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


def make_kubectl(binary: Path, kubeconfig: Path, tmp_path: Path) -> Iterator[Kubectl]:
    home, manifests = tmp_path / "home", tmp_path / "manifests"
    home.mkdir()
    manifests.mkdir()
    runner = Kubectl(binary=binary, kubeconfig=kubeconfig, home=home, manifests=manifests)
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def system_kubectl() -> Path:
    """``/usr/bin/kubectl`` if it is new enough for these tests (``wait --for=jsonpath`` needs 1.23)."""
    if not SYSTEM_KUBECTL.exists():
        pytest.skip(f"{SYSTEM_KUBECTL} is not installed")
    version = subprocess.run(
        [str(SYSTEM_KUBECTL), "version", "--client", "-o", "json"], capture_output=True, text=True, check=True
    )
    minor = int(json.loads(version.stdout)["clientVersion"]["minor"].rstrip("+"))
    if minor < 23:
        pytest.skip(f"{SYSTEM_KUBECTL} is kubectl 1.{minor}; these tests need 1.23 or later")
    return SYSTEM_KUBECTL


@pytest.fixture
def kubectl(system_kubectl: Path, kubeconfig_path: Path, tmp_path: Path) -> Iterator[Kubectl]:
    """The machine's kubectl (the Google Cloud SDK dispatcher), with a HOME of its own."""
    yield from make_kubectl(system_kubectl, kubeconfig_path, tmp_path)


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
def kubectl_1_20(kubectl_1_20_binary: Path, kubeconfig_path: Path, tmp_path: Path) -> Iterator[Kubectl]:
    """Debian's kubectl 1.20, with a HOME of its own."""
    yield from make_kubectl(kubectl_1_20_binary, kubeconfig_path, tmp_path)


@pytest.fixture
def k8s_api(kubeconfig_path: Path) -> Iterator[kubernetes.client.ApiClient]:
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
