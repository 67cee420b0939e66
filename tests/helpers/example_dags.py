"""Helpers for the tests of the shipped example DAGs (``netapp_dataops_airflow.example_dags``)."""

from __future__ import annotations

from airflow.sdk import DAG


def polling_every_second(dag: DAG) -> DAG:
    """Return ``dag`` with its NetApp tasks polling every second instead of every 30.

    The examples keep the library's default interval, as a user's DAG would; a test waiting for an
    operation should not sleep 30 seconds between looks. Nothing else about the DAG changes.
    """
    for task in dag.tasks:
        if hasattr(task, "poll_interval"):
            task.poll_interval = 1
    return dag


def keeping_pods(dag: DAG) -> DAG:
    """Return ``dag`` with its ``KubernetesPodOperator`` tasks keeping their pods, for a test to read them.

    The examples delete each pod when it ends, as they should; a test asserting what the pods were
    given (image, command, resources, volumes) needs them afterwards.
    """
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator, OnFinishAction

    for task in dag.tasks:
        if isinstance(task, KubernetesPodOperator):
            task.on_finish_action = OnFinishAction.KEEP_POD
    return dag
