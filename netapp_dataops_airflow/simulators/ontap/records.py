"""Model objects rendered as the JSON records ONTAP returns (every field; ``fields=`` trims later).

Field names, nesting and value formats follow the ONTAP REST reference: timestamps in ISO 8601
with an offset, durations (``lag_time``, ``total_duration``) as ISO 8601 durations, and a
``_links.self`` on every object. Optional fields are left out when ONTAP would leave them out
(``unhealthy_reason`` on a healthy relationship, ``transfer.uuid`` when no transfer is active).
"""

from __future__ import annotations

import datetime
from typing import Any

from netapp_dataops_airflow.simulators.ontap.models import Cluster, Job, Relationship, Svm, Transfer

RELATIONSHIPS = "/api/snapmirror/relationships"

# Top-level field names a client may ask for with fields= or filter on, per resource.
RELATIONSHIP_FIELDS = frozenset(
    {
        "uuid",
        "source",
        "destination",
        "policy",
        "state",
        "healthy",
        "unhealthy_reason",
        "lag_time",
        "exported_snapshot",
        "last_transfer_type",
        "total_transfer_bytes",
        "total_transfer_duration",
        "transfer",
        "throttle",
        "group_type",
        "_links",
    }
)
TRANSFER_FIELDS = frozenset(
    {
        "uuid",
        "state",
        "bytes_transferred",
        "checkpoint_size",
        "snapshot",
        "end_time",
        "total_duration",
        "last_updated_time",
        "error_info",
        "throttle",
        "relationship",
        "_links",
    }
)
SVM_FIELDS = frozenset({"uuid", "name", "state", "subtype", "_links"})


def links(href: str) -> dict[str, Any]:
    """Return a ``_links`` object pointing at ``href``."""
    return {"self": {"href": href}}


def timestamp(value: datetime.datetime) -> str:
    """ONTAP's date-time format: seconds precision with a UTC offset."""
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def iso_duration(seconds: float) -> str:
    """Format seconds as an ISO 8601 duration such as ``PT8H35M42S`` or ``P2DT1H0M0S``."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    prefix = f"P{days}D" if days else "P"
    return f"{prefix}T{hours}H{minutes}M{secs}S"


def cluster_record(cluster: Cluster) -> dict[str, Any]:
    """Render ``GET /api/cluster``."""
    generation, major, minor = (int(part) for part in [*cluster.version.split("."), "0", "0"][:3])
    return {
        "name": cluster.name,
        "uuid": cluster.uuid,
        "version": {
            "full": f"NetApp Release {cluster.version}: simulated",
            "generation": generation,
            "major": major,
            "minor": minor,
        },
        "_links": links("/api/cluster"),
    }


def _svm_ref(svm: Svm) -> dict[str, Any]:
    return {"name": svm.name, "uuid": svm.uuid, "_links": links(f"/api/svm/svms/{svm.uuid}")}


def svm_record(svm: Svm) -> dict[str, Any]:
    """Render an entry of ``/api/svm/svms``."""
    return {**_svm_ref(svm), "state": "running", "subtype": "default"}


def _endpoint(path: str, svm: Svm, local: Cluster) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"path": path, "svm": _svm_ref(svm)}
    if svm.cluster is not local:
        endpoint["cluster"] = {"name": svm.cluster.name, "uuid": svm.cluster.uuid}
    return endpoint


def _transfer_href(transfer: Transfer) -> str:
    return f"{RELATIONSHIPS}/{transfer.relationship_uuid}/transfers/{transfer.uuid}"


def _timing(transfer: Transfer) -> dict[str, Any]:
    timing: dict[str, Any] = {}
    if transfer.end_time is not None:
        timing["end_time"] = timestamp(transfer.end_time)
        timing["total_duration"] = iso_duration((transfer.end_time - transfer.started_at).total_seconds())
    if transfer.last_updated_time is not None:
        timing["last_updated_time"] = timestamp(transfer.last_updated_time)
    return timing


def relationship_record(relationship: Relationship, local: Cluster, now: datetime.datetime) -> dict[str, Any]:
    """Render an entry of ``/api/snapmirror/relationships``; ``transfer`` is the current or last one."""
    record: dict[str, Any] = {
        "uuid": relationship.uuid,
        "source": _endpoint(relationship.source_path, relationship.source_svm, local),
        "destination": _endpoint(relationship.destination_path, relationship.destination_svm, local),
        "policy": {
            "name": relationship.policy_name,
            "type": relationship.policy_type,
            "uuid": relationship.policy_uuid,
        },
        "state": relationship.state,
        "healthy": relationship.healthy,
        "total_transfer_bytes": relationship.total_transfer_bytes,
        "total_transfer_duration": iso_duration(relationship.total_transfer_duration),
        "throttle": 0,
        "group_type": "none",
        "_links": links(f"{RELATIONSHIPS}/{relationship.uuid}"),
    }
    if not relationship.healthy:
        record["unhealthy_reason"] = [dict(reason) for reason in relationship.unhealthy_reason]
    if relationship.last_snapshot_time is not None:
        record["lag_time"] = iso_duration((now - relationship.last_snapshot_time).total_seconds())
    if relationship.exported_snapshot is not None:
        record["exported_snapshot"] = relationship.exported_snapshot
    if relationship.last_transfer_type is not None:
        record["last_transfer_type"] = relationship.last_transfer_type
    latest = relationship.latest_transfer
    if latest is not None:
        summary: dict[str, Any] = {
            "state": latest.state,
            "bytes_transferred": latest.bytes_transferred,
            "type": latest.type,
            **_timing(latest),
        }
        if latest.active:
            summary["uuid"] = latest.uuid
            summary["_links"] = links(_transfer_href(latest))
        record["transfer"] = summary
    return record


def transfer_record(transfer: Transfer, relationship: Relationship) -> dict[str, Any]:
    """Render an entry of ``.../relationships/{uuid}/transfers``."""
    record: dict[str, Any] = {
        "uuid": transfer.uuid,
        "state": transfer.state,
        "bytes_transferred": transfer.bytes_transferred,
        "checkpoint_size": transfer.checkpoint_size,
        "snapshot": transfer.snapshot,
        "relationship": {
            "uuid": relationship.uuid,
            "destination": {
                "path": relationship.destination_path,
                "svm": _svm_ref(relationship.destination_svm),
            },
        },
        "_links": links(_transfer_href(transfer)),
        **_timing(transfer),
    }
    if transfer.throttle is not None:
        record["throttle"] = transfer.throttle
    if transfer.error_info is not None:
        record["error_info"] = dict(transfer.error_info)
    return record


def job_record(job: Job) -> dict[str, Any]:
    """Render ``GET /api/cluster/jobs/{uuid}``."""
    record: dict[str, Any] = {
        "uuid": job.uuid,
        "description": job.description,
        "state": job.state,
        "message": job.message,
        "code": job.code,
        "start_time": timestamp(job.start_time),
        "_links": links(f"/api/cluster/jobs/{job.uuid}"),
    }
    if job.end_time is not None:
        record["end_time"] = timestamp(job.end_time)
    return record


def job_link(job: Job) -> dict[str, Any]:
    """Render the ``job`` object of a 202 answer."""
    return {"uuid": job.uuid, "_links": links(f"/api/cluster/jobs/{job.uuid}")}
