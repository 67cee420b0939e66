"""``python -m netapp_dataops_airflow.simulators serve kubernetes`` as a real process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import yaml


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
