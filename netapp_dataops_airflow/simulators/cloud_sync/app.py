"""The aiohttp application: the token endpoint, the API under ``/api``, and the control API.

Middlewares run outermost first: errors become the service's envelopes, then injected faults fire,
then (for ``/api``) the bearer token is checked, so a fault hits a request whatever its token.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from netapp_dataops_airflow.simulators._control import PREFIX
from netapp_dataops_airflow.simulators._faults import Fault, fault_middleware
from netapp_dataops_airflow.simulators.cloud_sync.control import control_routes
from netapp_dataops_airflow.simulators.cloud_sync.errors import CloudSyncApiError, TokenError
from netapp_dataops_airflow.simulators.cloud_sync.models import CloudSyncBackend

TOKEN_PATH = "/oauth/token"
API_PREFIX = "/api"


def _refusal(fault: Fault) -> CloudSyncApiError:
    return CloudSyncApiError(fault.status, fault.message)


def make_app(backend: CloudSyncBackend) -> web.Application:
    """Build the service's application for ``backend``."""

    @web.middleware
    async def envelopes(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except CloudSyncApiError as exc:
            return web.json_response(exc.envelope(), status=exc.status)
        except TokenError as exc:
            return web.json_response(exc.envelope(), status=exc.status)
        except web.HTTPNotFound:
            if request.path.startswith(PREFIX):
                raise
            return web.json_response({"code": 404, "message": "Not Found"}, status=404)

    @web.middleware
    async def bearer(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(API_PREFIX + "/"):
            backend.authenticate(request.headers.get("Authorization", ""))
        return await handler(request)

    async def token(request: web.Request) -> web.Response:
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TokenError(400, "invalid_request", "Expected a JSON object")
        return web.json_response(backend.grant(body))

    def account(request: web.Request) -> str | None:
        return request.headers.get("x-account-id")

    async def accounts(request: web.Request) -> web.Response:
        return web.json_response(backend.list_accounts())

    async def relationships(request: web.Request) -> web.Response:
        return web.json_response(backend.list_relationships(account(request)))

    async def relationship(request: web.Request) -> web.Response:
        return web.json_response(backend.get_relationship(account(request), request.match_info["id"]))

    async def sync(request: web.Request) -> web.Response:
        backend.sync(account(request), request.match_info["id"])
        return web.json_response({}, status=202)

    async def abort(request: web.Request) -> web.Response:
        backend.abort(account(request), request.match_info["id"])
        return web.json_response({}, status=200)

    app = web.Application(middlewares=[envelopes, fault_middleware(backend, _refusal), bearer])
    app.add_routes(
        [
            web.post(TOKEN_PATH, token),
            web.get(f"{API_PREFIX}/accounts", accounts),
            web.get(f"{API_PREFIX}/relationships-v2", relationships),
            web.get(f"{API_PREFIX}/relationships-v2/{{id}}", relationship),
            web.put(f"{API_PREFIX}/relationships/{{id}}/sync", sync),
            web.put(f"{API_PREFIX}/relationships/{{id}}/abort", abort),
        ]
    )
    app.add_routes(control_routes(backend))
    return app
