"""Shared aiohttp plumbing for REST clients: sessions, TLS, timeouts, what is transient. No service knowledge.

All triggers of a triggerer share one event loop, so every client of an endpoint shares one
``aiohttp.ClientSession`` per (base URL, TLS settings) and reuses its connections. The sessions live
in the loop registry (:mod:`._shared`): each request holds one for its length, an idle session is
closed :data:`SESSION_IDLE_GRACE` seconds after its last request, and whatever is left is closed
when the loop ends, so nobody closes a session by hand. SSL contexts are built once per TLS
setting: loading a CA costs CPU, and the context is safe to share. Credentials are sent per
request, never stored in a session, and the sessions keep no cookies, so two users of one endpoint
cannot see each other's.

:class:`TransientFailures` is how every HTTP-based client (this module's :class:`HttpEndpoint`,
the Kubernetes client) says what it retries: answers it calls transient (by default 429 and 5xx),
and failures without an answer (:data:`CONNECTION_ERRORS`, TLS excepted), pausing as long as a
``Retry-After`` header asks. The pacing is the shared
:class:`~netapp_dataops_airflow.clients._retry.RetryPolicy`.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import functools
import json
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, Protocol, TypeVar

import aiohttp
from multidict import CIMultiDictProxy

from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.clients._shared import registry
from netapp_dataops_airflow.exceptions import ApiError, InvalidInputError

#: No (complete) answer arrived: refused, reset, cut short or timed out. TLS failures are among
#: them (``aiohttp.ClientSSLError``), but only they are not worth retrying.
# asyncio.TimeoutError is the builtin TimeoutError from Python 3.11 on; on 3.10 both can occur.
CONNECTION_ERRORS = (
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
    asyncio.TimeoutError,
    TimeoutError,
)
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=6.0, sock_connect=6.0, sock_read=45.0)
#: Seconds an unused session (and its pooled connections) is kept for the next request.
SESSION_IDLE_GRACE = 45.0


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
    """Build (once per setting) the client SSL context for ``tls``.

    A given CA replaces the system's bundle, which is then never loaded (that takes tens of
    milliseconds, in the triggerer's loop).
    """
    if tls.verify and tls.ca_pem is not None:
        context = ssl.create_default_context(cadata=tls.ca_pem)
    else:
        context = ssl.create_default_context()
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
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


class Answer(Protocol):
    """What an error that carries an HTTP answer tells about it."""

    @property
    def status(self) -> int | None:
        """The HTTP status."""

    @property
    def headers(self) -> Mapping[str, str] | None:
        """The response headers (``Retry-After`` among them)."""


A = TypeVar("A", bound=Answer)


def default_transient_status(answer: Answer) -> bool:
    """Whether an answer is transient by its status alone: 429 or any 5xx."""
    status = answer.status or 0
    return status == 429 or status >= 500


def is_connection_failure(exc: BaseException) -> bool:
    """Whether no answer arrived for a reason that may pass (anything but a failed TLS check).

    Also true of the :class:`ApiError` a client raises once its own retries of such a failure ran
    out (``reason="connection"``): a later poll may still get through.
    """
    if isinstance(exc, ApiError):
        return exc.status is None and exc.reason == "connection"
    return isinstance(exc, CONNECTION_ERRORS) and not isinstance(exc, aiohttp.ClientSSLError)


@dataclass(frozen=True)
class TransientFailures(Generic[A]):
    """Which failures of a client are worth retrying, and how long the server asked to pause.

    Use the instance as the ``is_transient`` predicate and :meth:`retry_after` as the pause of
    :meth:`~netapp_dataops_airflow.clients._retry.RetryPolicy.retrying`.

    :param answer_of: the answer an error carries (status and headers), or ``None`` if it carries none.
    :param is_transient_answer: which answers to retry (default: 429 and 5xx).
    """

    answer_of: Callable[[BaseException], A | None]
    is_transient_answer: Callable[[A], bool] = default_transient_status

    def __call__(self, exc: BaseException) -> bool:
        """Whether ``exc`` may pass if the request is sent again unchanged."""
        answer = self.answer_of(exc)
        if answer is not None:
            return self.is_transient_answer(answer)
        return is_connection_failure(exc)

    def retry_after(self, exc: BaseException) -> float | None:
        """Seconds the answer's ``Retry-After`` asks to wait; ``None`` if it says nothing."""
        answer = self.answer_of(exc)
        headers = answer.headers if answer is not None else None
        return retry_after_seconds(headers.get("Retry-After")) if headers else None


def basic_auth(username: str, password: str) -> dict[str, str]:
    """Return the ``Authorization`` header for HTTP basic auth (UTF-8, as ONTAP accepts)."""
    if ":" in username:
        raise InvalidInputError("a user name for basic auth cannot contain ':'")
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


async def open_session(base_url: str, tls: TlsSettings) -> aiohttp.ClientSession:
    """Open a session for an endpoint: its own connection pool, TLS as given, no cookies."""
    connector = aiohttp.TCPConnector(ssl=tls_context(tls))
    return aiohttp.ClientSession(base_url, connector=connector, cookie_jar=aiohttp.DummyCookieJar())


def session_key(base_url: str, tls: TlsSettings) -> tuple[str, str, TlsSettings]:
    """Return the registry key of the loop's session for an endpoint."""
    return ("http", base_url, tls)


def _result_of(exc: BaseException) -> HttpResult | None:
    return exc.result if isinstance(exc, TransientHttpError) else None


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
        shared = await registry()
        async with shared.use(
            session_key(self.base_url, self.tls),
            functools.partial(open_session, self.base_url, self.tls),
            idle_grace=SESSION_IDLE_GRACE,
        ) as session:
            return await self._send(session, method, path, params, body, headers)

    async def _send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Any,
        headers: Mapping[str, str] | None,
    ) -> HttpResult:
        transient = TransientFailures(_result_of, self.is_transient_result)
        try:
            async for attempt in self.retry.retrying(transient, transient.retry_after):
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
