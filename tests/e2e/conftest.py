"""The end-to-end suite: a real Airflow deployment as processes (``nox -s e2e``)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def deployment_dir() -> Iterator[Path]:
    """A folder for the session's services, that PostgreSQL's unprivileged user can reach.

    pytest's own temporary folders are private to root (0700); PostgreSQL runs as another user when
    the tests run as root, so the folder is made in the session's temporary directory and opened up.
    """
    directory = Path(tempfile.mkdtemp(prefix="e2e-"))
    directory.chmod(0o755)
    yield directory
