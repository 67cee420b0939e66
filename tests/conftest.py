"""Shared test configuration."""

# --- simulators: fixtures from the public pytest plugin (kubernetes_simulator, kubeconfig_path) ---
pytest_plugins = ["netapp_dataops_airflow.testing"]
# --- end simulators ---

# pytester runs inner pytest sessions, for tests of the plugins.
pytest_plugins += ["pytester"]
