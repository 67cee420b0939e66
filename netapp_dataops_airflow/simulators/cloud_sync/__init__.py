"""A simulated Cloud Sync (BlueXP copy and sync) service: the Auth0 token endpoint and the API.

:class:`CloudSyncSimulator` serves it; :class:`CloudSyncBackend` (``simulator.backend``) holds the
state and is the Python control API (refresh tokens, accounts, relationships, sync durations and
outcomes, token lifetime, faults, the clock). Layout: ``models`` (state machine), ``app`` (wire
format, token check, faults), ``control`` (the ``/_simulator/`` HTTP control API).
"""

from __future__ import annotations

from netapp_dataops_airflow.simulators.cloud_sync.errors import CloudSyncApiError, TokenError
from netapp_dataops_airflow.simulators.cloud_sync.models import (
    Activity,
    CloudSyncBackend,
    Endpoint,
    Relationship,
    SyncSettings,
)
from netapp_dataops_airflow.simulators.cloud_sync.simulator import CloudSyncSimulator

__all__ = [
    "Activity",
    "CloudSyncApiError",
    "CloudSyncBackend",
    "CloudSyncSimulator",
    "Endpoint",
    "Relationship",
    "SyncSettings",
    "TokenError",
]
