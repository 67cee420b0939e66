"""The cncf provider's KubernetesPodOperator, unchanged, running pods on the Kubernetes simulator.

Each test runs a real DAG (``dag.test()``): the operator creates the pod, waits for it (in the
triggerer when deferrable, polling when not), streams its log, and cleans up, all over HTTPS with a
bearer token against the simulated apiserver and kubelet.
"""

from __future__ import annotations

import datetime
import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, kinds
from netapp_dataops_airflow.simulators.kubernetes.workloads import DURATION, EXIT_CODE, OUTPUT, XCOM
from netapp_dataops_airflow.testing import DagRunResult, run_dag
from tests.helpers.connections import kubernetes_fields

pytestmark = [pytest.mark.fidelity, pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(180)]

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture
def cluster(
    kubernetes_simulator: KubernetesSimulator, kubeconfig_path: Path, airflow_connection: Callable[..., str]
) -> KubernetesSimulator:
    """The simulator as ``kubernetes_default``, its containers quick (0.5 s) to keep the runs short."""
    airflow_connection("kubernetes_default", **kubernetes_fields(kubeconfig_path))
    kubernetes_simulator.backend.pods.defaults.update(duration_seconds=0.5)
    return kubernetes_simulator


def run_pod(dag_id: str, *, deferrable: bool, annotations: dict[str, str], **options: Any) -> DagRunResult:
    """Run a one-task DAG whose KubernetesPodOperator runs pod ``<dag_id>`` in ``default``."""
    with DAG(dag_id=dag_id, schedule=None, start_date=START) as dag:
        KubernetesPodOperator(
            task_id="pod",
            name=dag_id.replace("_", "-"),
            random_name_suffix=False,
            namespace="default",
            image="alpine:3.20",
            cmds=["sh", "-c"],
            arguments=["echo hello"],
            annotations=annotations,
            kubernetes_conn_id="kubernetes_default",
            get_logs=True,
            deferrable=deferrable,
            poll_interval=0.2,
            startup_check_interval_seconds=1,
            **options,
        )
    return run_dag(dag)


def container_log(result: DagRunResult) -> str:
    """What the operator logged from container ``base`` (``[base] ...`` or ``[base] logs: ...``)."""
    return "\n".join(line for line in result.log_text.splitlines() if "[base] " in line)


def pods(simulator: KubernetesSimulator) -> dict[str, dict[str, Any]]:
    return {pod["metadata"]["name"]: pod for pod in simulator.backend.objects(kinds.PODS, "default")}


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "sync"])
def test_pod_succeeds_logs_and_is_deleted(cluster: KubernetesSimulator, deferrable: bool) -> None:
    dag_id = f"kpo_ok_{'deferrable' if deferrable else 'sync'}"
    result = run_pod(
        dag_id,
        deferrable=deferrable,
        annotations={OUTPUT: "training step 1\ntraining step 2\nmodel saved"},
        on_finish_action="delete_pod",
    )
    assert result.state == "success", result.log_text
    logged = container_log(result)
    for line in ("training step 1", "training step 2", "model saved"):
        assert line in logged
    assert pods(cluster) == {}  # on_finish_action=delete_pod removed it once it had succeeded


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "sync"])
def test_failing_pod_fails_the_task_with_its_exit_code(
    cluster: KubernetesSimulator, deferrable: bool
) -> None:
    dag_id = f"kpo_fail_{'deferrable' if deferrable else 'sync'}"
    result = run_pod(
        dag_id,
        deferrable=deferrable,
        annotations={OUTPUT: "loading data\nout of memory", EXIT_CODE: "3", DURATION: "0.3"},
        on_finish_action="keep_pod",
    )
    assert result.state == "failed"
    assert result.task_states == {"pod": "failed"}
    assert "out of memory" in container_log(result)
    kept = pods(cluster)[dag_id.replace("_", "-")]
    assert kept["status"]["phase"] == "Failed"
    terminated = kept["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")
    # The operator marks a pod it has dealt with, so a retry does not reattach to it.
    assert kept["metadata"]["labels"]["already_checked"] == "True"


def test_deferrable_logging_interval_reads_the_log_from_the_trigger(cluster: KubernetesSimulator) -> None:
    # Five lines over 2.5 s; every second the trigger hands the lines so far to the task and waits again.
    result = run_pod(
        "kpo_interval",
        deferrable=True,
        annotations={OUTPUT: "\n".join(f"batch {i}" for i in range(5)), DURATION: "2.5"},
        logging_interval=1,
        on_finish_action="delete_pod",
    )
    assert result.state == "success", result.log_text
    logged = container_log(result)
    for i in range(5):
        assert f"batch {i}" in logged
    assert pods(cluster) == {}


def test_kept_pod_reports_its_run(cluster: KubernetesSimulator) -> None:
    result = run_pod("kpo_keep", deferrable=True, annotations={}, on_finish_action="keep_pod")
    assert result.state == "success", result.log_text
    assert "echo hello" in container_log(result)  # by default a container echoes its args
    pod = pods(cluster)["kpo-keep"]
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["spec"]["nodeName"] == "sim-node-1"
    assert pod["metadata"]["labels"]["kubernetes_pod_operator"] == "True"


# websocket-client never shuts a socket down once the server has closed the exec (its close() returns
# early when the peer's close frame was already answered), so the operator's exec leaves one socket to
# the garbage collector, as it does against a real apiserver.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <ssl.SSLSocket:pytest.PytestUnraisableExceptionWarning"
)
@pytest.mark.filterwarnings("ignore:unclosed <ssl.SSLSocket:ResourceWarning")
@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "sync"])
def test_do_xcom_push_reads_the_sidecar_over_exec(cluster: KubernetesSimulator, deferrable: bool) -> None:
    dag_id = f"kpo_xcom_{'deferrable' if deferrable else 'sync'}"
    result = run_pod(
        dag_id,
        deferrable=deferrable,
        annotations={XCOM: '{"accuracy": 0.97, "rows": 1200}'},
        do_xcom_push=True,
        on_finish_action="keep_pod",
    )
    gc.collect()  # collect the exec's socket while the filters above apply
    assert result.state == "success", result.log_text
    assert result.xcom("pod") == {"accuracy": 0.97, "rows": 1200}
    pod = pods(cluster)[dag_id.replace("_", "-")]
    # The exec's kill stopped the sidecar (it traps SIGINT and exits 0), so the pod succeeded.
    assert pod["status"]["phase"] == "Succeeded"
    states = {s["name"]: s["state"] for s in pod["status"]["containerStatuses"]}
    assert states["airflow-xcom-sidecar"]["terminated"]["exitCode"] == 0
