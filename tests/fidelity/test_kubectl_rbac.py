"""kubectl, unchanged, against the simulator's RBAC: apply k8s/rbac.yaml, create a token, ``auth can-i``."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator
from netapp_dataops_airflow.simulators.kubernetes.kubeconfig import write_kubeconfig
from tests.fidelity.conftest import make_kubectl
from tests.helpers.kubectl import Kubectl
from tests.helpers.processes import describe_run

pytestmark = [pytest.mark.fidelity, pytest.mark.kubectl]

MANIFEST = Path(__file__).parents[2] / "k8s" / "rbac.yaml"
USER = "system:serviceaccount:airflow:airflow-worker"


def says(kubectl: Kubectl, expected: str, *args: str) -> None:
    result = kubectl(*args)
    assert result.stdout.strip() == expected, describe_run(result)


def _can_i(kubectl: Kubectl, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(kubectl.binary), "auth", "can-i", *args],
        env=kubectl.env,
        cwd=kubectl.home,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), describe_run(result)
    return result


def answer(kubectl: Kubectl, *args: str) -> str:
    result = _can_i(kubectl, *args)
    expected_exit = 0 if result.stdout.strip() == "yes" else 1
    assert result.returncode == expected_exit, describe_run(result)
    return result.stdout.strip()


@pytest.fixture
def worker(
    kubectl: Kubectl, kubernetes_simulator: KubernetesSimulator, system_kubectl: Path, tmp_path: Path
) -> Iterator[Kubectl]:
    """kubectl as the worker's ServiceAccount, after the admin applied k8s/rbac.yaml and minted its token."""
    says(kubectl, "namespace/airflow created", "create", "namespace", "airflow")
    says(
        kubectl,
        "serviceaccount/airflow-worker created",
        "create",
        "serviceaccount",
        "airflow-worker",
        "-n",
        "airflow",
    )
    applied = kubectl("apply", "-f", str(MANIFEST)).stdout.strip().splitlines()
    assert applied == [
        "role.rbac.authorization.k8s.io/netapp-dataops-airflow created",
        "rolebinding.rbac.authorization.k8s.io/netapp-dataops-airflow created",
        "clusterrole.rbac.authorization.k8s.io/netapp-dataops-airflow created",
        "clusterrolebinding.rbac.authorization.k8s.io/netapp-dataops-airflow created",
    ]
    token = kubectl("create", "token", "airflow-worker", "-n", "airflow").stdout.strip()
    assert token
    config = write_kubeconfig(
        tmp_path / "worker" / "kubeconfig",
        kubernetes_simulator.url,
        token=token,
        ca_pem=kubernetes_simulator.ca_pem,
    )
    (tmp_path / "worker-home").mkdir()
    yield from make_kubectl(system_kubectl, config, tmp_path / "worker-home")


def test_auth_can_i_answers_from_the_applied_roles(kubectl: Kubectl, worker: Kubectl) -> None:
    assert answer(worker, "create", "volumesnapshots.snapshot.storage.k8s.io", "-n", "airflow") == "yes"
    assert answer(worker, "watch", "pvc", "-n", "airflow") == "yes"
    assert answer(worker, "get", "pods", "--subresource=log", "-n", "airflow") == "yes"
    assert answer(worker, "create", "pods", "--subresource=exec", "-n", "airflow") == "yes"
    assert answer(worker, "update", "pvc", "-n", "airflow") == "no"
    assert answer(worker, "create", "pvc", "-n", "default") == "no"
    assert answer(worker, "get", "storageclasses") == "yes"
    assert answer(worker, "delete", "storageclasses") == "no"
    assert answer(worker, "get", "secrets", "-n", "airflow") == "no"
    assert answer(worker, "get", "/version") == "yes"
    # The admin identity is cluster-admin.
    assert answer(kubectl, "*", "*", "--all-namespaces") == "yes"


def test_auth_can_i_list_shows_the_rules(kubectl: Kubectl, worker: Kubectl) -> None:
    listed = worker("auth", "can-i", "--list", "-n", "airflow").stdout
    # The admin sees the same by impersonating the account, as docs/kubernetes.md suggests.
    assert kubectl("auth", "can-i", "--list", "-n", "airflow", f"--as={USER}").stdout == listed
    rows = {" ".join(line.split()) for line in listed.splitlines()}
    assert "persistentvolumeclaims [] [] [get list watch create delete]" in rows, listed
    assert "volumesnapshots.snapshot.storage.k8s.io [] [] [get list watch create delete]" in rows, listed
    assert "pods/exec [] [] [create get]" in rows, listed
    assert "storageclasses.storage.k8s.io [] [] [get list]" in rows, listed
    assert "selfsubjectaccessreviews.authorization.k8s.io [] [] [create]" in rows, listed
    assert "[/version] [] [get]" in rows, listed


def test_a_forbidden_request_reads_as_on_a_real_cluster(worker: Kubectl) -> None:
    result = worker("get", "pvc", "-n", "default", ok=False)
    assert result.stderr.strip() == (
        f'Error from server (Forbidden): persistentvolumeclaims is forbidden: User "{USER}" cannot list '
        'resource "persistentvolumeclaims" in API group "" in the namespace "default"'
    ), describe_run(result)
    result = worker("delete", "storageclass", "ontap-nas", ok=False)
    assert result.stderr.strip() == (
        'Error from server (Forbidden): storageclasses.storage.k8s.io "ontap-nas" is forbidden: '
        f'User "{USER}" cannot delete resource "storageclasses" in API group "storage.k8s.io" '
        "at the cluster scope"
    ), describe_run(result)
    allowed = worker("get", "pvc", "-n", "airflow")
    assert allowed.stderr.strip() == "No resources found in airflow namespace.", describe_run(allowed)
