"""Airflow connections turned into configured clients."""
