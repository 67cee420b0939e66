"""``metav1.Status`` errors exactly as kube-apiserver words them (apimachinery ``errors.go``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .kinds import Kind

JSON = dict[str, Any]

# How field.Error.Error() names each reason in messages.
_CAUSE_TYPES = {
    "FieldValueInvalid": "Invalid value",
    "FieldValueRequired": "Required value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueTooLong": "Too long",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueForbidden": "Forbidden",
}


@dataclass(frozen=True)
class Cause:
    """One field error of a 422 answer (``field.Error``)."""

    reason: str  # FieldValueInvalid, FieldValueRequired, ...
    field: str
    detail: str
    value: object = None

    @property
    def message(self) -> str:
        """The text after ``<field>: `` in the Status message."""
        kind = _CAUSE_TYPES[self.reason]
        if self.reason in ("FieldValueInvalid", "FieldValueNotSupported", "FieldValueDuplicate"):
            return f"{kind}: {_go_value(self.value)}: {self.detail}"
        return f"{kind}: {self.detail}" if self.detail else kind


class GoLiteral(str):
    """A value field.Error prints verbatim (e.g. ``0x0`` for an unset uint64)."""

    __slots__ = ()


def _go_value(value: object) -> str:
    # field.Error quotes strings and prints other values as Go would.
    if isinstance(value, GoLiteral):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    return str(value)


@dataclass
class ApiError(Exception):
    """An error answer: HTTP code, Status reason, message and optional details."""

    code: int
    reason: str
    message: str
    details: JSON | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def status(self) -> JSON:
        """Return the ``metav1.Status`` object."""
        body: JSON = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(kind: Kind, name: str | None, kind_field: str | None = None) -> JSON:
    details: JSON = {}
    if name:
        details["name"] = name
    if kind.group:
        details["group"] = kind.group
    details["kind"] = kind_field or kind.plural
    return details


def not_found(kind: Kind, name: str) -> ApiError:
    """404: the named object does not exist."""
    return ApiError(404, "NotFound", f'{kind.qualified} "{name}" not found', _details(kind, name))


def path_not_found() -> ApiError:
    """404: nothing is served at this path."""
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def namespace_not_found(name: str) -> ApiError:
    """404: the namespace in the URL does not exist."""
    return ApiError(404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"})


def already_exists(kind: Kind, name: str) -> ApiError:
    """409 AlreadyExists on create."""
    return ApiError(409, "AlreadyExists", f'{kind.qualified} "{name}" already exists', _details(kind, name))


def conflict(kind: Kind, name: str) -> ApiError:
    """409 Conflict: the update was based on a stale resourceVersion."""
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {kind.qualified} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        _details(kind, name),
    )


def invalid(kind: Kind, name: str, causes: list[Cause]) -> ApiError:
    """422 Invalid with one cause per field error."""
    text = ", ".join(f"{c.field}: {c.message}" if c.field else c.message for c in causes)
    if len(causes) > 1:
        text = f"[{text}]"
    details = _details(kind, name, kind.kind)
    details["causes"] = [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes]
    return ApiError(422, "Invalid", f'{kind.qualified_kind} "{name}" is invalid: {text}', details)


def bad_request(message: str) -> ApiError:
    """400 BadRequest."""
    return ApiError(400, "BadRequest", message)


def unauthorized() -> ApiError:
    """401: no or a wrong bearer token."""
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(kind: Kind, name: str | None, verb: str, user: str, namespace: str | None) -> ApiError:
    """403 as the RBAC authorizer words it."""
    subject = f'{kind.qualified} "{name}"' if name else kind.qualified
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return ApiError(
        403,
        "Forbidden",
        f'{subject} is forbidden: User "{user}" cannot {verb} resource "{kind.plural}" '
        f'in API group "{kind.group}" {where}',
        _details(kind, name),
    )


def method_not_allowed(verb: str, kind: Kind) -> ApiError:
    """405: the verb is not served for this resource or subresource."""
    return ApiError(
        405, "MethodNotAllowed", f'{verb} is not supported on resources of kind "{kind.qualified}"', {}
    )


def unsupported_media_type(content_type: str, accepted: tuple[str, ...]) -> ApiError:
    """415: the PATCH (or body) content type is not accepted for this resource."""
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{', '.join(accepted)}",
    )


def expired(message: str) -> ApiError:
    """410 Expired: a resourceVersion or continue token fell out of the history."""
    return ApiError(410, "Expired", message)


def too_many_requests(retry_after: int) -> ApiError:
    """429 with ``Retry-After``, as the apiserver's max-in-flight filter answers."""
    return ApiError(
        429,
        "TooManyRequests",
        "Too many requests, please try again later.",
        {"retryAfterSeconds": retry_after},
        {"Retry-After": str(retry_after)},
    )


def internal_error(message: str) -> ApiError:
    """500 InternalError."""
    return ApiError(
        500, "InternalError", f"Internal error occurred: {message}", {"causes": [{"message": message}]}
    )


def server_error(code: int, message: str) -> ApiError:
    """Build a 5xx other than 500 (503 ServiceUnavailable, 504 Timeout, ...)."""
    if code == 500:
        return internal_error(message)
    reason = {503: "ServiceUnavailable", 504: "Timeout"}.get(code, "InternalError")
    return ApiError(code, reason, message)
