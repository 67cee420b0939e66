"""The control API for tests, under ``/_simulator/`` (no Kubernetes path starts that way).

Every endpoint mirrors a Python method of the backend, for tests that run the simulator in
another process (``python -m netapp_dataops_airflow.simulators serve kubernetes``).
``GET /_simulator/stats`` is read-only: what the server has served (requests by verb and
resource, watch streams per namespace, when objects became ready and when a watch sent that;
see :mod:`.stats`). ``POST /_simulator/reset`` clears it with everything else.
"""

from __future__ import annotations

from aiohttp import web

from .errors import bad_request
from .faults import FaultRule
from .models import KubernetesBackend
from .patching import decode_json
from .seed import bound_claim
from .wire import json_response

CONTROL_PREFIX = "/_simulator/"


def add_control_routes(router: web.UrlDispatcher, backend: KubernetesBackend) -> None:
    """Register the control endpoints for ``backend``."""

    async def body(request: web.Request) -> dict[str, object]:
        raw = await request.read()
        data = decode_json(raw) if raw.strip() else {}
        if not isinstance(data, dict):
            raise bad_request("the control API takes a JSON object")
        return data

    async def reset(request: web.Request) -> web.Response:
        backend.reset()
        return json_response({"resourceVersion": str(backend.resource_version)})

    async def state(request: web.Request) -> web.Response:
        return json_response(backend.dump())

    async def stats(request: web.Request) -> web.Response:
        return json_response(backend.stats.to_json())

    async def seed(request: web.Request) -> web.Response:
        data = await body(request)
        objects = list(data.get("objects") or [])  # type: ignore[call-overload]
        for claim in data.get("boundClaims") or []:  # type: ignore[attr-defined]
            objects += bound_claim(**claim)
        return json_response({"items": backend.seed(*objects)}, 201)

    async def timing(request: web.Request) -> web.Response:
        data = await body(request)
        if "all" in data:
            backend.timing.set_all(float(data.pop("all")))  # type: ignore[arg-type]
        try:
            backend.timing.update(**{k: float(v) for k, v in data.items()})  # type: ignore[arg-type]
        except TypeError as exc:
            raise bad_request(str(exc)) from exc
        backend.wake_listeners()  # steps already waiting take the new delays now
        return json_response(vars(backend.timing))

    async def pod_defaults(request: web.Request) -> web.Response:
        try:
            backend.pods.defaults.update(**(await body(request)))
        except (TypeError, ValueError) as exc:
            raise bad_request(str(exc)) from exc
        return json_response(vars(backend.pods.defaults))

    async def add_fault(request: web.Request) -> web.Response:
        data = await body(request)
        try:
            rule = backend.faults.add(FaultRule(**data))  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise bad_request(str(exc)) from exc
        return json_response(vars(rule), 201)

    async def clear_faults(request: web.Request) -> web.Response:
        backend.faults.clear()
        return json_response({})

    async def expire_watches(request: web.Request) -> web.Response:
        backend.expire_watches()
        return json_response({})

    async def stall_watches(request: web.Request) -> web.Response:
        backend.faults.stall_watches(float((await body(request)).get("seconds", 0)))  # type: ignore[arg-type]
        return json_response({})

    async def garble_watches(request: web.Request) -> web.Response:
        backend.faults.garble_watch_lines(int((await body(request)).get("times", 1)))  # type: ignore[call-overload]
        return json_response({})

    async def issue_token(request: web.Request) -> web.Response:
        given = (await body(request)).get("token")
        if given is not None and (not isinstance(given, str) or not given):
            raise bad_request("token must be a non-empty string")
        return json_response({"token": backend.tokens.issue(given)}, 201)

    async def revoke_token(request: web.Request) -> web.Response:
        token = (await body(request)).get("token")
        if not isinstance(token, str) or not token:
            raise bad_request("token must be a non-empty string")
        backend.tokens.revoke(token)
        return json_response({})

    async def driver_error(request: web.Request) -> web.Response:
        data = await body(request)
        message = str(data.get("message", "injected driver error"))
        if data.get("operation") == "snapshot":
            backend.faults.fail_next_snapshot(message)
        elif data.get("operation") == "clone":
            backend.faults.fail_next_clone(message)
        else:
            raise bad_request('operation must be "snapshot" or "clone"')
        return json_response({}, 201)

    router.add_post(CONTROL_PREFIX + "reset", reset)
    router.add_get(CONTROL_PREFIX + "state", state)
    router.add_get(CONTROL_PREFIX + "stats", stats)
    router.add_post(CONTROL_PREFIX + "seed", seed)
    router.add_post(CONTROL_PREFIX + "timing", timing)
    router.add_post(CONTROL_PREFIX + "pods", pod_defaults)
    router.add_post(CONTROL_PREFIX + "faults", add_fault)
    router.add_delete(CONTROL_PREFIX + "faults", clear_faults)
    router.add_post(CONTROL_PREFIX + "watches/expire", expire_watches)
    router.add_post(CONTROL_PREFIX + "watches/stall", stall_watches)
    router.add_post(CONTROL_PREFIX + "watches/garble", garble_watches)
    router.add_post(CONTROL_PREFIX + "tokens", issue_token)
    router.add_post(CONTROL_PREFIX + "tokens/revoke", revoke_token)
    router.add_post(CONTROL_PREFIX + "driver-errors", driver_error)
