"""``python -m netapp_dataops_airflow.simulators serve kubernetes`` as a real process."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import yaml

from tests.helpers.processes import ServedSimulator


def test_serve_prints_url_writes_kubeconfig_and_stops_on_sigint(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    args = ("kubernetes", "--kubeconfig", str(kubeconfig), "--token", "t0ken", "--delay", "0")
    with ServedSimulator(*args) as served:
        url_line, kubeconfig_line = served.lines(2)
        url = url_line.split()[-1]
        assert kubeconfig_line.strip() == f"kubeconfig: {kubeconfig}"
        config = yaml.safe_load(kubeconfig.read_text())
        assert config["clusters"][0]["cluster"]["server"] == url
        assert config["users"][0]["user"]["token"] == "t0ken"
        request = urllib.request.Request(
            f"{url}/api/v1/namespaces", headers={"Authorization": "Bearer t0ken"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            names = [n["metadata"]["name"] for n in json.load(response)["items"]]
        assert names == ["default", "kube-system"]
    assert served.returncode == 0, served.stderr
