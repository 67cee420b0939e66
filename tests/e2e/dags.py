"""What the tests give the example DAGs: the demo's run conf, with new names where a run makes something."""

from __future__ import annotations

from typing import Any

from netapp_dataops_airflow.demo.run import EXAMPLE_CONF


def example_conf(dag_id: str, suffix: str) -> dict[str, Any]:
    """Return an example DAG's run conf against ``serve all``; ``suffix`` makes a new clone's name unique."""
    conf = dict(EXAMPLE_CONF.get(dag_id, {}))
    if dag_id == "clone_volume":
        conf["new_pvc"] = f"clone-{suffix}"
    return conf


def _operator(task: dict[str, Any]) -> str:
    return str(task.get("operator_name") or task.get("operator") or "")


def is_ours(task: dict[str, Any]) -> bool:
    """Tell whether a task instance (as the API shows it) is one of this library's (``@task.netapp_*``)."""
    return _operator(task).startswith("@task.netapp_")


def is_long(task: dict[str, Any]) -> bool:
    """Tell whether a task instance (as the API shows it) is one that waits: this library's or a pod."""
    return is_ours(task) or _operator(task) == "KubernetesPodOperator"
