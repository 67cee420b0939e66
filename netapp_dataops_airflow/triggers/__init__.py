"""Deferrable waits that run in Airflow's triggerer; each trigger yields exactly one event."""
