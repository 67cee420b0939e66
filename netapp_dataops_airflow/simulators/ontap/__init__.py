"""A simulated ONTAP cluster for SnapMirror: REST over HTTPS as ONTAP answers it, errors included.

:class:`OntapSimulator` serves it; :class:`OntapBackend` (``simulator.backend``) holds the state
and is the Python control API (seed relationships, set transfer duration and outcome, inject faults,
move time on). Layout: ``models`` (state machine), ``records`` / ``query`` / ``responses`` (wire
format), ``control`` (the ``/_simulator/`` HTTP control API), ``app`` (auth, faults, routing).
"""

from __future__ import annotations

from netapp_dataops_airflow.simulators._faults import Fault
from netapp_dataops_airflow.simulators.ontap.errors import OntapApiError
from netapp_dataops_airflow.simulators.ontap.models import (
    OntapBackend,
    Relationship,
    Transfer,
    TransferSettings,
)
from netapp_dataops_airflow.simulators.ontap.simulator import OntapSimulator

__all__ = [
    "Fault",
    "OntapApiError",
    "OntapBackend",
    "OntapSimulator",
    "Relationship",
    "Transfer",
    "TransferSettings",
]
