"""The aiohttp application: ONTAP routes behind faults and basic auth, plus the control API.

Middlewares run outermost first: errors become ONTAP envelopes, then injected faults fire, then
credentials are checked, so a fault hits a request whatever its credentials, as a real network or
overloaded cluster would.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from aiohttp import web
from aiohttp.typedefs import Handler

from netapp_dataops_airflow.simulators._control import PREFIX
from netapp_dataops_airflow.simulators._faults import Fault, fault_middleware
from netapp_dataops_airflow.simulators.ontap import errors
from netapp_dataops_airflow.simulators.ontap.control import control_routes
from netapp_dataops_airflow.simulators.ontap.errors import OntapApiError
from netapp_dataops_airflow.simulators.ontap.models import OntapBackend
from netapp_dataops_airflow.simulators.ontap.responses import HAL_JSON, OntapResponses, hal

REALM = 'Basic realm="ONTAP simulator"'


def _credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, separator, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if separator else None


def _refusal(fault: Fault) -> OntapApiError:
    return OntapApiError(fault.status, fault.code, fault.message)


def make_app(backend: OntapBackend, *, username: str, password: str) -> web.Application:
    """Build the simulator's application for ``backend``, accepting one user."""

    @web.middleware
    async def envelopes(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except OntapApiError as exc:
            return hal(exc.envelope(), status=exc.status)
        except web.HTTPMethodNotAllowed:
            return hal(OntapApiError(405, errors.API_NOT_FOUND, "The method is not allowed.").envelope(), 405)
        except web.HTTPNotFound:
            if request.path.startswith(PREFIX):
                raise
            return hal(OntapApiError(404, errors.API_NOT_FOUND, "API not found").envelope(), 404)

    @web.middleware
    async def basic_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(PREFIX):
            return await handler(request)
        given = _credentials(request.headers.get("Authorization", ""))
        expected = (username.encode(), password.encode())
        if given is None or not (
            hmac.compare_digest(given[0].encode(), expected[0])
            & hmac.compare_digest(given[1].encode(), expected[1])
        ):
            body = OntapApiError(401, errors.NOT_AUTHORIZED, "User is not authorized.").envelope()
            return hal(body, status=401, headers={"WWW-Authenticate": REALM})
        return await handler(request)

    @web.middleware
    async def consistent(request: web.Request, handler: Handler) -> web.StreamResponse:
        # Read the body first so the handler runs without suspending, then hold the backend's
        # lock throughout: a test thread changing state never sees a half-rendered answer.
        await request.read()
        with backend.lock:
            return await handler(request)

    app = web.Application(
        middlewares=[
            envelopes,
            fault_middleware(backend, _refusal, content_type=HAL_JSON),
            basic_auth,
            consistent,
        ]
    )
    app.add_routes(OntapResponses(backend).routes())
    app.add_routes(control_routes(backend))
    return app
