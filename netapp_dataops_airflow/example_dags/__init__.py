"""Example DAGs: the NetApp DataOps Toolkit's five Airflow examples, as deferrable TaskFlow DAGs.

Each module is one DAG with the dag id of the toolkit's example it replaces. Everything you would
change is a DAG parameter (``params``), so you can trigger them from the UI with your own values
instead of editing the file:

- :mod:`~netapp_dataops_airflow.example_dags.ai_training_run`: data prep, dataset snapshot,
  training, model snapshot, validation;
- :mod:`~netapp_dataops_airflow.example_dags.clone_volume`: clone a PVC, from a snapshot or from the
  PVC itself;
- :mod:`~netapp_dataops_airflow.example_dags.replicate_data_snapmirror`: update a SnapMirror
  relationship;
- :mod:`~netapp_dataops_airflow.example_dags.replicate_data_cloud_sync`: sync a Cloud Sync
  relationship;
- :mod:`~netapp_dataops_airflow.example_dags.replicate_data_xcp`: XCP copy on the first run, sync on
  the later ones.

To run them, point Airflow's ``dags_folder`` (or a DAG bundle) at this directory, or copy a file
into yours.
"""

from __future__ import annotations

from pathlib import Path

EXAMPLE_DAGS_FOLDER = Path(__file__).parent
"""This directory: give it to a ``DagBag`` or a DAG bundle to load every example."""
