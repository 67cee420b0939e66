"""The bearer tokens the simulated API server accepts: the one it started with, rotations, revocations.

A real cluster's tokens change under a running client: a service-account token is rotated, a user's
token revoked. Tests make that happen here. As on a real API server, a request is authenticated
when it starts: a revoked token's open watch keeps streaming until it ends.

The simulator's own tokens authenticate as the cluster admin (:data:`~.rbac.ADMIN`); tokens minted
for a ServiceAccount (TokenRequest) authenticate as that account, whose requests RBAC then decides.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from .rbac import ADMIN, User


@dataclass(frozen=True)
class ServiceAccountToken:
    """A token minted for a ServiceAccount: whose (and which incarnation), and until when."""

    user: User
    uid: str
    expires: float  # time.time()


class Tokens:
    """The accepted bearer tokens (thread-safe). Without any, requests need no credentials."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._initial: str | None = None
        self._required = False
        self._accepted: set[str] = set()
        self._service_accounts: dict[str, ServiceAccountToken] = {}

    def start_with(self, token: str) -> None:
        """Require ``token`` from now on and after every :meth:`reset` (the simulator's own)."""
        with self._lock:
            self._initial = token
            self._required = True
            self._accepted = {token}

    def reset(self) -> None:
        """Accept the starting token again, and only it."""
        with self._lock:
            self._required = self._initial is not None
            self._accepted = {self._initial} if self._initial is not None else set()
            self._service_accounts.clear()

    def issue(self, token: str | None = None) -> str:
        """Accept another token (a random one unless given) and return it: a rotation's new token.

        From then on credentials are required, even if the simulator started without a token.
        """
        token = token or secrets.token_urlsafe(24)
        with self._lock:
            self._required = True
            self._accepted.add(token)
        return token

    def revoke(self, token: str) -> None:
        """Answer 401 to new requests that bring ``token`` (open watches go on until they end)."""
        with self._lock:
            self._accepted.discard(token)
            self._service_accounts.pop(token, None)

    def issue_for_service_account(self, namespace: str, name: str, uid: str, seconds: int) -> str:
        """Mint a token for ServiceAccount ``namespace/name`` (incarnation ``uid``), valid ``seconds``.

        It does not make credentials required: without its own token the simulator stays open to all.
        """
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._service_accounts[token] = ServiceAccountToken(
                User.service_account(namespace, name), uid, time.time() + seconds
            )
        return token

    def identify(self, authorization: str | None) -> tuple[User, str | None] | None:
        """Return who sends this ``Authorization`` header (None: unauthenticated).

        For a ServiceAccount's token, the account's uid comes along: the caller checks it still exists.
        """
        given = (
            authorization.removeprefix("Bearer ").encode()
            if authorization is not None and authorization.startswith("Bearer ")
            else None
        )
        with self._lock:
            required = self._required
            accepted = set(self._accepted)
            minted = list(self._service_accounts.items())
        if given is not None:
            # Compare every token in constant time: the simulator also serves over TLS.
            for token, account in minted:
                if secrets.compare_digest(given, token.encode()):
                    return (account.user, account.uid) if time.time() < account.expires else None
        if not required:
            return ADMIN, None
        if given is not None and any(secrets.compare_digest(given, token.encode()) for token in accepted):
            return ADMIN, None
        return None

    def allows(self, authorization: str | None) -> bool:
        """Whether a request with this ``Authorization`` header (``None``: none) is authenticated."""
        return self.identify(authorization) is not None
