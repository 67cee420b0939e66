"""Clone a volume: a new PVC from a VolumeSnapshot, or from the PVC itself.

Replaces the DataOps Toolkit's ``clone_volume`` example, which ran a pod that installed the toolkit
and waited for the clone. Here the task creates the PVC and the triggerer waits for it to bind; a
parameter chooses the source. Under NetApp Trident, ``clone_method="trident"`` asks for a FlexClone
with Trident's ``cloneFromPVC`` annotation instead of a CSI ``dataSource`` (PVC sources only).

Connection: ``kubernetes_conn_id`` (default ``kubernetes_default``), the cncf provider's
``kubernetes`` connection (a kubeconfig); the same one ``KubernetesPodOperator`` uses.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task


@dag(
    dag_id="clone_volume",
    schedule=None,
    tags=["netapp", "example", "vol-clone"],
    params={
        "clone_from": Param(
            "snapshot",
            enum=["snapshot", "pvc"],
            description="Clone from source_snapshot (a VolumeSnapshot) or from source_pvc (the volume now).",
        ),
        "source_snapshot": Param(
            "snap1", type="string", description="The VolumeSnapshot to clone when clone_from is 'snapshot'."
        ),
        "source_pvc": Param(
            "gold-datavol", type="string", description="The PVC to clone when clone_from is 'pvc'."
        ),
        # No fixed default name: each run makes its own clone. Under a fixed name, a later run would
        # find the first run's clone and adopt it instead of cloning afresh.
        "new_pvc": Param(
            "",
            type="string",
            description="Name of the new PVC; empty: <source>-clone-<hash of this run>.",
        ),
        "clone_method": Param(
            "csi",
            enum=["csi", "trident"],
            description="csi: the standard dataSource clone; trident: a FlexClone through Trident's "
            "cloneFromPVC annotation (clone_from 'pvc' only).",
        ),
        "namespace": Param(
            "default", type="string", description="Kubernetes namespace of the source and the new PVC."
        ),
        "kubernetes_conn_id": Param(
            "kubernetes_default",
            type="string",
            description="Airflow connection (kubernetes) to the cluster.",
        ),
    },
)
def clone_volume() -> None:
    """Clone the chosen source into a new PVC and wait until it is bound."""

    # The connection and the namespace are decorator arguments (templated): the task reads them
    # again when it resumes. The function returns what to clone.
    @task.netapp_clone(
        kubernetes_conn_id="{{ params.kubernetes_conn_id }}", namespace="{{ params.namespace }}"
    )
    def clone(params: dict[str, Any]) -> dict[str, Any]:
        source = (
            {"source_snapshot": params["source_snapshot"]}
            if params["clone_from"] == "snapshot"
            else {"source_pvc": params["source_pvc"]}
        )
        return {**source, "new_pvc": params["new_pvc"] or None, "clone_method": params["clone_method"]}

    @task
    def report(claim: dict[str, Any]) -> None:
        print(
            f"PVC {claim['namespace']}/{claim['name']} ({claim['capacity']}, {claim['storage_class']}) "
            f"cloned from {claim['source_kind']} {claim['source_name']} by {claim['clone_method']}"
        )

    report(clone())


clone_volume()
