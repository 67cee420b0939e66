"""An embedded SSH server (asyncssh) that runs the commands it receives in a real shell.

For the demo and users' DAG tests: an XCP host needs an SSH server, and neither should need a
system sshd. Each exec request runs ``/bin/sh -c <command>`` with the server's environment (a
``PATH`` holding the simulated ``xcp``, its ``XCP_SIM_CONFIG``) in the user's home directory;
detached runs started by the command outlive the SSH connection as they would under sshd.
Interactive shells, port forwarding and SFTP are refused. The server counts connections and
commands, so tests and benchmarks can see the load from the host's side.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import asyncssh


class _Session(asyncssh.SSHServer):
    def __init__(self, owner: EmbeddedSshServer) -> None:
        self._owner = owner

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._owner.connections += 1
        self._owner.open_connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner.open_connections -= 1

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return self._owner.password is not None

    def validate_password(self, username: str, password: str) -> bool:
        return username == self._owner.user and password == self._owner.password

    def public_key_auth_supported(self) -> bool:
        return self._owner.authorized_key is not None

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        wanted = self._owner.authorized_key
        return (
            username == self._owner.user
            and wanted is not None
            and key.public_data == asyncssh.import_public_key(wanted).public_data
        )


class EmbeddedSshServer:
    """An SSH server on loopback for one user, running commands with ``/bin/sh -c``.

    :param user: the one user name accepted.
    :param authorized_key: the user's public key (OpenSSH line), or ``None``.
    :param password: the user's password, or ``None``.
    :param home: the commands' working directory.
    :param environment: added to the commands' environment (``PATH``, ``XCP_SIM_CONFIG``).
    """

    def __init__(
        self,
        *,
        user: str,
        home: Path,
        authorized_key: str | None = None,
        password: str | None = None,
        environment: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.user = user
        self.home = home
        self.authorized_key = authorized_key
        self.password = password
        self.environment = dict(environment or {})
        self.host = host
        self.port = port
        self.server_key = asyncssh.generate_private_key("ssh-ed25519")
        self.connections = 0
        self.open_connections = 0
        self.commands = 0
        self._server: asyncssh.SSHAcceptor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def host_key(self) -> str:
        """The server's public host key, ``ssh-ed25519 AAAA...``, for the connection's ``host_key``."""
        return bytes(self.server_key.export_public_key()).decode().strip()

    async def _run(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        self.commands += 1
        command = process.command
        if command is None:
            process.stderr.write(b"this server runs commands only, no interactive shell\n")
            process.exit(1)
            return
        shell = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=self.home,
            env={**os.environ, "HOME": str(self.home), "USER": self.user, **self.environment},
        )
        out, err = await shell.communicate()
        process.stdout.write(out)
        process.stderr.write(err)
        process.exit(shell.returncode if shell.returncode is not None and shell.returncode >= 0 else 255)

    async def start(self) -> None:
        """Listen (in the running loop); :attr:`port` is the bound port afterwards."""
        self._server = await asyncssh.listen(
            self.host,
            self.port,
            server_factory=lambda: _Session(self),
            server_host_keys=[self.server_key],
            process_factory=self._run,
            encoding=None,
            allow_pty=False,
            agent_forwarding=False,
            x11_forwarding=False,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def start_in_thread(self) -> EmbeddedSshServer:
        """Serve from a daemon thread with its own loop (for synchronous callers, ``dag.test()``)."""
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=serve, name="embedded-sshd", daemon=True)
        self._thread.start()
        started.wait(30)
        if failure:
            raise failure[0]
        return self

    def stop_thread(self) -> None:
        """Stop a server started with :meth:`start_in_thread`."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._loop = self._thread = None

    def __enter__(self) -> EmbeddedSshServer:
        return self.start_in_thread()

    def __exit__(self, *exc: Any) -> None:
        with contextlib.suppress(Exception):
            self.stop_thread()
