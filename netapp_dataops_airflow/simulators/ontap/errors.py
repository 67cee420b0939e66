"""ONTAP errors as the simulator's models raise them and its responses render them.

ONTAP answers every failure with ``{"error": {"message", "code", "target"?}}``; ``code`` is a
string on the wire. The codes below are the ones NetApp documents for the endpoints simulated here
(ONTAP's REST error documentation); messages are ONTAP-like, not verbatim.
"""

from __future__ import annotations

from typing import Any

# Generic codes.
ENTRY_NOT_FOUND = "4"
INVALID_VALUE = "2"
NOT_AUTHORIZED = "6"
API_NOT_FOUND = "3"
UNEXPECTED_ARGUMENT = "262179"
INTERNAL_ERROR = "8"

# SnapMirror codes.
INITIALIZE_FAILED = "13303812"
UPDATE_FAILED = "13303844"
INVALID_ARGUMENTS = "13303847"
SYNC_ABORT_NOT_ALLOWED = "13303848"
TRANSFER_STATE_INVALID = "13303849"
SYNC_THROTTLE_NOT_SUPPORTED = "13304040"
TRANSFER_ABORTED = 6620046  # error_info.code is an integer in transfer records

# "Wait a few minutes and retry": ONTAP says these are transient.
WAIT_AND_RETRY_CODES = ("6619720", "13303816", "13304159")
WAIT_AND_RETRY_MESSAGES = {
    "6619720": "Relationship information updated and being propagated. Wait a few minutes and retry.",
    "13303816": "Could not retrieve state or status values for the relationship. Wait and retry.",
    "13304159": "Could not retrieve state or status values for the relationship. Wait and retry.",
}


class OntapApiError(Exception):
    """A failure the simulated cluster reports with the ONTAP error envelope."""

    def __init__(self, status: int, code: str, message: str, target: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target

    def envelope(self) -> dict[str, Any]:
        """Return the JSON body ONTAP sends for this error."""
        error: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.target is not None:
            error["target"] = self.target
        return {"error": error}


def not_found(target: str = "uuid") -> OntapApiError:
    """Return the generic 404 for an unknown object identifier."""
    return OntapApiError(404, ENTRY_NOT_FOUND, "entry doesn't exist", target)


def unexpected_argument(name: str) -> OntapApiError:
    """Reject an unknown query parameter or body field."""
    return OntapApiError(400, UNEXPECTED_ARGUMENT, f'Unexpected argument "{name}".', name)


def invalid_value(name: str, detail: str) -> OntapApiError:
    """Reject a field or parameter whose value ONTAP would not accept."""
    return OntapApiError(400, INVALID_VALUE, f'Invalid value for field "{name}": {detail}', name)
