"""Run an aiohttp application on loopback, in the caller's event loop or in a background thread.

Synchronous clients (kubectl, the official ``kubernetes`` client, ``netapp-ontap``) need the
simulator in another thread; async tests can run it in their own loop. Both paths share
:func:`start_site`, so they serve exactly the same way, and :class:`LoopbackSimulator` gives every
simulator the same facade over them.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from aiohttp import web

from netapp_dataops_airflow.simulators._tls import CertificateBundle

AppFactory = Callable[[], web.Application]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Connections the site has served. Stopping aborts them: clients keep keep-alive connections open,
# and a TLS connection left to close gracefully outlives the loop and warns "unclosed transport".
_TRANSPORTS: web.AppKey[weakref.WeakSet[asyncio.Transport]] = web.AppKey("served_transports")


@web.middleware
async def _track_transport(request: web.Request, handler: Handler) -> web.StreamResponse:
    if isinstance(request.transport, asyncio.Transport):
        request.app[_TRANSPORTS].add(request.transport)
    return await handler(request)


@dataclass(frozen=True)
class ServedSite:
    """A running site: its runner (to stop it) and the address it is bound to."""

    runner: web.AppRunner
    host: str
    port: int
    tls: bool

    @property
    def url(self) -> str:
        """The base URL clients connect to."""
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    async def stop(self) -> None:
        """Drop every served connection and stop serving."""
        served: weakref.WeakSet[asyncio.Transport] = self.runner.app[_TRANSPORTS]
        for transport in list(served):
            transport.abort()
        await self.runner.cleanup()


async def start_site(
    app: web.Application,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
) -> ServedSite:
    """Bind ``app`` to ``host:port`` (0 picks a free port) and start serving it."""
    app[_TRANSPORTS] = weakref.WeakSet()
    app.middlewares.insert(0, _track_transport)
    # No access log: a watch-heavy test would log thousands of lines; shutdown_timeout is short
    # because open watch streams would otherwise hold a clean stop for a minute.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context, reuse_address=True)
    await site.start()
    server = site._server  # aiohttp exposes the bound port only through the asyncio server
    assert isinstance(server, asyncio.Server)
    bound_port = server.sockets[0].getsockname()[1]
    return ServedSite(runner=runner, host=host, port=bound_port, tls=ssl_context is not None)


class ThreadedServer:
    """Serve an application from a daemon thread with its own event loop.

    Use as a context manager, or call :meth:`start` and :meth:`stop`::

        with ThreadedServer(make_app) as server:
            requests.get(server.url + "/version")
    """

    def __init__(
        self,
        app_factory: AppFactory,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._app_factory = app_factory
        self._host = host
        self._port = port
        self._ssl_context = ssl_context
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._site: ServedSite | None = None
        self.app: web.Application | None = None

    @property
    def url(self) -> str:
        """The base URL of the running server."""
        if self._site is None:
            raise RuntimeError("the server is not running; call start() first")
        return self._site.url

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the server runs in (to schedule work on the simulator's side)."""
        if self._loop is None:
            raise RuntimeError("the server is not running; call start() first")
        return self._loop

    def start(self) -> ThreadedServer:
        """Start serving; return once the port is bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self.app = self._app_factory()
                self._site = loop.run_until_complete(
                    start_site(self.app, host=self._host, port=self._port, ssl_context=self._ssl_context)
                )
            except BaseException as exc:  # reported to the starting thread below
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._site.stop())
            loop.close()

        self._thread = threading.Thread(target=serve, name="simulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = None
        self._thread = None
        self._site = None

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


_Simulator = TypeVar("_Simulator", bound="LoopbackSimulator")


class LoopbackSimulator:
    """The facade every simulator shares: serve :meth:`make_app` from a thread or the running loop.

    Synchronous use serves from a background thread::

        with SomeSimulator() as sim:
            requests.get(sim.url + "/...")

    Asynchronous use serves in the running loop::

        async with SomeSimulator() as sim:
            ...
    """

    def __init__(self, *, host: str, port: int, certificates: CertificateBundle | None) -> None:
        self._host = host
        self._port = port
        self._certificates = certificates
        self._threaded: ThreadedServer | None = None
        self._site: ServedSite | None = None

    def make_app(self) -> web.Application:
        """Build the application to serve (a new one per start)."""
        raise NotImplementedError

    def _stopped(self) -> None:
        """Release what the facade made for clients (files, ...) once serving has stopped."""

    @property
    def url(self) -> str:
        """The base URL, e.g. ``https://127.0.0.1:43211``."""
        if self._site is not None:
            return self._site.url
        if self._threaded is not None:
            return self._threaded.url
        raise RuntimeError("the simulator is not running; use it as a context manager or call start()")

    @property
    def port(self) -> int:
        """The bound port."""
        port = urlsplit(self.url).port
        assert port is not None
        return port

    def _ssl_context(self) -> ssl.SSLContext | None:
        return self._certificates.server_context() if self._certificates else None

    def start(self: _Simulator) -> _Simulator:
        """Serve from a background thread; return once the port is bound."""
        server = ThreadedServer(
            self.make_app, host=self._host, port=self._port, ssl_context=self._ssl_context()
        )
        self._threaded = server.start()
        return self

    def stop(self) -> None:
        """Stop the background server."""
        if self._threaded is not None:
            self._threaded.stop()
            self._threaded = None
        self._stopped()

    async def start_async(self: _Simulator) -> _Simulator:
        """Serve from the running event loop."""
        self._site = await start_site(
            self.make_app(), host=self._host, port=self._port, ssl_context=self._ssl_context()
        )
        return self

    async def stop_async(self) -> None:
        """Stop serving from the running event loop."""
        if self._site is not None:
            await self._site.stop()
            self._site = None
        self._stopped()

    def __enter__(self: _Simulator) -> _Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self: _Simulator) -> _Simulator:
        return await self.start_async()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop_async()
