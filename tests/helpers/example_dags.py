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
