"""Airflow's ``hostname_callable`` for the end-to-end deployment: triggerers are told apart by name.

Both triggerers run on this machine, so Airflow would record the same host name for both jobs, and
the REST API (a deferred task's ``triggerer_job``) could not say which process holds a trigger. Each
triggerer reports its component name (``triggerer-1``) instead; every other process its real name.
"""

from __future__ import annotations

import os

from netapp_dataops_airflow.demo.deployment import COMPONENT


def component_hostname() -> str:
    """Return ``triggerer-N`` in a triggerer of the deployment, else the machine's name as Airflow has it."""
    component = os.environ.get(COMPONENT, "")
    if component.startswith("triggerer-"):
        return component
    from airflow.utils.net import getfqdn

    return str(getfqdn())
