"""Every simulator at once, seeded for the demo and the example DAGs: ``serve all``.

:class:`SimulatorSuite` starts the Kubernetes, ONTAP, Cloud Sync and XCP simulators in the running
event loop, seeds them (:mod:`.seed`) and gives the Airflow connections to them
(:meth:`SimulatorSuite.connections`), ready to be exported as ``AIRFLOW_CONN_*`` variables.
"""

from netapp_dataops_airflow.simulators.suite.suite import SimulatorSuite

__all__ = ["SimulatorSuite"]
