"""The one-command demo: every simulator, a real local Airflow, the example DAGs, a report per task.

``python -m netapp_dataops_airflow.demo [--keep]`` (or ``nox -s demo``). Its parts:
:mod:`.deployment` (a local Airflow as processes, settings as data; reused by end-to-end tests),
:mod:`.processes` (process groups, and every descendant found again by an environment marker),
:mod:`.api` (Airflow's REST API v2 as a client), :mod:`.timeline` (held vs deferred time from
sampled states), :mod:`.report` (progress and table) and :mod:`.run` (the scenario).
"""
