"""The control API under ``/_simulator/``: what tests and demos use to steer the simulated service.

It needs no token and is never hit by injected faults:

==========================================  ===========================================================
``POST /_simulator/reset``                  forget everything
``POST /_simulator/refresh-tokens``         ``{"token"?}``: accept a refresh token (returned)
``DELETE /_simulator/refresh-tokens``       ``{"token"}``: revoke it
``POST /_simulator/users``                  ``{"username", "password"}`` for the password grant
``PUT /_simulator/token-lifetime``          ``{"seconds"}``: ``expires_in`` of tokens issued from now
``POST /_simulator/expire-tokens``          expire every access token issued so far
``POST /_simulator/accounts``               ``{"account_id"?, "name"?}``
``POST /_simulator/relationships``          keyword arguments of ``CloudSyncBackend.add_relationship``
``PUT /_simulator/sync-settings``           ``SyncSettings`` fields: durations, outcome, failed files
``POST /_simulator/advance``                ``{"seconds"}``: move the simulated clock on
``POST /_simulator/faults``                 ``{"kind", "method"?, "path"?, "times"?, "status"?, ...}``
``DELETE /_simulator/faults``               drop pending faults
``GET /_simulator/state``                   accounts, relationships as the API renders them, settings
``GET /_simulator/requests``                the requests received, oldest first (``"GET /api/..."``)
==========================================  ===========================================================
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from netapp_dataops_airflow.simulators.cloud_sync.models import CloudSyncBackend

PREFIX = "/_simulator"
Handler = Callable[[web.Request], Awaitable[web.Response]]


def _call(action: Callable[..., Any]) -> Handler:
    """Wrap a backend method: JSON body in as keyword arguments, its result out as JSON."""

    async def handler(request: web.Request) -> web.Response:
        body = await request.json() if request.body_exists else {}
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        try:
            result = action(**body)
        except (TypeError, ValueError) as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        return web.json_response(_plain(result))

    return handler


def _plain(value: Any) -> Any:
    if value is None:
        return {}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return str(value)


def state_of(backend: CloudSyncBackend) -> dict[str, Any]:
    """Everything the simulated service holds (no tokens), rendered as its API would."""
    with backend.lock:
        return {
            "accounts": backend.list_accounts(),
            "relationships": [r.record(backend.clock) for r in backend.relationships.values()],
            "sync_settings": _plain(backend.sync_settings),
            "token_lifetime": backend.token_lifetime,
            "token_requests": backend.token_requests,
            "faults": [
                {"kind": f.kind, "method": f.method, "path": f.path} for f in backend.faults.pending()
            ],
        }


def control_routes(backend: CloudSyncBackend) -> list[web.RouteDef]:
    """Return the ``/_simulator/`` routes for ``backend``."""

    async def state(request: web.Request) -> web.Response:
        return web.json_response(state_of(backend))

    async def requests(request: web.Request) -> web.Response:
        return web.json_response(backend.requests_matching())

    def relationship(**options: Any) -> dict[str, Any]:
        return backend.add_relationship(**options).record(backend.clock)

    def fault(**options: Any) -> dict[str, Any]:
        added = backend.inject_fault(**options)
        return {"kind": added.kind, "times": added.times}

    return [
        web.post(f"{PREFIX}/reset", _call(backend.reset)),
        web.post(f"{PREFIX}/refresh-tokens", _call(lambda **kw: {"token": backend.add_refresh_token(**kw)})),
        web.delete(f"{PREFIX}/refresh-tokens", _call(backend.revoke_refresh_token)),
        web.post(f"{PREFIX}/users", _call(backend.add_user)),
        web.put(f"{PREFIX}/token-lifetime", _call(backend.set_token_lifetime)),
        web.post(f"{PREFIX}/expire-tokens", _call(lambda: {"expired": backend.expire_access_tokens()})),
        web.post(f"{PREFIX}/accounts", _call(lambda **kw: {"accountId": backend.add_account(**kw)})),
        web.post(f"{PREFIX}/relationships", _call(relationship)),
        web.put(f"{PREFIX}/sync-settings", _call(backend.set_sync_settings)),
        web.post(f"{PREFIX}/advance", _call(backend.advance)),
        web.post(f"{PREFIX}/faults", _call(fault)),
        web.delete(f"{PREFIX}/faults", _call(backend.faults.clear)),
        web.get(f"{PREFIX}/state", state),
        web.get(f"{PREFIX}/requests", requests),
    ]
