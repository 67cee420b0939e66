"""The fields of Airflow connections to the simulators, for the plugin's ``airflow_connection``::

    airflow_connection("ontap_sim", **ontap_fields(ontap_simulator))
    airflow_connection("kubernetes_default", **kubernetes_fields(kubeconfig_path))

Every test defines its connections with that fixture (an ``AIRFLOW_CONN_<ID>`` variable for the test
only), with these fields where the connection leads to a simulator. Only a connection the fixture
cannot write (an extra that is no JSON object) is set by hand, in the test of that error.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from netapp_dataops_airflow.simulators.ontap import OntapSimulator


def ontap_fields(
    simulator: OntapSimulator, *, password: str | None = None, trusted: bool = True
) -> dict[str, Any]:
    """A ``netapp_ontap`` connection to ``simulator``, with another ``password`` if given.

    ``trusted`` gives the simulator's CA (as PEM text) as a connection to a real cluster would; without
    it the system CAs, which do not know the simulator's, are used.
    """
    return {
        "conn_type": "netapp_ontap",
        "host": simulator.url,
        "login": simulator.username,
        "password": simulator.password if password is None else password,
        "extra": {"ca_certificate": simulator.ca_pem} if trusted else {},
    }


def kubernetes_fields(kubeconfig: Path | Mapping[str, Any]) -> dict[str, Any]:
    """A ``kubernetes`` connection: a kubeconfig file's path (``kube_config_path``) or its content."""
    if isinstance(kubeconfig, Path):
        return {"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}}
    return {"conn_type": "kubernetes", "extra": {"kube_config": dict(kubeconfig)}}
