"""Airflow's home for a test session: a temporary one, never the user's ``~/airflow``."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

DEFAULT_AIRFLOW_HOME = Path("~/airflow").expanduser()
"""Airflow's home when ``AIRFLOW_HOME`` is unset: the user's own, never used by these fixtures."""


def needs_own_airflow_home(environ: Mapping[str, str]) -> bool:
    """Tell whether ``environ`` would make Airflow use ``~/airflow`` (``AIRFLOW_HOME`` unset or that)."""
    home = environ.get("AIRFLOW_HOME")
    return not home or Path(home).expanduser().resolve() == DEFAULT_AIRFLOW_HOME.resolve()


def use_session_airflow_home() -> None:
    """Point Airflow at a temporary home for this pytest session, if it would use ``~/airflow``.

    Only under pytest and only before ``airflow`` is imported: Airflow reads ``AIRFLOW_HOME`` once.
    The home is removed when the process exits; examples are off in it.
    """
    if "PYTEST_VERSION" not in os.environ or "airflow" in sys.modules:
        return
    if not needs_own_airflow_home(os.environ):
        return
    home = tempfile.mkdtemp(prefix="netapp-dataops-airflow-home-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["AIRFLOW_HOME"] = home
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
