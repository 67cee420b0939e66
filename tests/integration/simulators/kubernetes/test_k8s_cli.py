"""``python -m netapp_dataops_airflow.simulators serve kubernetes`` as a real process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import yaml

from tests.helpers.waiting import poll


def test_serve_prints_url_writes_kubeconfig_and_stops_on_sigint(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "netapp_dataops_airflow.simulators",
            "serve",
            "kubernetes",
            "--kubeconfig",
            str(kubeconfig),
            "--token",
            "t0ken",
            "--delay",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        assert process.stdout.readline().strip() == f"kubeconfig: {kubeconfig}"
        config = yaml.safe_load(kubeconfig.read_text())
        assert config["clusters"][0]["cluster"]["server"] == url
        assert config["users"][0]["user"]["token"] == "t0ken"
        request = urllib.request.Request(
            f"{url}/api/v1/namespaces", headers={"Authorization": "Bearer t0ken"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            names = [n["metadata"]["name"] for n in json.load(response)["items"]]
        assert names == ["default", "kube-system"]
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr


def test_serve_pod_flags_set_what_containers_do(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "netapp_dataops_airflow.simulators",
            "serve",
            "kubernetes",
            "--kubeconfig",
            str(tmp_path / "kubeconfig"),
            "--pod-duration",
            "0",
            "--pod-exit-code",
            "4",
            "--pod-output",
            "first\\nsecond",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        pods = f"{url}/api/v1/namespaces/default/pods"
        body = {
            "metadata": {"name": "flagged"},
            "spec": {"containers": [{"name": "base", "image": "busybox"}]},
        }
        create = urllib.request.Request(
            pods, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        urllib.request.urlopen(create, timeout=10).close()

        def read_phase() -> str:
            with urllib.request.urlopen(f"{pods}/flagged", timeout=10) as response:
                return str(json.load(response)["status"]["phase"])

        poll(read_phase, lambda phase: phase in ("Succeeded", "Failed"), "the pod finishing")
        with urllib.request.urlopen(f"{pods}/flagged", timeout=10) as response:
            state = json.load(response)["status"]["containerStatuses"][0]["state"]
        assert state["terminated"]["exitCode"] == 4
        with urllib.request.urlopen(f"{pods}/flagged/log", timeout=10) as response:
            assert response.read().decode() == "first\nsecond\n"
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
