"""The library's one error hierarchy.

Messages say what was wrong and what to do about it, and never contain a secret: they end up in
task logs, XComs and the Airflow UI.
"""

from __future__ import annotations


class NetAppDataOpsError(Exception):
    """Base class of every error this library raises."""


class InvalidInputError(NetAppDataOpsError, ValueError):
    """A parameter or connection field is malformed; nothing was changed remotely."""


class ApiError(NetAppDataOpsError):
    """A remote API answered with an error.

    :param status: the HTTP status code, or ``None`` when no response arrived.
    :param reason: the machine-readable reason or error code the API gave, if any.
    """

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class OperationFailedError(NetAppDataOpsError):
    """The remote operation ran and ended in failure."""


class DeadlineExceededError(NetAppDataOpsError):
    """The operation did not finish before its deadline."""
