"""The HTTP face of the simulator: kube-apiserver routes, verbs and wire format over the store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from . import access, discovery, errors, kinds, openapi, patching, tables
from .control import CONTROL_PREFIX, add_control_routes
from .controllers import ControllerLoop
from .errors import ApiError
from .kubelet import reconcile_pods
from .models import KubernetesBackend
from .pod_exec import add_exec_route
from .pod_logs import add_log_route
from .provisioner import reconcile_claims, reconcile_volumes
from .scheduler import reconcile_scheduling
from .selectors import parse_field_selector, parse_label_selector
from .snapshotter import reconcile_contents, reconcile_snapshots
from .watch import WatchStream
from .wire import Target, error_response, go_bool, json_body, json_response, parse_target, wants_table

BACKEND_KEY = web.AppKey("backend", KubernetesBackend)
CONTROLLERS_KEY = web.AppKey("controllers", ControllerLoop)
# Readable without credentials, as the system:public-info-viewer role allows.
PUBLIC_PATHS = ("/version", "/healthz", "/readyz", "/livez")
# Who an injected 403 says was refused: a service account as Airflow's pods would use.
FORBIDDEN_USER = "system:serviceaccount:airflow:airflow-worker"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_app(backend: KubernetesBackend, *, token: str | None = None) -> web.Application:
    """Build an aiohttp application serving ``backend`` (bearer ``token`` required when given).

    The accepted tokens are ``backend.tokens``: tests rotate and revoke them there.
    """
    if token is not None:
        backend.tokens.start_with(token)
    app = web.Application(
        middlewares=[
            _count_requests,
            _status_errors,
            _faults,
            _authenticate,
            access.make_authorizer(backend, lambda path: path.startswith(CONTROL_PREFIX)),
        ],
        client_max_size=16 * 1024 * 1024,
    )
    app[BACKEND_KEY] = backend
    app.router.add_get("/version", _version)
    for probe in ("/healthz", "/readyz", "/livez"):
        app.router.add_get(probe, _ok)
    app.router.add_get("/api", _core_versions)
    app.router.add_get("/apis", _group_list)
    app.router.add_get("/apis/{group}", _api_group)
    app.router.add_get("/openapi/v3", _openapi_index)
    app.router.add_get("/openapi/v2", _openapi_v2)
    add_control_routes(app.router, backend)
    access.add_access_routes(app.router, backend)
    add_log_route(app.router, backend)
    add_exec_route(app.router, backend)
    app.router.add_route("*", "/{tail:.*}", _resource)
    app.on_startup.append(_start_controllers)
    app.on_cleanup.append(_stop_controllers)
    return app


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok", content_type="text/plain")


async def _version(request: web.Request) -> web.Response:
    return json_response(discovery.version())


async def _core_versions(request: web.Request) -> web.Response:
    return json_response(discovery.core_versions(request.host))


async def _group_list(request: web.Request) -> web.Response:
    return json_response(discovery.group_list())


async def _openapi_index(request: web.Request) -> web.Response:
    return json_response(openapi.index())


async def _openapi_v2(request: web.Request) -> web.Response:
    return web.Response(body=openapi.v2_protobuf(), content_type=openapi.V2_CONTENT_TYPE)


async def _api_group(request: web.Request) -> web.Response:
    group = request.match_info["group"]
    if group not in kinds.GROUPS:
        raise errors.path_not_found()
    return json_response(discovery.api_group(group))


async def _start_controllers(app: web.Application) -> None:
    loop = ControllerLoop(
        app[BACKEND_KEY],
        [
            reconcile_claims,
            reconcile_volumes,
            reconcile_snapshots,
            reconcile_contents,
            reconcile_scheduling,
            reconcile_pods,
        ],
    )
    app[CONTROLLERS_KEY] = loop
    loop.start()


async def _stop_controllers(app: web.Application) -> None:
    await app[CONTROLLERS_KEY].stop()


@web.middleware
async def _count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    # Every API request that arrives counts, whatever its answer (faults and 401s included).
    if not request.path.startswith(CONTROL_PREFIX):
        target = parse_target(request.path)
        try:
            watch = go_bool(request.query.get("watch"))
        except ApiError:
            watch = False  # the handler answers the malformed flag
        request.app[BACKEND_KEY].stats.record_request(
            request.method,
            target.kind if target is not None else None,
            named=target is not None and target.name is not None,
            watch=watch,
        )
    return await handler(request)


@web.middleware
async def _status_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    # Every error, including unknown paths and methods, is a single-line metav1.Status.
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error)
    except web.HTTPNotFound:
        return error_response(errors.path_not_found())
    except web.HTTPMethodNotAllowed:
        return error_response(
            ApiError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
            )
        )


@web.middleware
async def _faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    rule = request.app[BACKEND_KEY].faults.take(request.method, request.path_qs)
    if rule is None:
        return await handler(request)
    if rule.action == "status":
        if rule.status == 429:
            raise errors.too_many_requests(rule.retry_after)
        target = parse_target(request.path)
        if rule.status == 403 and target is not None and target.kind is not None:
            verb = "watch" if go_bool(request.query.get("watch")) else _verb(request.method)
            if verb == "get" and target.name is None:
                verb = "list"
            raise errors.forbidden(target.kind, target.name, verb, FORBIDDEN_USER, target.namespace)
        raise errors.server_error(rule.status, rule.message)
    if rule.action == "stall":
        await asyncio.sleep(rule.seconds)
        return await handler(request)
    assert request.transport is not None
    request.transport.abort()  # "drop": the client sees the connection close without an answer
    raise asyncio.CancelledError


@web.middleware
async def _authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    header = request.headers.get("Authorization")
    # A request without credentials is anonymous: only the public info paths are open to it.
    if access.user_of(request, request.app[BACKEND_KEY]) is not None or (
        header is None and request.path in PUBLIC_PATHS
    ):
        return await handler(request)
    raise errors.unauthorized()


async def _resource(request: web.Request) -> web.StreamResponse:
    path = request.path
    if path.startswith("/openapi/v3/"):
        return _openapi_document(path.removeprefix("/openapi/v3/"))
    target = parse_target(path)
    if target is None:
        raise errors.path_not_found()
    if target.kind is None:
        if request.method != "GET":
            raise errors.path_not_found()
        return json_response(discovery.resource_list(target.group))
    return await _dispatch(request, target)


def _openapi_document(gv: str) -> web.Response:
    for group, version in discovery.served_group_versions():
        if openapi.gv_path(group, version) == gv:
            return json_response(openapi.document(group, version))
    raise errors.path_not_found()


async def _dispatch(request: web.Request, target: Target) -> web.StreamResponse:
    backend, kind = request.app[BACKEND_KEY], target.kind
    assert kind is not None
    query = request.query
    dry_run = query.get("dryRun") == "All"
    method = request.method
    if target.name is None:
        if method == "GET":
            return await _list_or_watch(request, target)
        if method == "POST" and (target.namespace is not None or not kind.namespaced):
            body = await json_body(request)
            return json_response(backend.create(kind, target.namespace, body, dry_run=dry_run), 201)
        if method == "DELETE" and (target.namespace is not None or not kind.namespaced):
            return _delete_collection(request, target)
        raise errors.method_not_allowed(_verb(method), kind)
    if method == "GET":
        obj = backend.get(kind, target.namespace, target.name)
        if wants_table(request) and target.subresource is None:
            # The apiserver renders a single GET as a one-row Table too (kubectl get pvc NAME).
            return json_response(tables.table(kind, [obj], obj["metadata"]["resourceVersion"]))
        return json_response(obj)
    if method == "PUT":
        body = await json_body(request)
        return json_response(
            backend.update(
                kind, target.namespace, target.name, body, subresource=target.subresource, dry_run=dry_run
            )
        )
    if method == "PATCH":
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        obj, created = backend.patch(
            kind,
            target.namespace,
            target.name,
            content_type,
            await request.read(),
            subresource=target.subresource,
            dry_run=dry_run,
        )
        return json_response(obj, 201 if created else 200)
    if method == "DELETE" and target.subresource is None:
        raw = await request.read()
        options = patching.decode_json(raw) if raw.strip() else {}
        if query.get("gracePeriodSeconds") and isinstance(options, dict):
            options.setdefault("gracePeriodSeconds", int(query["gracePeriodSeconds"]))
        return json_response(
            backend.delete(
                kind,
                target.namespace,
                target.name,
                options or {},
                dry_run=dry_run or "All" in (options or {}).get("dryRun", []),
            )
        )
    raise errors.method_not_allowed(_verb(method), kind)


def _verb(method: str) -> str:
    return {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(
        method, method
    )


async def _list_or_watch(request: web.Request, target: Target) -> web.StreamResponse:
    backend, kind, query = request.app[BACKEND_KEY], target.kind, request.query
    assert kind is not None
    labels = parse_label_selector(query.get("labelSelector"))
    fields = parse_field_selector(query.get("fieldSelector"), kind)
    if go_bool(query.get("watch")):
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
        stream = WatchStream(
            backend,
            kind,
            table=wants_table(request),
            bookmarks=go_bool(query.get("allowWatchBookmarks")),
            timeout=timeout,
        )
        return await stream.serve(request, target.namespace, query.get("resourceVersion"), labels, fields)
    limit = int(query.get("limit") or 0)
    items, rv, token = backend.list_objects(
        kind, target.namespace, labels, fields, limit=limit, continue_token=query.get("continue")
    )
    if wants_table(request):
        return json_response(tables.table(kind, items, rv, continue_token=token))
    return json_response(
        {
            "kind": f"{kind.kind}List",
            "apiVersion": kind.api_version,
            "metadata": {"resourceVersion": rv, "continue": token},
            "items": items,
        }
    )


def _delete_collection(request: web.Request, target: Target) -> web.Response:
    backend, kind = request.app[BACKEND_KEY], target.kind
    assert kind is not None
    labels = parse_label_selector(request.query.get("labelSelector"))
    fields = parse_field_selector(request.query.get("fieldSelector"), kind)
    items, _rv, _ = backend.list_objects(kind, target.namespace, labels, fields)
    deleted = [backend.delete(kind, target.namespace, item["metadata"]["name"]) for item in items]
    return json_response(
        {
            "kind": f"{kind.kind}List",
            "apiVersion": kind.api_version,
            "metadata": {"resourceVersion": str(backend.resource_version)},
            "items": deleted,
        }
    )
