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
                    "netapp_dataops_airflow.operators.xcp",
                    "netapp_dataops_airflow.operators.cloud_sync",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "netapp_dataops_airflow.triggers.kubernetes",
                    "netapp_dataops_airflow.triggers.snapmirror",
                    "netapp_dataops_airflow.triggers.xcp",
                    "netapp_dataops_airflow.triggers.cloud_sync",
                ],
            }
        ],
        "hooks": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "netapp_dataops_airflow.hooks.kubernetes",
                    "netapp_dataops_airflow.hooks.ontap",
                    # XCP hosts use the SSH provider's ``ssh`` connection type, which stays the
                    # provider's: no connection type is registered for it here.
                    "netapp_dataops_airflow.hooks.xcp",
                    "netapp_dataops_airflow.hooks.cloud_sync",
                ],
            }
        ],
        "connection-types": [
            {
                "connection-type": "netapp_ontap",
                "hook-class-name": "netapp_dataops_airflow.hooks.ontap.OntapHook",
                "hook-name": "NetApp ONTAP",
                # The Airflow 3 UI builds the connection form from these (the hook methods for it are
                # deprecated since 3.2 and read only with the FAB UI).
                "conn-fields": {
                    "ca_certificate": {
                        "label": "CA certificate (PEM)",
                        "description": "The CA that signed the cluster's HTTPS certificate, pasted as PEM "
                        "text. Empty: the system's CAs.",
                        "schema": {"type": ["string", "null"], "format": "multiline"},
                    },
                    "verify_ssl": {
                        "label": "Verify TLS certificate",
                        "description": "Untick only for throwaway test systems.",
                        "schema": {"type": ["boolean", "null"], "default": True},
                    },
                    "check_hostname": {
                        "label": "Check the certificate's host name",
                        "description": "Untick when the cluster's self-signed certificate lacks its address.",
                        "schema": {"type": ["boolean", "null"], "default": True},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "extra"],
                    "relabeling": {"host": "Management address", "login": "ONTAP user"},
                    "placeholders": {
                        "host": "cluster-mgmt.example.com or 10.0.0.5[:port]",
                        "port": "443",
                        "login": "admin",
                        "ca_certificate": "-----BEGIN CERTIFICATE-----",
                    },
                },
            },
            {
                "connection-type": "netapp_cloud_sync",
                "hook-class-name": "netapp_dataops_airflow.hooks.cloud_sync.CloudSyncHook",
                "hook-name": "NetApp Cloud Sync",
                "conn-fields": {
                    "account_id": {
                        "label": "Account id",
                        "description": "The BlueXP account holding the relationships (account-...). "
                        "Empty: the user's only account.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "api_url": {
                        "label": "API URL",
                        "description": "Empty: https://api.cloudsync.netapp.com/api.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "token_url": {
                        "label": "Token URL",
                        "description": "Empty: https://netapp-cloud-account.auth0.com/oauth/token.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "ca_certificate": {
                        "label": "CA certificate (PEM)",
                        "description": "A CA to trust instead of the system's (a TLS-inspecting proxy). "
                        "Empty: the system's CAs.",
                        "schema": {"type": ["string", "null"], "format": "multiline"},
                    },
                    "verify_ssl": {
                        "label": "Verify TLS certificate",
                        "description": "Untick only for throwaway test systems.",
                        "schema": {"type": ["boolean", "null"], "default": True},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "port", "login", "schema", "extra"],
                    "relabeling": {"password": "Refresh token"},
                    "placeholders": {"account_id": "account-JeL97Ry3"},
                },
            },
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
            {"name": "netapp_xcp", "class-name": "netapp_dataops_airflow.decorators.xcp.xcp_task"},
            {
                "name": "netapp_cloud_sync",
                "class-name": "netapp_dataops_airflow.decorators.cloud_sync.cloud_sync_task",
            },
        ],
    }
