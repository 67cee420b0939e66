"""Provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from netapp_dataops_airflow import __version__

_INTEGRATION = "NetApp DataOps"


def get_provider_info() -> dict[str, Any]:
    """Describe this distribution to Airflow's providers manager.

    ``package-name`` must equal the canonical distribution name, or Airflow rejects the provider.
    """
    return {
        "package-name": "netapp-dataops-airflow",
        "name": "NetApp DataOps",
        "description": (
            "Deferrable tasks for NetApp data management: Kubernetes VolumeSnapshots and PVC clones "
            "(Trident), SnapMirror updates (ONTAP REST), Cloud Sync syncs and XCP copies."
        ),
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://github.com/NetApp/netapp-dataops-toolkit",
                "tags": ["software"],
            }
        ],
        "operators": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "netapp_dataops_airflow.operators.kubernetes",
                    "netapp_dataops_airflow.operators.snapmirror",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "netapp_dataops_airflow.triggers.kubernetes",
                    "netapp_dataops_airflow.triggers.snapmirror",
                ],
            }
        ],
        "hooks": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "netapp_dataops_airflow.hooks.kubernetes",
                    "netapp_dataops_airflow.hooks.ontap",
                ],
            }
        ],
        "connection-types": [
            {
                "connection-type": "netapp_ontap",
                "hook-class-name": "netapp_dataops_airflow.hooks.ontap.OntapHook",
            }
        ],
        "task-decorators": [
            {
                "name": "netapp_snapshot",
                "class-name": "netapp_dataops_airflow.decorators.kubernetes.snapshot_task",
            },
            {"name": "netapp_clone", "class-name": "netapp_dataops_airflow.decorators.kubernetes.clone_task"},
            {
                "name": "netapp_snapmirror",
                "class-name": "netapp_dataops_airflow.decorators.snapmirror.snapmirror_task",
            },
        ],
    }
