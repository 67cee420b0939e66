"""The bearer tokens the simulated API server accepts: the one it started with, rotations, revocations.

A real cluster's tokens change under a running client: a service-account token is rotated, a user's
token revoked. Tests make that happen here. As on a real API server, a request is authenticated
when it starts: a revoked token's open watch keeps streaming until it ends.
"""

from __future__ import annotations

import secrets
import threading


class Tokens:
    """The accepted bearer tokens (thread-safe). Without any, requests need no credentials."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._initial: str | None = None
        self._required = False
        self._accepted: set[str] = set()

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

    def allows(self, authorization: str | None) -> bool:
        """Whether a request with this ``Authorization`` header (``None``: none) is authenticated."""
        with self._lock:
            if not self._required:
                return True
            accepted = set(self._accepted)
        if authorization is None or not authorization.startswith("Bearer "):
            return False
        given = authorization.removeprefix("Bearer ").encode()
        # Compare every accepted token in constant time: the simulator also serves over TLS.
        return any(secrets.compare_digest(given, token.encode()) for token in accepted)
