"""``python -m netapp_dataops_airflow.simulators serve kubernetes`` as a real process."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import yaml

from tests.helpers.processes import ServedSimulator
from tests.helpers.waiting import poll


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


def test_serve_pod_flags_set_what_containers_do(tmp_path: Path) -> None:
    flags = ("--pod-duration", "0", "--pod-exit-code", "4", "--pod-output", "first\\nsecond")
    with ServedSimulator("kubernetes", "--kubeconfig", str(tmp_path / "kubeconfig"), *flags) as served:
        url = served.lines(1)[0].split()[-1]
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
    assert served.returncode == 0, served.stderr
