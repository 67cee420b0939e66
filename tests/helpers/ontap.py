"""The SnapMirror tests' connection id, and what a simulated ONTAP cluster was asked and holds."""

from __future__ import annotations

from netapp_dataops_airflow.simulators.ontap import OntapSimulator, Transfer

CONN_ID = "ontap_sim"
"""The connection the SnapMirror tests name: not the default, so a lost ``ontap_conn_id`` shows."""

RELATIONSHIPS = "/api/snapmirror/relationships"


def polls(simulator: OntapSimulator) -> list[str]:
    """The batched relationship reads the simulated cluster has received."""
    return simulator.backend.requests_matching("GET", RELATIONSHIPS + "?")


def transfers(simulator: OntapSimulator) -> list[Transfer]:
    """Every transfer the simulated cluster has, of every relationship."""
    return [t for r in simulator.backend.relationships.values() for t in r.transfers.values()]
