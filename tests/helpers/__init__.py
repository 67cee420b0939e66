"""What the tests share, by subject: import it as ``tests.helpers.<subject>``.

- :mod:`~tests.helpers.airflow`: Airflow's side of a task (supervisor channel, task state store,
  context, the task states ``on_kill`` acts on) and running operators and triggers as Airflow does;
- :mod:`~tests.helpers.connections`: the fields of Airflow connections to the simulators;
- :mod:`~tests.helpers.kubernetes`: the Kubernetes objects tests create, and ways to reach a simulator;
- :mod:`~tests.helpers.ontap`: the SnapMirror tests' connection id, and what a cluster was asked;
- :mod:`~tests.helpers.kubectl` and :mod:`~tests.helpers.processes`: other programs the fidelity
  tests run (kubectl, the NetApp DataOps toolkits) in a clean environment;
- :mod:`~tests.helpers.waiting`: waiting for a condition, with limits that only end a hung run;
- :mod:`~tests.helpers.fixtures`: fixtures of several directories, which their ``conftest.py`` import.

A fixture one directory uses stays in that directory's ``conftest.py``. The simulators themselves
come from the public plugin (``netapp_dataops_airflow.testing``): ``kubernetes_simulator`` and
``ontap_simulator``; a fixture that seeds or configures one is named for what it holds
(``seeded_kubernetes``, ``slow_ontap``).
"""
