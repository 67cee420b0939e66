"""Shared test configuration."""

# --- simulators: fixtures from the public pytest plugin (kubernetes_simulator, kubeconfig_path) ---
pytest_plugins = ["netapp_dataops_airflow.testing"]
# --- end simulators ---

# A test during which an event loop reported an exception nobody handled fails (tests/loop_reports.py);
# pytester runs inner pytest sessions, for tests of the plugins.
pytest_plugins += ["loop_reports", "pytester"]
