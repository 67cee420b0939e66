"""Cloud Sync and Auth0 errors as the simulator's models raise them and its app renders them.

The Cloud Sync API answers failures with ``{"code": <http status>, "message": "..."}``; the Auth0
token endpoint with ``{"error": "<code>", "error_description": "..."}``. Messages NetApp clients are
known to see are verbatim; the others are Cloud-Sync-like.
"""

from __future__ import annotations

from typing import Any

SYNC_RUNNING = "A sync action is running right now, can not run another action"
TOKEN_EXPIRED = "TokenExpiredError: jwt expired"
NO_TOKEN = "UnauthorizedError: No authorization token was found"
INVALID_TOKEN = "UnauthorizedError: invalid token"


class CloudSyncApiError(Exception):
    """A failure the simulated API reports with its ``{code, message}`` envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def envelope(self) -> dict[str, Any]:
        """Return the JSON body the API sends for this error."""
        return {"code": self.status, "message": self.message}


class TokenError(Exception):
    """A failure of the token endpoint, in Auth0's ``{error, error_description}`` shape."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def envelope(self) -> dict[str, Any]:
        """Return the JSON body Auth0 sends for this error."""
        return {"error": self.error, "error_description": self.description}


def invalid_grant(description: str) -> TokenError:
    """Auth0's answer to an unknown, revoked or malformed refresh token or a wrong password."""
    return TokenError(403, "invalid_grant", description)
