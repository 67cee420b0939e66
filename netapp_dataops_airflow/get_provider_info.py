"""Provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from netapp_dataops_airflow import __version__


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
                "integration-name": "NetApp DataOps",
                "external-doc-url": "https://github.com/NetApp/netapp-dataops-toolkit",
                "tags": ["software"],
            }
        ],
    }
