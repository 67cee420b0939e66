"""Cloud Sync access tokens: exchanged from a refresh token, cached, renewed before they expire.

Cloud Sync (BlueXP copy and sync) authenticates with Auth0: a long-lived refresh token (or a user
and password) is exchanged at the token endpoint for an access token that expires after
``expires_in`` seconds. Every client of one refresh token in an event loop shares one
:class:`AccessTokens` through the loop registry, keyed by the token endpoint and a hash of the
refresh token (never the token itself), so a thousand waits cost one exchange, not a thousand.

- A token is renewed :func:`renewal_margin` seconds before it expires, so a request never leaves
  with a token about to lapse.
- A 401 from the API renews once (:meth:`AccessTokens.renew`), but only if the token that failed
  is still the current one: a thousand waits refused at once cause one exchange.
- A refused refresh token (Auth0's ``invalid_grant``) is an error that says where to get a new one;
  429 and 5xx answers are retried by the shared policy.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from netapp_dataops_airflow.clients._http import HttpEndpoint, HttpResult
from netapp_dataops_airflow.clients._shared import registry
from netapp_dataops_airflow.exceptions import CloudSyncError, InvalidInputError

DEFAULT_TOKEN_URL = "https://netapp-cloud-account.auth0.com/oauth/token"
#: The client id NetApp's own clients send with the refresh-token grant.
REFRESH_CLIENT_ID = "Mu0V1ywgYteI6w1MbD15fKfVIUrNXGWC"
REFRESH_TOKEN_PAGE = "https://services.cloud.netapp.com/refresh-token"
#: Seconds a shared token holder outlives its last user, so back-to-back waits keep the token.
TOKENS_IDLE_GRACE = 300.0


def renewal_margin(lifetime: float) -> float:
    """Seconds before expiry at which a token is renewed: a tenth of its life, at most a minute."""
    return min(60.0, lifetime / 10)


def split_url(url: str, what: str) -> tuple[str, str]:
    """Split ``https://host[:port]/path`` into origin and path, or raise naming ``what``."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise InvalidInputError(f"the {what} {url!r} is not a URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise InvalidInputError(f"the {what} {url!r} must look like https://host[:port]/path")
    return f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")


@dataclass(frozen=True)
class TokenSource:
    """Where access tokens come from: the token endpoint and the refresh token (never in a repr)."""

    endpoint: HttpEndpoint
    path: str
    refresh_token: str = field(repr=False)

    def key(self) -> Hashable:
        """Return the registry key: endpoint and a hash of the refresh token, no secret."""
        digest = hashlib.sha256(self.refresh_token.encode()).hexdigest()
        return ("cloud sync tokens", self.endpoint.base_url, self.endpoint.tls, digest)


@dataclass
class _Token:
    value: str = field(repr=False)
    renew_at: float


class AccessTokens:
    """The current access token of one refresh token in one event loop; share it with :func:`tokens`."""

    def __init__(self, source: TokenSource) -> None:
        self._source = source
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        self.exchanges = 0

    def __repr__(self) -> str:
        return f"AccessTokens({self._source.endpoint.base_url!r})"

    async def get(self) -> str:
        """Return a token that is not about to expire, exchanging the refresh token if needed."""
        token = self._token
        if token is not None and time.monotonic() < token.renew_at:
            return token.value
        async with self._lock:
            token = self._token
            if token is None or time.monotonic() >= token.renew_at:
                token = self._token = await self._exchange()
            return token.value

    async def renew(self, refused: str) -> str:
        """Return a new token after ``refused`` got a 401 (once, however many callers saw the 401)."""
        async with self._lock:
            if self._token is None or self._token.value == refused:
                self._token = await self._exchange()
            return self._token.value

    async def _exchange(self) -> _Token:
        body = {
            "grant_type": "refresh_token",
            "refresh_token": self._source.refresh_token,
            "client_id": REFRESH_CLIENT_ID,
        }
        self.exchanges += 1
        result = await self._source.endpoint.request("POST", self._source.path, body=body)
        answer = result.json if isinstance(result.json, dict) else {}
        value, lifetime = answer.get("access_token"), answer.get("expires_in")
        if result.status != 200 or not isinstance(value, str) or not value:
            raise _refused(result, answer, self._source.endpoint.base_url)
        seconds = float(lifetime) if isinstance(lifetime, (int, float)) and lifetime > 0 else 3600.0
        return _Token(value, time.monotonic() + seconds - renewal_margin(seconds))

    async def close(self) -> None:
        """Forget the token."""
        self._token = None


def _refused(result: HttpResult, answer: dict[str, Any], where: str) -> CloudSyncError:
    error = answer.get("error")
    description = answer.get("error_description") or answer.get("message")
    said = f"{error}: {description}" if error and description else str(error or description or "")
    if not said:
        said = repr(result.text.strip()[:80]) if result.text.strip() else "no details"
    if result.status == 200:
        return CloudSyncError(
            f"the token endpoint {where} answered without an access token: {said}", status=502
        )
    hint = ""
    if error == "invalid_grant" or result.status in (401, 403):
        hint = (
            f"; the refresh token is unknown, revoked or mistyped: create one at {REFRESH_TOKEN_PAGE} "
            "and put it in the connection's password field"
        )
    # A refused refresh token is a refused credential: 401, whatever status Auth0 chose.
    status = 401 if result.status in (400, 401, 403) else result.status
    return CloudSyncError(
        f"exchanging the refresh token at {where} failed (HTTP {result.status}): {said}{hint}",
        status=status,
        reason=str(error) if error else None,
    )


@asynccontextmanager
async def tokens(source: TokenSource) -> AsyncIterator[AccessTokens]:
    """Use the event loop's shared :class:`AccessTokens` of ``source`` for the length of a block."""
    shared = await registry()

    async def make() -> AccessTokens:
        return AccessTokens(source)

    async with shared.use(source.key(), make, idle_grace=TOKENS_IDLE_GRACE) as holder:
        yield holder
