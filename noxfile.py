"""Every developer command lives here.

    nox                 the default gate: tests
    nox -s tests        unit and integration tests (simulators on loopback; nothing external) on
                        the Python nox runs on (if supported; else the newest supported found);
                        ``-P 3.13`` on another, ``-P 3.10 3.13`` on each (CI: every claimed one)
    nox -s lint         ruff (check + format) and the import-layer contracts
    nox -s typecheck    mypy --strict over the package
    nox -s fidelity     real third-party clients (kubectl, kubernetes, kubernetes_asyncio,
                        netapp-ontap, netapp-dataops-k8s, netapp-dataops-traditional)
                        against the simulators
    nox -s e2e          a real Airflow deployment as processes (PostgreSQL, Redis, CeleryExecutor
                        with one worker slot, two triggerers, the simulators): every example DAG,
                        user actions and kills through the REST API; ``-- --kills N`` (default 10)
    nox -s demo         the example DAGs on a real local Airflow (scheduler, DAG processor, triggerer,
                        API server) against the simulators; ``-- --keep`` leaves it running
    nox -s demo_test    the demo's end-to-end tests, the UI test included (several minutes: not in
                        ``tests``)
    nox -s ui           the UI in headless Chromium (needs ``chromium``); its screenshots go to docs/images
    nox -s bench        benchmarks (up to 5,000 concurrent waits through Airflow's trigger runner, and
                        side by side with NetApp's DataOps toolkits in their own venv and with the
                        usual per-trigger design): docs/benchmarks.md;
                        ``-- --quick`` for a smoke run under a minute that leaves the docs alone

Arguments after ``--`` go to the tool, e.g. ``nox -s tests -- -k watch -x``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHON = "3.11"
"""The one interpreter of lint, typecheck, fidelity and bench: their results should not vary by machine."""
PYTHONS = nox.project.python_versions(PYPROJECT)
"""Every Python the project claims (its classifiers); ``nox -s tests -P X.Y`` runs the tests on one."""
ROOT = Path(__file__).parent


def tests_python() -> str:
    """Pick the interpreter of ``nox -s tests``: the one nox runs on if supported, else the newest found.

    One interpreter, not all of them: a user wants one quick answer on the Python they have; CI
    asks for the others with ``-P`` (``.ci/run``).
    """
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running in PYTHONS:
        return running
    for version in reversed(PYTHONS):
        # A pyenv shim exists for every installed version but fails for one not selected: try it.
        found = shutil.which(f"python{version}")
        if found and subprocess.run([found, "-c", ""], capture_output=True, check=False).returncode == 0:
            return version
    return PYTHONS[-1]  # none found: nox says so (or downloads it, where it may)


def airflow_env(session: nox.Session) -> dict[str, str]:
    """Keep Airflow's home (config, SQLite database, logs) inside the session, never in ``~/airflow``.

    The home starts empty on every run: a database kept from an earlier checkout holds DAG versions
    serialized by older code, which Airflow then reads as two versions of one DAG.
    """
    home = Path(session.create_tmp()).resolve() / "airflow-home"
    shutil.rmtree(home, ignore_errors=True)
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    }


def install_project(session: nox.Session, *groups: str) -> None:
    """Install the package with its dependencies and the named dependency groups."""
    session.install("-e", ".")
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))


TOOLKITS = ("netapp-dataops-k8s==3.1.0", "netapp-dataops-traditional==3.1.0", "kubernetes>=36,<37")
"""NetApp's DataOps toolkits as ``nox -s fidelity`` and ``nox -s bench`` run them (their own venv)."""


def toolkit_venv(session: nox.Session) -> Path:
    """Build (or refresh) the DataOps toolkits' virtualenv next to the session's; return its python.

    The toolkits need ``kubernetes<37`` and bring notebook, pandas, boto3 and fastmcp, none of which
    belong next to Airflow, so they get a venv of their own (``.nox/fidelity-toolkit``, shared by
    the sessions that run them as subprocesses).
    """
    # uv builds the toolkit venv; install it into the session so no global uv is assumed.
    session.install("uv")
    venv = Path(session.virtualenv.location).parent / "fidelity-toolkit"
    python = venv / "bin" / "python"
    if not python.exists():
        session.run_install("uv", "venv", "--quiet", "--python", PYTHON, str(venv))
    session.run_install("uv", "pip", "install", "--quiet", "--python", str(python), *TOOLKITS)
    return python


@nox.session(python=tests_python())
def tests(session: nox.Session) -> None:
    """Unit and integration tests; the simulators they need are started by the tests."""
    install_project(session, "test")
    args = session.posargs or ["tests/unit", "tests/integration"]
    session.run("pytest", *args, env=airflow_env(session))


@nox.session(python=PYTHON, tags=["lint"])
def lint(session: nox.Session) -> None:
    """Ruff and the import-layer contracts (clients never import airflow, and so on)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    paths = session.posargs or ["netapp_dataops_airflow", "tests", "benchmarks", "noxfile.py"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    # import-linter only needs to find the source, not to import its dependencies.
    session.run("lint-imports", env={"PYTHONPATH": str(ROOT)})


@nox.session(python=PYTHON, tags=["lint"])
def typecheck(session: nox.Session) -> None:
    """Mypy in strict mode over the package."""
    install_project(session, "typecheck")
    session.run("mypy", *session.posargs)


@nox.session(python=PYTHON)
def fidelity(session: nox.Session) -> None:
    """Clients nobody here wrote, unchanged, against the simulators.

    NetApp's DataOps toolkits (``netapp-dataops-k8s``, ``netapp-dataops-traditional``) get a
    virtualenv of their own: they need ``kubernetes<37`` and bring notebook, pandas, boto3 and
    fastmcp, none of which belong next to Airflow. Tests run them as subprocesses.
    """
    install_project(session, "fidelity")
    toolkit_python = toolkit_venv(session)
    env = {**airflow_env(session), "NETAPP_TOOLKIT_PYTHON": str(toolkit_python)}
    session.run("pytest", *(session.posargs or ["tests/fidelity"]), env=env)


@nox.session(python=tests_python(), default=False)
def demo(session: nox.Session) -> None:
    """Start the simulators and a local Airflow, run the five example DAGs, print what each task did."""
    install_project(session)  # the cncf provider (the pods of ai_training_run) is a dependency
    # Ctrl-C reaches the demo too; give it time to stop Airflow and the simulators before nox
    # would TERM and then KILL it (after 0.3 s by default) and orphan their process groups.
    session.run("python", "-m", "netapp_dataops_airflow.demo", *session.posargs, interrupt_timeout=60)


@nox.session(python=tests_python(), default=False)
def demo_test(session: nox.Session) -> None:
    """The demo end to end (a few minutes on a small machine), and its Ctrl-C leaving nothing behind."""
    install_project(session, "test")
    session.run("pytest", "-m", "demo", "tests/demo", *session.posargs, env=airflow_env(session))


@nox.session(python=tests_python(), default=False)
def ui(session: nox.Session) -> None:
    """The example DAGs' runs, connection forms and assets in Airflow's UI (headless Chromium), photographed.

    The same test runs in ``demo_test`` with the screenshots in a temporary directory; here they
    replace the ones in docs/images/.
    """
    install_project(session, "test")
    env = {**airflow_env(session), "NETAPP_DATAOPS_SCREENSHOTS": str(ROOT / "docs" / "images")}
    session.run("pytest", "-m", "demo", "tests/demo/test_ui.py", *session.posargs, env=env)


@nox.session(python=PYTHON, default=False)
def e2e(session: nox.Session) -> None:
    """End to end: the library on a real Airflow deployment started by the tests (tests/e2e/).

    PostgreSQL and Redis run from the machine's binaries (``.ci/run`` installs them); every Airflow
    component is a process of its own. Logs of every process are kept when a test fails.
    """
    install_project(session, "e2e")
    args = session.posargs or ["tests/e2e"]
    # One deployment serves every test; its start counts towards the first test's time.
    session.run("pytest", "-p", "no:cacheprovider", "-o", "timeout=1500", *args, env=airflow_env(session))


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks: raw results and plots in docs/benchmarks/, tables in docs/benchmarks.md."""
    install_project(session, "bench")
    env = airflow_env(session)
    # The side-by-side comparison drives NetApp's toolkits in their own venv (benchmarks/baselines/);
    # the quick run leaves the toolkits out and so needs no venv of theirs.
    if "--quick" not in session.posargs:
        env["NETAPP_TOOLKIT_PYTHON"] = str(toolkit_venv(session))
    session.run("python", "-m", "benchmarks.run", *session.posargs, env=env)


if __name__ == "__main__":
    nox.main()
