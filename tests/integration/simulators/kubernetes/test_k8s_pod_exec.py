"""Pod exec over WebSocket with the official client's ``stream``, as Airflow's xcom sidecar is read."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import kubernetes
import pytest
from kubernetes.stream import stream

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator
from netapp_dataops_airflow.simulators.kubernetes.workloads import XCOM, XCOM_SIDECAR
from tests.helpers.waiting import poll

READ_XCOM = (
    "if [ -s /airflow/xcom/return.json ]; then cat /airflow/xcom/return.json; "
    "else echo __airflow_xcom_result_empty__; fi"
)


@pytest.fixture
def core(
    kubernetes_simulator: KubernetesSimulator, kubeconfig_path: Path
) -> Iterator[kubernetes.client.CoreV1Api]:
    with kubernetes.config.new_client_from_config(str(kubeconfig_path)) as api_client:
        yield kubernetes.client.CoreV1Api(api_client)
        api_client.rest_client.pool_manager.clear()


def start_pod(core: kubernetes.client.CoreV1Api, name: str, annotations: dict[str, str]) -> None:
    containers = [
        {"name": "base", "image": "alpine:3.20", "args": ["work"]},
        {"name": XCOM_SIDECAR, "image": "alpine:3.20", "command": ["sh", "-c", "sleep infinity"]},
    ]
    body = {"metadata": {"name": name, "annotations": annotations}, "spec": {"containers": containers}}
    core.create_namespaced_pod("default", body)
    poll(lambda: core.read_namespaced_pod(name, "default"), lambda p: p.status.phase == "Running", "Running")


@contextmanager
def exec_in(core: kubernetes.client.CoreV1Api, pod: str, command: list[str], **options: Any) -> Iterator[Any]:
    """An exec session in the sidecar, its socket shut afterwards.

    websocket-client's close() does nothing once the server has closed the exec first (as the
    apiserver does when the command ends), leaving the socket to the garbage collector.
    """
    client = stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        "default",
        container=XCOM_SIDECAR,
        command=command,
        stderr=True,
        stdout=True,
        tty=False,
        _preload_content=False,
        **options,
    )
    try:
        yield client
    finally:
        client.close()
        client.sock.shutdown()


def test_exec_reads_the_xcom_then_a_kill_stops_the_sidecar(core: kubernetes.client.CoreV1Api) -> None:
    start_pod(core, "with-xcom", {XCOM: '{"rows": 3}', "sim.netapp-dataops-airflow.io/duration-seconds": "0"})
    with exec_in(core, "with-xcom", ["/bin/sh", "-c", READ_XCOM], stdin=False) as client:
        client.run_forever(timeout=10)
        assert client.returncode == 0  # before read_all(), which empties every channel
        assert client.read_all() == '{"rows": 3}'
    # The base container has finished; the pod keeps running until the sidecar stops.
    assert core.read_namespaced_pod("with-xcom", "default").status.phase == "Running"
    with exec_in(core, "with-xcom", ["/bin/sh"], stdin=True) as shell:
        shell.write_stdin("kill -2 $(pgrep -u $(id -u) -f 'sh')\n")
        shell.run_forever(timeout=10)
    pod = poll(
        lambda: core.read_namespaced_pod("with-xcom", "default"),
        lambda p: p.status.phase != "Running",
        "the end",
    )
    assert pod.status.phase == "Succeeded"
    sidecar = next(s for s in pod.status.container_statuses if s.name == XCOM_SIDECAR)
    assert sidecar.state.terminated.exit_code == 0


def test_exec_without_xcom_and_unknown_commands(
    kubernetes_simulator: KubernetesSimulator, core: kubernetes.client.CoreV1Api
) -> None:
    simulator_url = kubernetes_simulator.url
    start_pod(core, "no-xcom", {})
    with exec_in(core, "no-xcom", ["/bin/sh", "-c", READ_XCOM], stdin=False) as client:
        client.run_forever(timeout=10)
        assert client.read_all() == "__airflow_xcom_result_empty__\n"
    with exec_in(core, "no-xcom", ["ls", "/"], stdin=False) as client:
        client.run_forever(timeout=10)
        assert client.returncode == 127
        assert "not found" in client.read_stderr()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{simulator_url}/api/v1/namespaces/default/pods/ghost/exec?command=true")
    assert refused.value.code == 404
    refused.value.close()
