"""Helpers for the Cloud Sync tests (imported by name; conftest only holds fixtures)."""

from __future__ import annotations

import json
from typing import Any

from netapp_dataops_airflow.clients.cloud_sync import CloudSyncClient
from netapp_dataops_airflow.simulators.cloud_sync import CloudSyncSimulator

CONN_ID = "cloud_sync_default"
"""The connection the plugin's ``cloud_sync_connection`` defines."""
NFS = {"protocol": "nfs", "host": "10.0.0.5", "export": "/data", "path": "/in"}
S3 = {"protocol": "s3", "bucket": "lake", "prefix": "raw/"}


def account(simulator: CloudSyncSimulator) -> str:
    """The id of the simulator's first account, the one the plugin's ``cloud_sync_simulator`` made."""
    return next(iter(simulator.backend.accounts))


def client(simulator: CloudSyncSimulator, **options: Any) -> CloudSyncClient:
    """A client of ``simulator`` with its refresh token, verifying with its CA."""
    options.setdefault("account_id", account(simulator))
    return CloudSyncClient(
        options.pop("refresh_token", simulator.refresh_token),
        api_url=simulator.api_url,
        token_url=simulator.token_url,
        ca_pem=simulator.ca_pem,
        **options,
    )


def connection_env(
    simulator: CloudSyncSimulator, *, conn_type: str = "netapp_cloud_sync", **extra: object
) -> str:
    """The ``AIRFLOW_CONN_*`` value of a Cloud Sync connection to ``simulator``."""
    return json.dumps(
        {
            "conn_type": conn_type,
            "password": extra.pop("password", simulator.refresh_token),
            "extra": {
                "api_url": simulator.api_url,
                "token_url": simulator.token_url,
                "ca_certificate": simulator.ca_pem,
                **extra,
            },
        }
    )


def api_requests(simulator: CloudSyncSimulator, path: str = "/api/") -> list[str]:
    """The API requests the simulator received under ``path``."""
    return simulator.backend.requests_matching(None, path)


def listings(simulator: CloudSyncSimulator) -> list[str]:
    """The ``GET /relationships-v2`` listings (the shared poll's one request per tick) received."""
    return [
        r for r in simulator.backend.requests_matching("GET", "/api/relationships-v2") if r.endswith("-v2")
    ]


def previous_start(simulator: CloudSyncSimulator, relationship_id: str) -> str | None:
    """The start time of the activity the relationship shows now (what the operator passes on)."""
    with simulator.backend.lock:
        record = simulator.backend.relationships[relationship_id].record(simulator.backend.clock)
    activity = record["activity"]
    return activity["startTime"] if activity else None
