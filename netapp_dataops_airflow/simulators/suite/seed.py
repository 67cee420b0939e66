"""The demo's seed data: what each simulator holds before the example DAGs run.

The names are the example DAGs' parameter defaults, so the DAGs run against ``serve all`` as they
are; only ``clone_volume`` is triggered with ``clone_from=pvc`` (its default source is a snapshot
named ``snap1``, which a fresh cluster does not have).
"""

from __future__ import annotations

from pathlib import Path

from netapp_dataops_airflow.simulators.cloud_sync.models import CloudSyncBackend
from netapp_dataops_airflow.simulators.kubernetes.models import KubernetesBackend
from netapp_dataops_airflow.simulators.kubernetes.seed import bound_claim
from netapp_dataops_airflow.simulators.ontap.models import OntapBackend
from netapp_dataops_airflow.simulators.xcp.host import SimulatedXcpHost

NAMESPACE = "default"
DATASET_PVC = "dataset-vol"
MODEL_PVC = "airflow-model-vol"
GOLD_PVC = "gold-datavol"

SNAPMIRROR_SOURCE = "svm_prod:dataset"
SNAPMIRROR_DESTINATION = "svm_dr:dataset_dst"

CLOUD_SYNC_ACCOUNT = "account-Demo0001"
CLOUD_SYNC_RELATIONSHIP = "5fe2a6c597a18907ade906a4"

XCP_SERVER = "192.168.200.41"
XCP_SOURCE_EXPORT = "/trident_pvc_957318e1_9b73_4e16_b857_dca7819dd263"
XCP_TARGET_EXPORT = "/trident_pvc_9e7607c2_29c8_4dbf_9b08_551ba72d0273"
XCP_FILES = 40
XCP_FILE_BYTES = 64 * 1024


def seed_kubernetes(backend: KubernetesBackend, *, step_seconds: float, pod_seconds: float) -> None:
    """Bound dataset, model and "gold" PVCs on Trident's default class (the snapshot class is built in).

    :param step_seconds: how long each simulated controller step takes (snapshot ready, clone bound).
    :param pod_seconds: how long a pod's container runs.
    """
    backend.timing.set_all(step_seconds)
    backend.pods.defaults.update(duration_seconds=pod_seconds)
    backend.seed(
        *bound_claim(DATASET_PVC, NAMESPACE, size="10Gi", labels={"app": "training"}),
        *bound_claim(MODEL_PVC, NAMESPACE, size="2Gi", labels={"app": "training"}),
        *bound_claim(GOLD_PVC, NAMESPACE, size="5Gi"),
    )


def seed_ontap(backend: OntapBackend, *, transfer_seconds: float) -> None:
    """One healthy asynchronous SnapMirror relationship whose transfers take ``transfer_seconds``."""
    backend.set_transfer_settings(duration=transfer_seconds)
    backend.add_relationship(SNAPMIRROR_SOURCE, SNAPMIRROR_DESTINATION)


def seed_cloud_sync(backend: CloudSyncBackend, *, sync_seconds: float) -> None:
    """One account and an NFS-to-S3 relationship whose syncs run for ``sync_seconds``."""
    backend.set_sync_settings(duration=sync_seconds)
    backend.add_account(CLOUD_SYNC_ACCOUNT, "Demo")
    backend.add_relationship(
        {"protocol": "nfs", "host": XCP_SERVER, "export": XCP_SOURCE_EXPORT, "path": ""},
        {"protocol": "s3", "bucket": "datasets-archive", "prefix": "nightly"},
        account_id=CLOUD_SYNC_ACCOUNT,
        id=CLOUD_SYNC_RELATIONSHIP,
    )


def seed_xcp(host: SimulatedXcpHost, *, copy_seconds: float) -> Path:
    """Lay out a source tree on the source export and an empty target export; return the source.

    The copy speed is set so copying the tree takes about ``copy_seconds``.
    """
    source = host.export(XCP_SERVER, XCP_SOURCE_EXPORT)
    host.export(XCP_SERVER, XCP_TARGET_EXPORT)
    for number in range(XCP_FILES):
        shard = source / f"shard-{number % 4}"
        shard.mkdir(exist_ok=True)
        (shard / f"part-{number:04d}.bin").write_bytes(bytes([number % 256]) * XCP_FILE_BYTES)
    total = XCP_FILES * XCP_FILE_BYTES
    host.configure(bytes_per_second=max(1, int(total / copy_seconds)) if copy_seconds > 0 else 0)
    return source
