"""The Kubernetes objects tests create, and ways to reach and watch a simulator.

Objects a test seeds as they would stand in a cluster come from the simulator's own
:func:`~netapp_dataops_airflow.simulators.kubernetes.bound_claim`. Objects a test sends (through a
client, plain HTTP or kubectl) are the bodies below, so every test builds a claim or a snapshot
the same way; a test about what the API server fills in removes the fields it checks for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from netapp_dataops_airflow.clients.kubernetes import ClusterConfig, KubernetesClient, Resource
from netapp_dataops_airflow.exceptions import ApiError
from netapp_dataops_airflow.simulators.kubernetes import KubernetesBackend, KubernetesSimulator
from netapp_dataops_airflow.simulators.kubernetes.controllers import ControllerLoop
from netapp_dataops_airflow.simulators.kubernetes.provisioner import reconcile_claims, reconcile_volumes
from netapp_dataops_airflow.simulators.kubernetes.snapshotter import reconcile_contents, reconcile_snapshots
from tests.helpers.waiting import until

JSON = dict[str, Any]

NAMESPACE = "default"
SNAPSHOT_GROUP = "snapshot.storage.k8s.io"
SNAPSHOT_VERSION = "v1"
SNAPSHOT_CLASS = "csi-snapclass"
"""The simulator's (Trident's) snapshot class, the one netapp-dataops-k8s assumes."""
VS_ARGS = {
    "group": SNAPSHOT_GROUP,
    "version": SNAPSHOT_VERSION,
    "namespace": NAMESPACE,
    "plural": "volumesnapshots",
}
"""Keyword arguments naming the namespace's VolumeSnapshots for the official clients' custom-object APIs."""


def _metadata(
    name: str,
    namespace: str | None,
    labels: Mapping[str, str] | None,
    annotations: Mapping[str, str] | None,
) -> JSON:
    metadata: JSON = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    return metadata


def claim_body(
    name: str,
    *,
    size: str = "1Gi",
    access_modes: Sequence[str] = ("ReadWriteOnce",),
    storage_class: str | None = None,
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    **spec: Any,
) -> JSON:
    """A PersistentVolumeClaim body; without ``storage_class`` the cluster's default class applies.

    ``spec`` adds fields to the spec as they are spelt there, e.g. ``dataSource=snapshot_source(...)``.
    """
    claim_spec: JSON = {"accessModes": list(access_modes), "resources": {"requests": {"storage": size}}}
    if storage_class is not None:
        claim_spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _metadata(name, namespace, labels, annotations),
        "spec": claim_spec | spec,
    }


def snapshot_body(
    name: str,
    pvc: str,
    *,
    snapshot_class: str | None = None,
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> JSON:
    """A dynamic VolumeSnapshot body of the claim ``pvc``; without ``snapshot_class`` the default applies."""
    spec: JSON = {"source": {"persistentVolumeClaimName": pvc}}
    if snapshot_class is not None:
        spec = {"volumeSnapshotClassName": snapshot_class, **spec}
    return {
        "apiVersion": f"{SNAPSHOT_GROUP}/{SNAPSHOT_VERSION}",
        "kind": "VolumeSnapshot",
        "metadata": _metadata(name, namespace, labels, annotations),
        "spec": spec,
    }


def snapshot_source(name: str) -> JSON:
    """A claim's ``dataSource`` (or ``dataSourceRef``) naming the VolumeSnapshot ``name``."""
    return {"apiGroup": SNAPSHOT_GROUP, "kind": "VolumeSnapshot", "name": name}


def claim_source(name: str) -> JSON:
    """A claim's ``dataSource`` (or ``dataSourceRef``) naming the claim ``name``: a clone of it."""
    return {"kind": "PersistentVolumeClaim", "name": name}


def kubeconfig_of(
    simulator: KubernetesSimulator, path: Path, *, token: str | None = None, inline_ca: bool = False
) -> JSON:
    """The simulator's kubeconfig, written to ``path`` and read back; ``token`` replaces the user's token."""
    kubeconfig: JSON = yaml.safe_load(simulator.write_kubeconfig(path, inline_ca=inline_ca).read_text())
    if token is not None:
        kubeconfig["users"][0]["user"]["token"] = token
    return kubeconfig


def cluster_config(simulator: KubernetesSimulator, path: Path, *, token: str | None = None) -> ClusterConfig:
    """A client's configuration for the simulator, as :func:`kubeconfig_of` gives it."""
    return ClusterConfig(kubeconfig=kubeconfig_of(simulator, path, token=token))


async def alive(client: KubernetesClient, resource: Resource, name: str, namespace: str = NAMESPACE) -> bool:
    """Whether the object exists and is not being deleted."""
    try:
        obj = await client.get(resource, name, namespace)
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise
    return "deletionTimestamp" not in obj["metadata"]


async def watching(simulator: KubernetesSimulator, resource: str = "volumesnapshots") -> None:
    """Return once the simulator serves an open watch of ``resource`` (a client is watching by then)."""
    await until(lambda: bool(simulator.backend.stats.open_watches(resource)), what=f"a watch of {resource}")


class SteppedKubernetes:
    """A simulated cluster's backend and controllers, stepped by hand (no server, event loop or clock)."""

    def __init__(self) -> None:
        self.backend = KubernetesBackend()
        self.backend.timing.update(
            provisioning=0, binding=0, snapshot=0, snapshot_ready=0, retry=0, wait_for_first_consumer_event=0
        )
        self.restart()

    def restart(self) -> None:
        """New controllers (with no pending timers), as after a controller restart."""
        self.controllers = ControllerLoop(
            self.backend, [reconcile_claims, reconcile_volumes, reconcile_snapshots, reconcile_contents]
        )

    def step(self, passes: int = 1) -> None:
        """Run the controllers ``passes`` times."""
        for _ in range(passes):
            self.controllers.run_once()

    def settle(self, max_passes: int = 30) -> None:
        """Run passes until nothing changes (or max_passes, for objects that keep retrying)."""
        for _ in range(max_passes):
            before = self.backend.resource_version
            self.controllers.run_once()
            if self.backend.resource_version == before:
                return
