"""The end-to-end suite: a real Airflow deployment as processes (``nox -s e2e``).

One deployment serves the whole session (starting it takes a minute). Its folder holds the log of
every process (``airflow/components/*.log``, task logs in ``airflow/logs``, ``postgres/``,
``redis/``, ``simulators.log``); it is kept, and named at the end, when a test failed.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.deployment import E2EDeployment, started

_FAILED = pytest.StashKey[bool]()
_REPORT = pytest.StashKey[list[str]]()
_DIRECTORY = pytest.StashKey[Path]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--kills", type=int, default=10, help="triggerer kills at random moments (default 10)")


@pytest.fixture(scope="session")
def deployment_dir(request: pytest.FixtureRequest) -> Path:
    """A folder for the session's processes, that PostgreSQL's unprivileged user can reach.

    pytest's own temporary folders are private to root (0700); PostgreSQL runs as another user when
    the tests run as root, so the folder is made in the temporary directory and opened up.
    """
    directory = Path(tempfile.mkdtemp(prefix="netapp-e2e-"))
    directory.chmod(0o755)
    request.config.stash[_DIRECTORY] = directory
    return directory


@pytest.fixture(scope="session")
def e2e(deployment_dir: Path) -> Iterator[E2EDeployment]:
    """The running deployment (PostgreSQL, Redis, simulators, Airflow with CeleryExecutor)."""
    with started(deployment_dir) as deployment:
        yield deployment


@pytest.fixture
def report_lines(request: pytest.FixtureRequest) -> list[str]:
    """Lines (figures, tables) a test adds to the session's summary, printed at the end."""
    return request.config.stash.setdefault(_REPORT, [])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if getattr(report, "failed", False):
        item.config.stash[_FAILED] = True
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for line in config.stash.get(_REPORT, []):
        terminalreporter.write_line(line)
    directory = config.stash.get(_DIRECTORY, None)
    if directory is None or not directory.exists():
        return
    if config.stash.get(_FAILED, False):
        terminalreporter.write_line(f"Logs of every process (kept because a test failed): {directory}")
    else:
        shutil.rmtree(directory, ignore_errors=True)
