"""PostgreSQL and Redis as throwaway processes: a free loopback port, data in a given folder, stopped by pid.

A real Airflow deployment needs a metadata database other than SQLite (several processes write at
once) and a Celery broker. Both are started from the machine's own binaries (Debian's
``postgresql`` and ``redis-server`` packages), never as system services::

    with start_postgres(tmp / "postgres") as postgres, start_redis(tmp / "redis") as redis:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = postgres.url
        env["AIRFLOW__CELERY__BROKER_URL"] = redis.url

PostgreSQL refuses to run as root; as root, its processes run as the ``postgres`` user (or
``nobody``), which then owns the data folder. Every parent of that folder must let that user pass.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

POSTGRES_USER = "airflow"
"""The database superuser and database name the started PostgreSQL has (trust auth on loopback)."""

_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 20.0


class ServiceError(RuntimeError):
    """A service could not be started; the message holds the end of its log."""


@dataclasses.dataclass
class Service:
    """A started server process: where it listens, its pid and its log file."""

    name: str
    port: int
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Send ``sig`` to the server (by pid), wait for it, and kill it if it outlives the wait."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, sig)
            try:
                self.process.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(_STOP_TIMEOUT)


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now (the caller binds it soon)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def find_program(name: str, *, package: str) -> str:
    """Return the path of ``name`` on ``PATH`` or in PostgreSQL's versioned folder; say how to get it."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    if candidates:
        return str(candidates[0])
    raise ServiceError(f"{name} not found on PATH: install it (e.g. `apt-get install {package}`)")


@contextlib.contextmanager
def start_postgres(directory: Path, *, port: int | None = None) -> Iterator[Service]:
    """Start a PostgreSQL server with its data in ``directory``; stop it when the block ends.

    The server listens on loopback only (no Unix socket outside ``directory``), trusts local
    connections, and trades durability for speed (``fsync=off``): the data lives as long as a test
    session. The database and user are both :data:`POSTGRES_USER`.
    """
    initdb = find_program("initdb", package="postgresql")
    postgres = find_program("postgres", package="postgresql")
    user = _unprivileged_user()
    data = directory / "data"
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "postgres.log"
    if user is not None:
        shutil.chown(directory, user.pw_uid, user.pw_gid)
    _run_as(
        user,
        [initdb, "-D", str(data), "-U", POSTGRES_USER, "--auth=trust", "-E", "UTF8", "--no-sync"],
        log,
    )
    # The database Airflow uses, created in single-user mode: no client library or socket needed.
    _run_as(
        user, [postgres, "--single", "-D", str(data), "postgres"], log, stdin=b"CREATE DATABASE airflow;\n"
    )
    port = port or free_port()
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(directory),
        "max_connections": "300",  # every Airflow process keeps a pool; the default 100 runs out
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }
    argv = [postgres, "-D", str(data), *(f"-c{key}={value}" for key, value in settings.items())]
    process = _popen_as(user, argv, log)
    service = Service(
        "postgres", port, f"postgresql+psycopg2://{POSTGRES_USER}@127.0.0.1:{port}/airflow", process, log
    )
    with _stopped_at_end(service, signal.SIGINT):  # SIGINT: PostgreSQL's fast shutdown
        _wait_listening(service)
        yield service


@contextlib.contextmanager
def start_redis(directory: Path, *, port: int | None = None) -> Iterator[Service]:
    """Start a Redis server (no persistence), files in ``directory``; stop it when the block ends."""
    redis_server = find_program("redis-server", package="redis-server")
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    config = directory / "redis.conf"
    config.write_text(
        f'bind 127.0.0.1\nport {port}\ndir {directory}\ndaemonize no\nsave ""\nappendonly no\n'
        "protected-mode yes\n"
    )
    log = directory / "redis.log"
    process = _popen_as(None, [redis_server, str(config)], log)
    service = Service("redis", port, f"redis://127.0.0.1:{port}/0", process, log)
    with _stopped_at_end(service, signal.SIGTERM):
        _wait_listening(service)
        yield service


@contextlib.contextmanager
def _stopped_at_end(service: Service, sig: signal.Signals) -> Iterator[None]:
    """Stop ``service`` with ``sig`` when the block ends, however it ends."""
    try:
        yield
    finally:
        service.stop(sig)


def _unprivileged_user() -> pwd.struct_passwd | None:
    """Return the user to run PostgreSQL as if we are root (``postgres``, else ``nobody``); else ``None``."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise ServiceError("running as root, and neither user 'postgres' nor 'nobody' exists to run PostgreSQL")


def _run_as(
    user: pwd.struct_passwd | None, argv: Sequence[str], log: Path, *, stdin: bytes | None = None
) -> None:
    """Run ``argv`` (as ``user``) to completion, its output appended to ``log``; raise with it on failure."""
    with log.open("ab") as out:
        result = subprocess.run(
            argv,
            input=stdin,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            user=_uid(user),
            group=_gid(user),
            extra_groups=None if user is None else [],
            cwd=None if user is None else "/",
        )
    if result.returncode != 0:
        raise ServiceError(f"{' '.join(argv)} failed (exit status {result.returncode}):\n{_tail(log)}")


def _popen_as(user: pwd.struct_passwd | None, argv: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``argv`` (as ``user``) in a session of its own, its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the tests, which stop it in order
            user=_uid(user),
            group=_gid(user),
            extra_groups=None if user is None else [],
            cwd=None if user is None else "/",  # our own folder may not be the user's to enter
        )


def _uid(user: pwd.struct_passwd | None) -> int | None:
    """Return ``user``'s id for ``subprocess`` (``None``: stay who we are)."""
    return None if user is None else user.pw_uid


def _gid(user: pwd.struct_passwd | None) -> int | None:
    """Return ``user``'s primary group id for ``subprocess`` (``None``: stay in ours)."""
    return None if user is None else user.pw_gid


def _wait_listening(service: Service) -> None:
    """Wait until ``service`` accepts TCP connections; raise with its log if it exits or never does."""
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise ServiceError(
                f"{service.name} exited with status {service.process.returncode}:\n{_tail(service.log)}"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", service.port), 0.5):
            return
        time.sleep(0.1)
    raise ServiceError(f"{service.name} did not listen on port {service.port} in {_START_TIMEOUT:.0f} s")


def _tail(log: Path, lines: int = 30) -> str:
    """Return the last ``lines`` lines of ``log`` (empty if it does not exist)."""
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return ""
