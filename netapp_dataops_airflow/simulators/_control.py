"""The control API's plumbing, the same for every simulator: backend methods served as JSON."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

PREFIX = "/_simulator"
Handler = Callable[[web.Request], Awaitable[web.Response]]


def call(action: Callable[..., Any]) -> Handler:
    """Wrap a backend method: JSON body in as keyword arguments, its result out as JSON."""

    async def handler(request: web.Request) -> web.Response:
        body = await request.json() if request.body_exists else {}
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        try:
            result = action(**body)
        except (TypeError, ValueError) as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        return web.json_response(plain(result))

    return handler


def plain(value: Any) -> Any:
    """Render a backend's result as JSON; dataclass fields kept out of reprs (secrets) stay out."""
    if value is None:
        return {}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr}
    if isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return str(value)
