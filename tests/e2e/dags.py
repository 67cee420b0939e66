"""What the tests give the example DAGs: parameters naming what the simulators hold."""

from __future__ import annotations

from typing import Any

from netapp_dataops_airflow.simulators.suite import seed

XCP_SOURCE = f"{seed.XCP_SERVER}:{seed.XCP_SOURCE_EXPORT}"
XCP_TARGET = f"{seed.XCP_SERVER}:{seed.XCP_TARGET_EXPORT}"
MODEL_PVC = "model"


def example_conf(dag_id: str, suffix: str = "") -> dict[str, Any]:
    """Return the run conf of an example DAG against ``serve all`` (``suffix`` makes new names unique)."""
    confs: dict[str, dict[str, Any]] = {
        "ai_training_run": {"dataset_pvc": seed.DATASET_PVC, "model_pvc": MODEL_PVC},
        "clone_volume": {"clone_from": "pvc", "source_pvc": seed.DATASET_PVC, "new_pvc": f"clone{suffix}"},
        "replicate_data_cloud_sync": {"relationship_id": seed.CLOUD_SYNC_RELATIONSHIP},
        "replicate_data_snapmirror": {"relationship": seed.SNAPMIRROR_DESTINATION},
        "replicate_data_xcp": {"source": XCP_SOURCE, "target": XCP_TARGET},
    }
    return confs[dag_id]


def is_long(task: dict[str, Any]) -> bool:
    """Tell whether a task instance (as the API shows it) is one that waits: this library's or a pod."""
    operator = str(task.get("operator_name") or task.get("operator") or "")
    return operator.startswith("@task.netapp_") or operator == "KubernetesPodOperator"
