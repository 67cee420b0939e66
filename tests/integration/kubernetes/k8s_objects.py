"""Objects the Kubernetes tests create, and look at, behind the library's back."""

from __future__ import annotations

from typing import Any

from netapp_dataops_airflow.clients.kubernetes import KubernetesClient, Resource
from netapp_dataops_airflow.exceptions import ApiError


def snapshot_of(pvc: str, name: str) -> dict[str, Any]:
    """A VolumeSnapshot body."""
    return {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {"name": name},
        "spec": {"source": {"persistentVolumeClaimName": pvc}},
    }


def claim_body(
    name: str, *, size: str = "1Gi", storage_class: str = "ontap-nas", **spec: Any
) -> dict[str, Any]:
    """A PersistentVolumeClaim body."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "resources": {"requests": {"storage": size}},
            "storageClassName": storage_class,
            **spec,
        },
    }


async def alive(client: KubernetesClient, resource: Resource, name: str, namespace: str = "default") -> bool:
    """Whether the object exists and is not being deleted."""
    try:
        obj = await client.get(resource, name, namespace)
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise
    return "deletionTimestamp" not in obj["metadata"]
