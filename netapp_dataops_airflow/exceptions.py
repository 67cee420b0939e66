"""The library's one error hierarchy.

Messages say what was wrong and what to do about it, and never contain a secret: they end up in
task logs, XComs and the Airflow UI.
"""

from __future__ import annotations

from collections.abc import Mapping


class NetAppDataOpsError(Exception):
    """Base class of every error this library raises."""


class InvalidInputError(NetAppDataOpsError, ValueError):
    """A parameter or connection field is malformed; nothing was changed remotely."""


class ApiError(NetAppDataOpsError):
    """A remote API answered with an error.

    :param status: the HTTP status code, or ``None`` when no response arrived.
    :param reason: the machine-readable reason or error code the API gave, if any.
    :param headers: the answer's headers, if it came (``Retry-After`` tells when to ask again).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.headers = headers

    @property
    def refusal(self) -> str | None:
        """How the credentials or permissions were refused (``"HTTP 401"``), or ``None`` if they were not.

        A refusal is worth one more try after reading the connection again: it may have been rotated.
        """
        return f"HTTP {self.status}" if self.status in (401, 403) else None


class OntapError(ApiError):
    """ONTAP answered with an error; ``code`` is ONTAP's error code (also ``reason``).

    :param target: the field or object ONTAP blamed, if it said.
    """

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None, target: str | None = None
    ) -> None:
        super().__init__(message, status=status, reason=code)
        self.code = code
        self.target = target


class TransferInProgressError(OntapError):
    """ONTAP refused to start a SnapMirror transfer because one already runs on the relationship.

    Not a failure of the running transfer: read the relationship's ``transfer.uuid`` and adopt it.
    """


class OperationFailedError(NetAppDataOpsError):
    """The remote operation ran and ended in failure."""


class DeadlineExceededError(NetAppDataOpsError):
    """The operation did not finish before its deadline."""


class HostBusyError(NetAppDataOpsError):
    """The host runs an operation that excludes this one (XCP runs one ``sync`` per host at a time).

    :param run_id: the run that holds the host.
    """

    def __init__(self, message: str, *, run_id: str) -> None:
        super().__init__(message)
        self.run_id = run_id


class SshError(ApiError):
    """An SSH connection or command failed; ``reason`` is ``"refused"`` when the credentials were."""

    @property
    def refusal(self) -> str | None:
        """``"SSH authentication"`` when the server refused the credentials, else ``None``."""
        return "SSH authentication" if self.reason == "refused" else None


class CloudSyncError(ApiError):
    """The Cloud Sync API (or its token endpoint) answered with an error; ``status`` is the HTTP status."""


class SyncInProgressError(CloudSyncError):
    """Cloud Sync refused to start a sync because one already runs on the relationship.

    Not a failure of the running sync: wait for it (or adopt it), then start the next one.
    """
