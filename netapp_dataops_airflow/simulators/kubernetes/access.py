"""Who may do what over HTTP: authentication, RBAC on every request, access reviews, TokenRequest.

The access reviews are what ``kubectl auth can-i`` asks; TokenRequest is ``kubectl create token``.

The rules themselves are in :mod:`.rbac`; this module wires them to requests and the backend.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from . import errors, kinds, rbac
from .control import CONTROL_PREFIX
from .errors import Cause
from .kinds import Kind
from .models import KubernetesBackend
from .rbac import User
from .wire import json_body, json_response

AUTHORIZATION_V1 = f"/apis/{kinds.AUTHORIZATION}/v1"
AUTHENTICATION_V1 = "authentication.k8s.io/v1"
DEFAULT_TOKEN_SECONDS = 3600
MIN_TOKEN_SECONDS = 600
# Not stored, so not in the kind table; named here for validation messages.
_TOKEN_REQUEST = Kind("authentication.k8s.io", "tokenrequests", "tokenrequest", "TokenRequest", True)
_ACCESS_REVIEW = Kind(kinds.AUTHORIZATION, "selfsubjectaccessreviews", "", "SelfSubjectAccessReview", False)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def authenticate(backend: KubernetesBackend, authorization: str | None) -> User | None:
    """Return the user of a request, or None; a ServiceAccount's token dies with its account."""
    found = backend.tokens.identify(authorization)
    if found is None:
        return None
    user, uid = found
    ref = user.service_account_ref
    if uid is not None and ref is not None:
        account = backend.find(kinds.SERVICE_ACCOUNTS, ref[0], ref[1])
        if account is None or account["metadata"]["uid"] != uid:
            return None
    return user


def user_of(request: web.Request, backend: KubernetesBackend) -> User | None:
    """Return the user of ``request`` (None: unauthenticated, or anonymous on a public path).

    ``Impersonate-User`` (``kubectl --as``) and ``Impersonate-Group`` make it another user, if RBAC
    lets the caller ``impersonate`` them.
    """
    user = authenticate(backend, request.headers.get("Authorization"))
    wanted = request.headers.get("Impersonate-User")
    if user is None or wanted is None:
        return user
    return impersonate(backend, user, wanted, tuple(request.headers.getall("Impersonate-Group", ())))


def impersonate(backend: KubernetesBackend, user: User, wanted: str, groups: tuple[str, ...]) -> User:
    """Act as ``wanted`` (in ``groups``) as the apiserver's impersonation filter does, or answer 403."""
    target = User(wanted, groups)
    ref = target.service_account_ref
    if ref is not None:
        checks = [rbac.Attributes("impersonate", True, "", "v1", ref[0], "serviceaccounts", "", ref[1])]
        target = User(wanted, (*User.service_account(*ref).groups[:2], *groups))
    else:
        checks = [rbac.Attributes("impersonate", True, "", "v1", "", "users", "", wanted)]
    checks += [rbac.Attributes("impersonate", True, "", "v1", "", "groups", "", group) for group in groups]
    for attributes in checks:
        decision = rbac.authorize(store_of(backend), user, attributes)
        if not decision.allowed:
            raise rbac.forbidden(user, attributes, decision.reason)
    if rbac.AUTHENTICATED not in target.groups:
        target = User(target.name, (*target.groups, rbac.AUTHENTICATED))
    return target


def store_of(backend: KubernetesBackend) -> rbac.Store:
    """Return the RBAC objects of ``backend``, as the authorizer reads them."""
    return rbac.Store(backend.objects)


def make_authorizer(backend: KubernetesBackend, exempt: Callable[[str], bool]) -> Middleware:
    """Build the aiohttp middleware that answers 403 to every request RBAC does not allow.

    Requests without a user (the public paths read anonymously) and ``exempt`` paths pass.
    """

    @web.middleware
    async def authorize(request: web.Request, handler: Handler) -> web.StreamResponse:
        if exempt(request.path):
            return await handler(request)
        user = user_of(request, backend)
        if user is None:  # anonymous on a public path: authentication let it through
            return await handler(request)
        attributes = rbac.request_attributes(request.method, request.path, request.query)
        decision = rbac.authorize(store_of(backend), user, attributes)
        if not decision.allowed:
            raise rbac.forbidden(user, attributes, decision.reason)
        return await handler(request)

    return authorize


def service_account_token(
    backend: KubernetesBackend, namespace: str, name: str, *, seconds: int = DEFAULT_TOKEN_SECONDS
) -> str:
    """Mint a token for ServiceAccount ``namespace/name``, creating the account if needed (tests).

    What ``kubectl create serviceaccount`` and ``kubectl create token`` do, without HTTP.
    """
    account = backend.find(kinds.SERVICE_ACCOUNTS, namespace, name)
    if account is None:
        body = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace},
        }
        if backend.find(kinds.NAMESPACES, None, namespace) is None:
            backend.create(
                kinds.NAMESPACES,
                None,
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            )
        account = backend.create(kinds.SERVICE_ACCOUNTS, namespace, body)
    return backend.tokens.issue_for_service_account(namespace, name, account["metadata"]["uid"], seconds)


def add_access_routes(router: web.UrlDispatcher, backend: KubernetesBackend) -> None:
    """Register SelfSubjectAccessReview, SelfSubjectRulesReview and TokenRequest.

    And ``POST /_simulator/service-account-tokens`` (``{"namespace", "name"}``): the control API's
    :func:`service_account_token`, for tests that drive the simulator in another process.
    """

    async def access_review(request: web.Request) -> web.Response:
        body = await json_body(request, empty={})
        spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        resource, url = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if (resource is None) == (url is None):
            detail = (
                "cannot be specified in combination with nonResourceAttributes"
                if resource is not None
                else "exactly one of nonResourceAttributes or resourceAttributes must be specified"
            )
            reason = "FieldValueInvalid" if resource is not None else "FieldValueRequired"
            raise errors.invalid(_ACCESS_REVIEW, "", [Cause(reason, "spec.resourceAttributes", detail)])
        if resource is not None:
            resource = resource if isinstance(resource, dict) else {}
            attributes = rbac.Attributes(
                verb=str(resource.get("verb", "")),
                group=str(resource.get("group", "")),
                version=str(resource.get("version", "")),
                namespace=str(resource.get("namespace", "")),
                resource=str(resource.get("resource", "")),
                subresource=str(resource.get("subresource", "")),
                name=str(resource.get("name", "")),
            )
        else:
            url = url if isinstance(url, dict) else {}
            attributes = rbac.Attributes(
                verb=str(url.get("verb", "")), resource_request=False, path=str(url.get("path", ""))
            )
        decision = rbac.authorize(store_of(backend), _user(request), attributes)
        status: dict[str, object] = {"allowed": decision.allowed}
        if decision.reason:
            status["reason"] = decision.reason
        return _review(body, "SelfSubjectAccessReview", status)

    async def rules_review(request: web.Request) -> web.Response:
        body = await json_body(request, empty={})
        spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        namespace = spec.get("namespace")
        if not namespace:
            raise errors.bad_request("no namespace on request")
        resource_rules, url_rules, failures = rbac.rules_for(
            store_of(backend), _user(request), str(namespace)
        )
        status: dict[str, object] = {
            "resourceRules": resource_rules,
            "nonResourceRules": url_rules,
            "incomplete": bool(failures),
        }
        if failures:
            status["evaluationError"] = ", ".join(failures)
        return _review(body, "SelfSubjectRulesReview", status)

    async def token_request(request: web.Request) -> web.Response:
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        body = await json_body(request, empty={})
        spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        seconds = spec.get("expirationSeconds") or DEFAULT_TOKEN_SECONDS
        if not isinstance(seconds, int) or seconds < MIN_TOKEN_SECONDS:
            cause = Cause(
                "FieldValueInvalid",
                "spec.expirationSeconds",
                "may not specify a duration less than 10 minutes",
                seconds,
            )
            raise errors.invalid(_TOKEN_REQUEST, name, [cause])
        account = backend.get(kinds.SERVICE_ACCOUNTS, namespace, name)  # 404 as the apiserver says it
        token = backend.tokens.issue_for_service_account(namespace, name, account["metadata"]["uid"], seconds)
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))
        answer = {
            "kind": "TokenRequest",
            "apiVersion": AUTHENTICATION_V1,
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
            "spec": {
                "audiences": spec.get("audiences") or ["https://kubernetes.default.svc.cluster.local"],
                "expirationSeconds": seconds,
                "boundObjectRef": spec.get("boundObjectRef"),
            },
            "status": {"token": token, "expirationTimestamp": expires},
        }
        return json_response(answer, 201)

    async def control_token(request: web.Request) -> web.Response:
        body = await json_body(request, empty={})
        namespace, name = body.get("namespace"), body.get("name")
        if not isinstance(namespace, str) or not isinstance(name, str) or not namespace or not name:
            raise errors.bad_request("namespace and name must be non-empty strings")
        return json_response({"token": service_account_token(backend, namespace, name)}, 201)

    def _user(request: web.Request) -> User:
        user = user_of(request, backend)
        if user is None:  # the middlewares let no anonymous request get here
            raise errors.unauthorized()
        return user

    router.add_post(f"{AUTHORIZATION_V1}/selfsubjectaccessreviews", access_review)
    router.add_post(f"{AUTHORIZATION_V1}/selfsubjectrulesreviews", rules_review)
    router.add_post("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", token_request)
    router.add_post(f"{CONTROL_PREFIX}service-account-tokens", control_token)


def _review(body: dict[str, object], kind: str, status: dict[str, object]) -> web.Response:
    answer = {
        "kind": kind,
        "apiVersion": f"{kinds.AUTHORIZATION}/v1",
        "metadata": {"creationTimestamp": None},
        "spec": body.get("spec") or {},
        "status": status,
    }
    return json_response(answer, 201)
