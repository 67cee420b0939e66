"""Shared aiohttp plumbing for REST clients: sessions, TLS, timeouts, retries. No service knowledge.

All triggers of a triggerer share one event loop, so :class:`SessionPool` keeps one
``aiohttp.ClientSession`` per (base URL, TLS settings, event loop) and every client of that endpoint
reuses its connections. SSL contexts are built once per TLS setting: loading a CA costs CPU, and
the context is safe to share. Credentials are sent per request, never stored in a session, and the
sessions keep no cookies, so two users of one endpoint cannot see each other's.

A service client supplies what is transient for it (e.g. ONTAP's "wait and retry" codes);
:class:`HttpEndpoint` retries those, 5xx, 429 and connection failures with the shared
:class:`~netapp_dataops_airflow.clients._retry.RetryPolicy`, honouring ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import functools
import json
import ssl
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.exceptions import ApiError, InvalidInputError

# A TLS failure will not go away by retrying; every other connection-level error might.
CONNECTION_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError)
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=6.0, sock_connect=6.0, sock_read=45.0)


@dataclass(frozen=True)
class TlsSettings:
    """How to verify the server: system CAs, a CA given as PEM text, or (explicitly) not at all.

    :param verify: ``False`` turns verification off; only for throwaway test systems.
    :param ca_pem: the CA certificate(s) to trust instead of the system's, as PEM text (no file
        needed, so a triggerer can verify without writing anything to disk).
    :param check_hostname: ``False`` still verifies the chain but not the name; ONTAP's self-signed
        certificates often lack the cluster's address.
    """

    verify: bool = True
    ca_pem: str | None = field(default=None, repr=False)
    check_hostname: bool = True


@functools.lru_cache(maxsize=64)
def ssl_context(tls: TlsSettings) -> ssl.SSLContext:
    """Build (once per setting) the client SSL context for ``tls``."""
    context = ssl.create_default_context()
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if tls.ca_pem is not None:
        context = ssl.create_default_context(cadata=tls.ca_pem)
    context.check_hostname = tls.check_hostname
    return context


def tls_context(tls: TlsSettings) -> ssl.SSLContext:
    """Return :func:`ssl_context`, turning an unreadable CA into a clear input error."""
    try:
        return ssl_context(tls)
    except (ssl.SSLError, ValueError) as exc:
        raise InvalidInputError(f"the CA certificate is not valid PEM ({exc.__class__.__name__})") from None


@dataclass(frozen=True)
class HttpResult:
    """A complete HTTP answer: status, headers and the body read in full."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @cached_property
    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body.strip() else None
        except ValueError:
            return None

    @property
    def text(self) -> str:
        """The body as text (undecodable bytes replaced), for error messages."""
        return self.body.decode("utf-8", "replace")


class TransientHttpError(Exception):
    """An answer worth retrying; carries it so the last one can be reported after the retries."""

    def __init__(self, result: HttpResult) -> None:
        super().__init__(f"HTTP {result.status}")
        self.result = result


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a ``Retry-After`` header: delta seconds or an HTTP date; ``None`` if absent or bad."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _retry_after(exc: BaseException) -> float | None:
    if isinstance(exc, TransientHttpError):
        return retry_after_seconds(exc.result.headers.get("Retry-After"))
    return None


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, aiohttp.ClientSSLError):
        return False
    return isinstance(exc, (TransientHttpError, *CONNECTION_ERRORS))


def basic_auth(username: str, password: str) -> dict[str, str]:
    """Return the ``Authorization`` header for HTTP basic auth (UTF-8, as ONTAP accepts)."""
    if ":" in username:
        raise InvalidInputError("a user name for basic auth cannot contain ':'")
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def default_transient_status(result: HttpResult) -> bool:
    """Whether an answer is transient by its status alone: 429 or any 5xx."""
    return result.status == 429 or result.status >= 500


class SessionPool:
    """One ``aiohttp.ClientSession`` per (base URL, TLS settings, event loop)."""

    def __init__(self) -> None:
        self._sessions: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[str, TlsSettings], aiohttp.ClientSession]
        ] = weakref.WeakKeyDictionary()

    def session(self, base_url: str, tls: TlsSettings) -> aiohttp.ClientSession:
        """Return the running loop's session for the endpoint, opening it on first use."""
        sessions = self._sessions.setdefault(asyncio.get_running_loop(), {})
        key = (base_url, tls)
        session = sessions.get(key)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(ssl=tls_context(tls))
            session = aiohttp.ClientSession(
                base_url, connector=connector, cookie_jar=aiohttp.DummyCookieJar()
            )
            sessions[key] = session
        return session

    async def close(self) -> None:
        """Close every session of the running loop (call before the loop ends)."""
        sessions = self._sessions.pop(asyncio.get_running_loop(), {})
        for session in sessions.values():
            await session.close()


SESSIONS = SessionPool()


@dataclass(frozen=True)
class HttpEndpoint:
    """A REST endpoint: base URL, TLS, credentials, timeouts and what counts as transient.

    :param auth_headers: sent with every request (e.g. :func:`basic_auth`); never shown in a repr.

    :param is_transient_result: which complete answers to retry (default: 429 and 5xx).
    """

    base_url: str
    tls: TlsSettings = field(default_factory=TlsSettings)
    auth_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    is_transient_result: Callable[[HttpResult], bool] = default_transient_status
    pool: SessionPool = field(default=SESSIONS, repr=False)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResult:
        """Send a request, retrying transient failures; return the final answer, whatever its status.

        :raises ApiError: when no answer arrived (connection or TLS failure), after any retries.
        """
        session = self.pool.session(self.base_url, self.tls)
        try:
            async for attempt in self.retry.retrying(_is_transient, _retry_after):
                with attempt:
                    async with session.request(
                        method,
                        path,
                        params=params,
                        json=body,
                        headers={**self.auth_headers, **(headers or {})},
                        timeout=self.timeout,
                    ) as response:
                        result = HttpResult(response.status, response.headers, await response.read())
                    if self.is_transient_result(result):
                        raise TransientHttpError(result)
        except TransientHttpError as exc:
            return exc.result
        except aiohttp.ClientSSLError as exc:
            raise ApiError(
                f"TLS verification of {self.base_url} failed ({_reason(exc)}); give the server's CA "
                "certificate, or turn verification off explicitly for a test system",
                reason="tls",
            ) from None
        except CONNECTION_ERRORS as exc:
            raise ApiError(
                f"cannot reach {self.base_url} ({_reason(exc)}) after {self.retry.attempts} attempts",
                reason="connection",
            ) from None
        return result


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return str(exc.certificate_error)
    return f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
