"""XCP over SSH: launch detached runs, watch many of them with one command per host, kill them.

- **One SSH connection per host** in an event loop: :class:`XcpHost` is shared through the loop
  registry, keyed by the host, port, user and host-key settings (no secret) and versioned by a
  hash of the credentials. A dropped connection is opened again at the next command, with backoff.
- **One status command per poll for every run on the host**: each host has a
  :class:`~._poller.BatchedPoller` whose fetch is one ``sh -c`` reading every waited-on run
  directory (:func:`~.xcp_remote.status_script`).
- **Launching is idempotent**: the run directory's ``mkdir`` decides; a second launch of the same
  run (a retry, a launch whose answer was lost) finds it and adopts the run instead of starting
  another. Scripts: :mod:`.xcp_remote`; argv checks: :mod:`.xcp_argv`; output: :mod:`.xcp_summary`.
- **Host keys are verified** against the connection's ``host_key`` or the user's known_hosts,
  unless the connection explicitly says not to; private keys stay in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import shlex
from collections.abc import AsyncIterator, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from netapp_dataops_airflow.clients._poller import BatchedPoller, PollTrouble, Subscription
from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.clients._shared import registry
from netapp_dataops_airflow.clients.xcp_argv import quoted
from netapp_dataops_airflow.clients.xcp_remote import (
    EXISTS,
    STARTED,
    SYNC_BUSY,
    RunStatus,
    kill_script,
    launch_script,
    parse_status,
    status_script,
)
from netapp_dataops_airflow.exceptions import HostBusyError, InvalidInputError, NetAppDataOpsError, SshError

log = logging.getLogger(__name__)
# asyncssh logs every connection, channel and command at INFO: in a triggerer that is a dozen lines
# per poll in the task logs. Quiet it unless the application chose a level for it.
if logging.getLogger("asyncssh").level == logging.NOTSET:
    logging.getLogger("asyncssh").setLevel(logging.WARNING)

#: The shortest poll interval accepted, in seconds: one status command serves every run on a host.
MIN_POLL_INTERVAL = 1.0
#: Where runs live on the XCP host when the task does not say (relative: under the SSH user's home).
DEFAULT_RUN_ROOT = ".netapp-dataops-airflow/xcp-runs"
#: Seconds between TERM and KILL when a run is killed.
KILL_GRACE = 10.0
# How much of a running run's stderr each poll reads (its last progress line is in there), and of
# an ended run's (its summary block and error lines).
RUNNING_TAIL = 1024
ENDED_TAIL = 64 * 1024
COMMAND_TIMEOUT = 60.0
# An idle connection stays open this long for the next wait on the host.
IDLE_GRACE = 30.0
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}", re.ASCII)
_RUN_ROOT = re.compile(r"[A-Za-z0-9._+@,=%~/-]+", re.ASCII)
# Connection failures that may pass: the next command or poll tries again.
_PASSING = "connection"


@dataclass(frozen=True)
class SshTarget:
    """An XCP host and the identity used on it; secrets stay out of the repr.

    :param host_key: the server's public key, ``ssh-ed25519 AAAA...`` (OpenSSH form); ``None``:
        the user's known_hosts decides.
    :param verify_host_key: ``False`` accepts any host key (only when the connection says so).
    :param look_for_keys: without a key or password in the connection, try the user's own keys.
    """

    conn_id: str
    host: str
    port: int
    username: str
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    key_file: str | None = None
    passphrase: str | None = field(default=None, repr=False)
    host_key: str | None = None
    verify_host_key: bool = True
    look_for_keys: bool = True
    connect_timeout: float = 30.0

    @property
    def address(self) -> str:
        """``user@host:port``, for messages."""
        return f"{self.username}@{self.host}:{self.port}"

    def key(self) -> Hashable:
        """Return what the shared connection is keyed by: no secret."""
        return ("xcp ssh", self.host, self.port, self.username, self.host_key, self.verify_host_key)

    def fingerprint(self) -> str:
        """Return a hash of the credentials: a changed key or password replaces the shared connection."""
        secrets = (
            f"{self.password}\0{self.private_key}\0{self.key_file}\0{self.passphrase}\0{self.look_for_keys}"
        )
        return hashlib.sha256(secrets.encode()).hexdigest()

    async def options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`asyncssh.connect` (secrets inside: never log them).

        A ``key_file`` is read in a thread, so the triggerer's event loop never waits on the disk.
        """
        known_hosts: Any = ()  # () reads ~/.ssh/known_hosts
        if not self.verify_host_key:
            known_hosts = None
        elif self.host_key is not None:
            known_hosts = ([asyncssh.import_public_key(self.host_key)], [], [])
        client_keys: Any = None
        private_key = self.private_key
        if private_key is None and self.key_file is not None:
            private_key = await asyncio.to_thread(_read_key_file, self.conn_id, self.key_file)
        if private_key is not None:
            client_keys = [asyncssh.import_private_key(private_key, self.passphrase)]
        elif self.password is None and self.look_for_keys:
            client_keys = ()  # the user's own keys and agent, as the SSH provider does
        return {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "client_keys": client_keys,
            "agent_path": () if client_keys == () else None,
            "known_hosts": known_hosts,
            "connect_timeout": self.connect_timeout,
            "keepalive_interval": 30,
        }


def _read_key_file(conn_id: str, path: str) -> str:
    try:
        return Path(path).expanduser().read_text()
    except OSError as exc:
        raise SshError(
            f"connection {conn_id!r}: 'key_file' cannot be read ({exc.strerror}); put the key in the "
            "private_key extra instead, or make the file readable by the Airflow user",
            reason="key",
        ) from None


def check_run_root(value: Any) -> str:
    """Return ``run_root`` if it is a plain path (absolute, or relative to the SSH user's home)."""
    if not isinstance(value, str) or not _RUN_ROOT.fullmatch(value) or ".." in value.split("/"):
        raise InvalidInputError(
            f"run_root must be a directory path of letters, digits and ._+@,=%~/- without '..', got {value!r}"
        )
    return value.rstrip("/") or "/"


def check_run_id(value: Any) -> str:
    """Return ``value`` if it is a run id (letters, digits, ``_.-``, at most 200); else raise."""
    if not isinstance(value, str) or not _RUN_ID.fullmatch(value):
        raise InvalidInputError(f"run_id must be 1 to 200 letters, digits, '_', '.' or '-', got {value!r}")
    return value


def run_dir(run_root: str, run_id: str) -> str:
    """Return the run directory on the XCP host."""
    return f"{check_run_root(run_root)}/{check_run_id(run_id)}"


def is_transient(exc: BaseException) -> bool:
    """Whether a failure may pass: the connection broke or could not be opened (not refused)."""
    return isinstance(exc, SshError) and exc.reason == _PASSING


def _connect_error(target: SshTarget, exc: BaseException) -> SshError:
    if isinstance(exc, asyncssh.PermissionDenied):
        return SshError(
            f"{target.address}: the SSH server refused the credentials of connection {target.conn_id!r} "
            "(check its login, password or private_key)",
            reason="refused",
        )
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return SshError(
            f"{target.address}: the SSH host key could not be verified ({exc.reason}); set the host_key "
            f"extra of connection {target.conn_id!r} to the server's public key (ssh-keyscan -p "
            f"{target.port} {target.host}) or add it to the known_hosts file of the Airflow user",
            reason="host_key",
        )
    if isinstance(exc, (asyncssh.KeyImportError, ValueError)):
        return SshError(
            f"connection {target.conn_id!r}: the private key could not be read ({exc})", reason="key"
        )
    return SshError(f"{target.address}: SSH connection failed ({type(exc).__name__}: {exc})", reason=_PASSING)


class _Client(asyncssh.SSHClient):
    """Notes when the connection closes, so the next command opens a new one."""

    def __init__(self) -> None:
        self.closed = False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True


class XcpHost:
    """The SSH connection to one XCP host in one event loop, and its poll of runs. Shared.

    :attr:`connections` and :attr:`commands` count what the host saw from this loop.
    """

    def __init__(self, target: SshTarget, retry: RetryPolicy | None = None) -> None:
        self.target = target  # holds secrets: never log it
        self.retry = retry or RetryPolicy(attempts=4, initial_wait=0.5, max_wait=10.0)
        self.connections = 0
        self.commands = 0
        self._connection: tuple[asyncssh.SSHClientConnection, _Client] | None = None
        self._lock = asyncio.Lock()
        self.poller: BatchedPoller[str, RunStatus] = BatchedPoller(
            target.address, self._fetch, is_transient=is_transient, min_interval=MIN_POLL_INTERVAL
        )

    async def _connect(self) -> asyncssh.SSHClientConnection:
        async with self._lock:
            if self._connection is not None and not self._connection[1].closed:
                return self._connection[0]
            client = _Client()
            try:
                options = await self.target.options()
                connection = await asyncssh.connect(client_factory=lambda: client, **options)
            except (asyncssh.Error, OSError, asyncio.TimeoutError, ValueError) as exc:
                raise _connect_error(self.target, exc) from None
            self.connections += 1
            self._connection = (connection, client)
            return connection

    async def _drop(self) -> None:
        async with self._lock:
            if self._connection is not None:
                connection, self._connection = self._connection[0], None
                connection.close()
                with contextlib.suppress(Exception):
                    await connection.wait_closed()

    async def run(self, script: str, *, timeout: float = COMMAND_TIMEOUT) -> asyncssh.SSHCompletedProcess:
        """Run ``script`` with ``sh`` on the host; retry on a broken connection (scripts are idempotent)."""
        async for attempt in self.retry.retrying(is_transient):
            with attempt:
                return await self._run_once(script, timeout)
        raise AssertionError("unreachable")  # tenacity re-raises the last failure

    async def _run_once(self, script: str, timeout: float) -> asyncssh.SSHCompletedProcess:
        connection = await self._connect()
        self.commands += 1
        try:
            return await asyncio.wait_for(
                connection.run(f"sh -c {shlex.quote(script)}", check=False), timeout
            )
        except (asyncssh.Error, OSError, asyncio.TimeoutError) as exc:
            await self._drop()
            raise SshError(
                f"{self.target.address}: the SSH command failed ({type(exc).__name__}: {exc})",
                reason=_PASSING,
            ) from None

    async def statuses(self, run_dirs: Sequence[str]) -> dict[str, RunStatus]:
        """Read the status of many runs with one command."""
        wanted = list(run_dirs)
        if not wanted:
            return {}
        ended = await self.run(status_script(wanted, running_tail=RUNNING_TAIL, ended_tail=ENDED_TAIL))
        if ended.exit_status != 0:
            raise NetAppDataOpsError(
                f"{self.target.address}: the status command failed (exit {ended.exit_status}): "
                f"{str(ended.stderr).strip()[-500:]}"
            )
        return parse_status(str(ended.stdout), wanted)

    async def _fetch(self, run_dirs: frozenset[str]) -> dict[str, RunStatus | BaseException]:
        return dict(await self.statuses(sorted(run_dirs)))

    async def close(self) -> None:
        """Stop polling and close the connection."""
        await self.poller.close()
        await self._drop()


@contextlib.asynccontextmanager
async def shared_host(target: SshTarget) -> AsyncIterator[XcpHost]:
    """Use the event loop's shared connection to the target's host."""
    shared = await registry()

    async def make() -> XcpHost:
        return XcpHost(target)

    async with shared.use(target.key(), make, version=target.fingerprint(), idle_grace=IDLE_GRACE) as host:
        yield host


@dataclass(frozen=True)
class Launch:
    """The answer of a launch: started now, or found already there (adopted)."""

    run_dir: str
    started: bool
    pid: int | None


async def launch(
    host: XcpHost, run_root: str, run_id: str, xcp_path: str, argv: Sequence[str], operation: str
) -> Launch:
    """Start ``xcp_path argv`` detached in its run directory, or adopt the run found there.

    :raises InvalidInputError: the run directory holds another command (not this run).
    :raises HostBusyError: another sync runs on the host (``operation`` is ``sync``).
    """
    directory = run_dir(run_root, run_id)
    command = [xcp_path, *argv]
    answer = await host.run(launch_script(check_run_root(run_root), run_id, command, operation))
    lines = str(answer.stdout).splitlines()
    if answer.exit_status != 0 or not lines:
        raise NetAppDataOpsError(
            f"{host.target.address}: starting xcp in {directory} failed (exit {answer.exit_status}): "
            f"{str(answer.stderr).strip()[-500:]}"
        )
    first = lines[0].split(" ")
    if first[0] == STARTED:
        pid = int(first[1]) if len(first) > 1 and first[1].isdigit() else None
        if pid is None:
            raise NetAppDataOpsError(
                f"{host.target.address}: xcp in {directory} did not start (no pid written)"
            )
        return Launch(directory, True, pid)
    if first[0] == SYNC_BUSY:
        other = first[1] if len(first) > 1 else "?"
        raise HostBusyError(
            f"another xcp sync (run {other}) is running on {host.target.host}; XCP does not support two "
            "syncs on one host at once: retry when it has ended, or let the task wait (on_sync_busy='wait')",
            run_id=other,
        )
    if first[0] == EXISTS:
        found = lines[1] if len(lines) > 1 else ""
        if found and found != quoted(command):
            raise InvalidInputError(
                f"run directory {directory} on {host.target.host} holds another command ({found}); "
                "give this task another run_root, or remove that directory if it is stale"
            )
        status = (await host.statuses([directory])).get(directory)
        return Launch(directory, False, status.pid if status is not None else None)
    raise NetAppDataOpsError(f"{host.target.address}: unexpected answer starting xcp: {lines[0][:200]!r}")


async def kill(host: XcpHost, run_dir_path: str, grace: float = KILL_GRACE) -> str:
    """TERM the run's process group, KILL it after ``grace`` seconds; return what happened, in words."""
    answer = await host.run(kill_script(run_dir_path, grace), timeout=COMMAND_TIMEOUT + grace)
    outcome = str(answer.stdout).strip() or f"exit {answer.exit_status}"
    words = {
        "terminated": "stopped with TERM",
        "killed": f"killed with KILL after {grace:g} s of TERM",
        "gone": "had already ended",
        "not-started": "had not started",
        "bad-pid": "has no usable pid file; nothing was signalled",
    }
    return f"xcp run {run_dir_path} on {host.target.host} {words.get(outcome, outcome)}"


class RunWatch:
    """One wait's view of its host's poll."""

    def __init__(self, host: XcpHost, subscription: Subscription[str, RunStatus]) -> None:
        self.host = host
        self._subscription = subscription

    async def next(self) -> RunStatus | PollTrouble:
        """Wait for the next poll's status of the run; raise the error that ends the wait."""
        update = await self._subscription.next()
        if update is None:
            return PollTrouble(f"the poll of {self.host.target.address} did not report the run; trying again")
        return update


@contextlib.asynccontextmanager
async def watch_run(target: SshTarget, run_dir_path: str, interval: float) -> AsyncIterator[RunWatch]:
    """Subscribe to the shared poll of the run on the target's host."""
    async with shared_host(target) as host, host.poller.watch(run_dir_path, interval) as subscription:
        yield RunWatch(host, subscription)
