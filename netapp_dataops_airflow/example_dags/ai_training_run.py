"""An AI training run: data prep, dataset snapshot, training, model snapshot, validation.

Replaces the DataOps Toolkit's ``ai_training_run`` example. The three steps are pods
(``KubernetesPodOperator``); the snapshots are VolumeSnapshots of the dataset and model PVCs, taken
by ``@task.netapp_snapshot`` instead of a pod that installs the toolkit. Every task defers while it
waits (for a pod, for a snapshot), so the run holds no worker slot.

The snapshots make the run traceable: the dataset snapshot is what the model was trained on, the
model snapshot is the model it produced, and it names the dataset snapshot it came from
(``derived_from``). Both record Airflow asset events for their PVCs, so the assets view shows
which runs produced which dataset and model.

Connection: ``kubernetes_conn_id`` (default ``kubernetes_default``), the cncf provider's
``kubernetes`` connection, used by the pods and the snapshots alike.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import Param, dag, task
from kubernetes.client import models as k8s

IMAGE = "nvcr.io/nvidia/tensorflow:21.03-tf1-py3"
STEPS = {"data_prep": "data prep", "train": "training", "validate": "inference validation"}


def from_param(name: str) -> str:
    """Return a template that renders to the DAG parameter ``name`` when the task runs."""
    return "{{ params." + name + " }}"


def step_params(step: str, what: str) -> dict[str, Param]:
    """Return the parameters of one pod step: its image, command and resources."""
    return {
        f"{step}_image": Param(IMAGE, type="string", description=f"Container image of the {what} step."),
        f"{step}_command": Param(
            ["echo", f"No {what} command entered"],
            type="array",
            items={"type": "string"},
            description=f"Command of the {what} step, as a list (the container's entrypoint is replaced).",
        ),
        f"{step}_resources": Param(
            {},
            type="object",
            description=f"Resources of the {what} step's container, e.g. "
            '{"limits": {"nvidia.com/gpu": 1}} for one GPU.',
        ),
    }


@dag(
    dag_id="ai_training_run",
    schedule=None,
    tags=["netapp", "example", "training"],
    # Params that are lists and dicts (commands, resources) reach the pods as such, not as text.
    render_template_as_native_obj=True,
    params={
        "namespace": Param(
            "default", type="string", description="Kubernetes namespace of the pods and PVCs."
        ),
        "dataset_pvc": Param(
            "dataset-vol", type="string", description="PVC holding the dataset, mounted at /mnt/dataset."
        ),
        "model_pvc": Param(
            "airflow-model-vol", type="string", description="PVC holding the model, mounted at /mnt/model."
        ),
        **{name: param for step, what in STEPS.items() for name, param in step_params(step, what).items()},
        "kubernetes_conn_id": Param(
            "kubernetes_default",
            type="string",
            description="Airflow connection (kubernetes) to the cluster, for the pods and the snapshots.",
        ),
    },
)
def ai_training_run() -> None:
    """Prepare data, snapshot the dataset, train, snapshot the model, validate."""
    volumes = [
        k8s.V1Volume(
            name=name,
            persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
                claim_name=from_param(f"{name}_pvc")
            ),
        )
        for name in ("dataset", "model")
    ]
    mounts = [k8s.V1VolumeMount(name=name, mount_path=f"/mnt/{name}") for name in ("dataset", "model")]

    def pod_step(step: str) -> KubernetesPodOperator:
        """One step as a pod with both volumes mounted; it defers while the pod runs."""
        return KubernetesPodOperator(
            task_id=step,
            name=f"ai-training-run-{step.replace('_', '-')}",
            image=from_param(f"{step}_image"),
            cmds=from_param(f"{step}_command"),
            container_resources=from_param(f"{step}_resources"),
            volumes=volumes,
            volume_mounts=mounts,
            namespace="{{ params.namespace }}",
            kubernetes_conn_id="{{ params.kubernetes_conn_id }}",
            deferrable=True,
        )

    # The connection and the namespace are decorator arguments (templated): the task reads them
    # again when it resumes. The functions say which PVC to snapshot.
    @task.netapp_snapshot(
        kubernetes_conn_id="{{ params.kubernetes_conn_id }}", namespace="{{ params.namespace }}"
    )
    def dataset_snapshot(params: dict[str, Any]) -> str:
        return str(params["dataset_pvc"])

    @task.netapp_snapshot(
        kubernetes_conn_id="{{ params.kubernetes_conn_id }}", namespace="{{ params.namespace }}"
    )
    def model_snapshot(dataset: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        # derived_from: the model snapshot records (on the VolumeSnapshot, in its result and in its
        # asset event) the dataset snapshot the model was trained on.
        return {"pvc": params["model_pvc"], "derived_from": dataset}

    dataset = dataset_snapshot()
    model = model_snapshot(dataset)
    pod_step("data_prep") >> dataset >> pod_step("train") >> model >> pod_step("validate")


ai_training_run()
