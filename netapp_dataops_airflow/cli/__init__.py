"""Command-line tools for people setting up DAGs (``python -m netapp_dataops_airflow ...``)."""
