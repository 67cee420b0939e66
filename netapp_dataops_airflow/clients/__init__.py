"""Pure async API clients: explicit configuration in, typed results out, no Airflow imports."""
