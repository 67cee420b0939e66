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

from typing import Any

from aiohttp import web

from netapp_dataops_airflow.simulators._control import PREFIX, call, plain
from netapp_dataops_airflow.simulators.cloud_sync.models import CloudSyncBackend


def state_of(backend: CloudSyncBackend) -> dict[str, Any]:
    """Everything the simulated service holds (no tokens), rendered as its API would."""
    with backend.lock:
        return {
            "accounts": backend.list_accounts(),
            "relationships": [r.record(backend.clock) for r in backend.relationships.values()],
            "sync_settings": plain(backend.sync_settings),
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
        web.post(f"{PREFIX}/reset", call(backend.reset)),
        web.post(f"{PREFIX}/refresh-tokens", call(lambda **kw: {"token": backend.add_refresh_token(**kw)})),
        web.delete(f"{PREFIX}/refresh-tokens", call(backend.revoke_refresh_token)),
        web.post(f"{PREFIX}/users", call(backend.add_user)),
        web.put(f"{PREFIX}/token-lifetime", call(backend.set_token_lifetime)),
        web.post(f"{PREFIX}/expire-tokens", call(lambda: {"expired": backend.expire_access_tokens()})),
        web.post(f"{PREFIX}/accounts", call(lambda **kw: {"accountId": backend.add_account(**kw)})),
        web.post(f"{PREFIX}/relationships", call(relationship)),
        web.put(f"{PREFIX}/sync-settings", call(backend.set_sync_settings)),
        web.post(f"{PREFIX}/advance", call(backend.advance)),
        web.post(f"{PREFIX}/faults", call(fault)),
        web.delete(f"{PREFIX}/faults", call(backend.faults.clear)),
        web.get(f"{PREFIX}/state", state),
        web.get(f"{PREFIX}/requests", requests),
    ]
