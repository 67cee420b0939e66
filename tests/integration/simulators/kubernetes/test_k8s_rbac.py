"""RBAC in the simulator over real sockets: ServiceAccount tokens, rules, bindings, the exact 403."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, kinds

JSON = dict[str, Any]
ADMIN_TOKEN = "admin-token"
RBAC_V1 = "/apis/rbac.authorization.k8s.io/v1"
SA = "system:serviceaccount:team:runner"
REVIEWS = "/apis/authorization.k8s.io/v1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def answer(response: aiohttp.ClientResponse) -> tuple[int, JSON]:
    return response.status, json.loads(await response.text())


def role(kind: str, name: str, rules: list[JSON], namespace: str | None = None) -> JSON:
    meta: JSON = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta, "rules": rules}


def binding(
    kind: str, name: str, role_kind: str, role_name: str, subjects: list[JSON], namespace: str = ""
) -> JSON:
    meta: JSON = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": subjects,
    }


RUNNER = {"kind": "ServiceAccount", "name": "runner", "namespace": "team"}

# What the tests grant "team/runner"; everything else is denied.
GRANTS = [
    role(
        "Role",
        "worker",
        [
            {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
            {"apiGroups": ["snapshot.storage.k8s.io"], "resources": ["*"], "verbs": ["*"]},
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "resourceNames": ["settings"],
                "verbs": ["get", "list"],
            },
            {"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["get"]},
        ],
        "team",
    ),
    binding("RoleBinding", "worker", "Role", "worker", [RUNNER], "team"),
    # A RoleBinding to a ClusterRole grants the role's rules in the binding's namespace only.
    role("ClusterRole", "event-reader", [{"apiGroups": [""], "resources": ["events"], "verbs": ["list"]}]),
    binding(
        "RoleBinding",
        "events",
        "ClusterRole",
        "event-reader",
        [{"kind": "Group", "name": "system:serviceaccounts:team", "apiGroup": "rbac.authorization.k8s.io"}],
        "team",
    ),
    role(
        "ClusterRole",
        "class-reader",
        [
            {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get"]},
            {"nonResourceURLs": ["/metrics", "/debug/*"], "verbs": ["get"]},
        ],
    ),
    binding("ClusterRoleBinding", "class-reader", "ClusterRole", "class-reader", [RUNNER]),
]

NS = "/api/v1/namespaces/team"
VS = "/apis/snapshot.storage.k8s.io/v1/namespaces/team/volumesnapshots"

# (method, path, allowed): each row is one rule matching, or no rule matching.
TABLE = [
    ("GET", f"{NS}/persistentvolumeclaims", True),
    ("GET", f"{NS}/persistentvolumeclaims?watch=true&timeoutSeconds=1", True),
    ("GET", f"{NS}/persistentvolumeclaims/data", True),
    ("POST", f"{NS}/persistentvolumeclaims", False),  # verb not granted
    ("DELETE", f"{NS}/persistentvolumeclaims/data", False),
    ("GET", "/api/v1/namespaces/default/persistentvolumeclaims", False),  # another namespace
    ("GET", "/api/v1/persistentvolumeclaims", False),  # all namespaces: cluster scope
    ("GET", f"{VS}", True),  # resources "*" and verbs "*" in one group
    ("DELETE", f"{VS}/snap", True),
    ("GET", "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents", False),  # cluster-scoped
    ("GET", f"{NS}/pods/p/log", True),  # subresource named in full
    ("GET", f"{NS}/pods/p", False),  # ... but not the resource itself
    ("POST", f"{NS}/pods/p/exec", False),
    ("GET", f"{NS}/persistentvolumeclaims/data/status", True),  # "*/status"
    ("PATCH", f"{NS}/persistentvolumeclaims/data/status", False),
    ("GET", f"{NS}/configmaps/settings", True),  # resourceNames
    ("GET", f"{NS}/configmaps/other", False),
    ("GET", f"{NS}/configmaps", False),  # a list names no object
    ("GET", f"{NS}/configmaps?fieldSelector=metadata.name%3Dsettings", True),  # ... unless it selects one
    ("GET", f"{NS}/events", True),  # RoleBinding to a ClusterRole, Group subject
    ("GET", "/api/v1/namespaces/default/events", False),
    ("GET", "/apis/storage.k8s.io/v1/storageclasses/ontap-nas", True),  # ClusterRoleBinding
    ("GET", "/apis/storage.k8s.io/v1/storageclasses", False),
    ("GET", "/metrics", True),  # nonResourceURLs, exact and prefix
    ("GET", "/debug/pprof", True),
    ("GET", "/logs", False),
    ("GET", "/apis", True),  # system:discovery, bound to every authenticated user
    ("GET", "/version", True),
    ("GET", "/api/v1", True),
    ("GET", "/apis/snapshot.storage.k8s.io/v1", True),
    ("GET", "/api/v1/namespaces/team", False),
]


@pytest.fixture
async def rbac_sim() -> AsyncIterator[KubernetesSimulator]:
    async with KubernetesSimulator(token=ADMIN_TOKEN) as sim:
        yield sim


@pytest.fixture
async def http(rbac_sim: KubernetesSimulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(rbac_sim.url) as session:
        team = await session.post(
            "/api/v1/namespaces", json={"metadata": {"name": "team"}}, headers=bearer(ADMIN_TOKEN)
        )
        assert team.status == 201
        for obj in GRANTS:
            collection = f"{RBAC_V1}/namespaces/team/" if obj["metadata"].get("namespace") else f"{RBAC_V1}/"
            created = await session.post(
                collection + obj["kind"].lower() + "s", json=obj, headers=bearer(ADMIN_TOKEN)
            )
            assert created.status == 201, await created.text()
        yield session


async def runner_token(http: aiohttp.ClientSession) -> str:
    """``kubectl create serviceaccount runner -n team`` and ``kubectl create token runner -n team``."""
    account = {"metadata": {"name": "runner"}}
    created = await http.post(f"{NS}/serviceaccounts", json=account, headers=bearer(ADMIN_TOKEN))
    assert created.status in (201, 409)
    status, body = await answer(
        await http.post(f"{NS}/serviceaccounts/runner/token", json={"spec": {}}, headers=bearer(ADMIN_TOKEN))
    )
    assert status == 201, body
    assert (body["kind"], body["apiVersion"]) == ("TokenRequest", "authentication.k8s.io/v1")
    assert body["spec"]["expirationSeconds"] == 3600
    return str(body["status"]["token"])


@pytest.mark.parametrize(("method", "path", "allowed"), TABLE)
async def test_rules_decide_each_request(
    http: aiohttp.ClientSession, method: str, path: str, allowed: bool
) -> None:
    token = await runner_token(http)
    body = {} if method in ("POST", "PATCH") else None
    headers = bearer(token) | ({"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {})
    async with http.request(method, path, json=body, headers=headers) as response:
        if allowed:
            # Past RBAC: whatever the resource answers (404 for paths the simulator does not serve).
            assert response.status != 403, await response.text()
        else:
            status, status_body = response.status, json.loads(await response.text())
            assert (status, status_body["reason"]) == (403, "Forbidden"), status_body
    # The admin identity the simulator issues keeps full access, whatever RBAC holds.
    async with http.request(method, path, json=body, headers=headers | bearer(ADMIN_TOKEN)) as response:
        assert response.status != 403


@pytest.mark.parametrize(
    ("method", "path", "message", "details"),
    [
        (
            "POST",
            f"{NS}/persistentvolumeclaims",
            f'persistentvolumeclaims is forbidden: User "{SA}" cannot create resource '
            '"persistentvolumeclaims" in API group "" in the namespace "team"',
            {"kind": "persistentvolumeclaims"},
        ),
        (
            "DELETE",
            f"{NS}/persistentvolumeclaims/data",
            f'persistentvolumeclaims "data" is forbidden: User "{SA}" cannot delete resource '
            '"persistentvolumeclaims" in API group "" in the namespace "team"',
            {"name": "data", "kind": "persistentvolumeclaims"},
        ),
        (
            "GET",
            "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents?watch=1",
            f'volumesnapshotcontents.snapshot.storage.k8s.io is forbidden: User "{SA}" cannot watch resource '
            '"volumesnapshotcontents" in API group "snapshot.storage.k8s.io" at the cluster scope',
            {"group": "snapshot.storage.k8s.io", "kind": "volumesnapshotcontents"},
        ),
        (
            "GET",
            "/apis/storage.k8s.io/v1/storageclasses",
            f'storageclasses.storage.k8s.io is forbidden: User "{SA}" cannot list resource "storageclasses" '
            'in API group "storage.k8s.io" at the cluster scope',
            {"group": "storage.k8s.io", "kind": "storageclasses"},
        ),
        (
            "POST",
            f"{NS}/pods/p/exec",
            f'pods "p" is forbidden: User "{SA}" cannot create resource "pods/exec" in API group "" '
            'in the namespace "team"',
            {"name": "p", "kind": "pods"},
        ),
        (
            "GET",
            "/api/v1/namespaces/team",
            f'namespaces "team" is forbidden: User "{SA}" cannot get resource "namespaces" in API group "" '
            'in the namespace "team"',
            {"name": "team", "kind": "namespaces"},
        ),
        ("GET", "/logs", f'forbidden: User "{SA}" cannot get path "/logs"', {}),
    ],
)
async def test_a_denied_request_gets_the_apiservers_403(
    http: aiohttp.ClientSession, method: str, path: str, message: str, details: JSON
) -> None:
    token = await runner_token(http)
    status, body = await answer(
        await http.request(method, path, json={} if method == "POST" else None, headers=bearer(token))
    )
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Forbidden",
        "details": details,
        "code": 403,
    }
    assert status == 403


async def test_a_binding_to_a_missing_role_allows_nothing_and_says_so(http: aiohttp.ClientSession) -> None:
    token = await runner_token(http)
    dangling = binding("RoleBinding", "dangling", "Role", "not-there", [RUNNER], "team")
    await http.post(f"{RBAC_V1}/namespaces/team/rolebindings", json=dangling, headers=bearer(ADMIN_TOKEN))
    status, body = await answer(await http.get(f"{NS}/secrets", headers=bearer(token)))
    assert status == 403
    assert body["message"] == (
        f'secrets is forbidden: User "{SA}" cannot list resource "secrets" in API group "" in the namespace '
        '"team": RBAC: role.rbac.authorization.k8s.io "not-there" not found'
    )


async def test_rules_change_with_the_objects(http: aiohttp.ClientSession) -> None:
    token = await runner_token(http)
    assert (await http.get(f"{NS}/persistentvolumeclaims", headers=bearer(token))).status == 200
    deleted = await http.delete(f"{RBAC_V1}/namespaces/team/rolebindings/worker", headers=bearer(ADMIN_TOKEN))
    assert deleted.status == 200
    assert (await http.get(f"{NS}/persistentvolumeclaims", headers=bearer(token))).status == 403
    user_binding = binding(
        "RoleBinding",
        "by-user",
        "Role",
        "worker",
        [{"kind": "User", "name": SA, "apiGroup": "rbac.authorization.k8s.io"}],
        "team",
    )
    await http.post(f"{RBAC_V1}/namespaces/team/rolebindings", json=user_binding, headers=bearer(ADMIN_TOKEN))
    assert (await http.get(f"{NS}/persistentvolumeclaims", headers=bearer(token))).status == 200


async def test_a_service_account_token_ends_with_its_account(http: aiohttp.ClientSession) -> None:
    token = await runner_token(http)
    assert (await http.get(f"{NS}/persistentvolumeclaims", headers=bearer(token))).status == 200
    await http.delete(f"{NS}/serviceaccounts/runner", headers=bearer(ADMIN_TOKEN))
    status, body = await answer(await http.get(f"{NS}/persistentvolumeclaims", headers=bearer(token)))
    assert (status, body["reason"]) == (401, "Unauthorized")


async def test_token_requests_are_checked(http: aiohttp.ClientSession) -> None:
    status, body = await answer(
        await http.post(f"{NS}/serviceaccounts/nobody/token", json={}, headers=bearer(ADMIN_TOKEN))
    )
    assert (status, body["message"]) == (404, 'serviceaccounts "nobody" not found')
    await runner_token(http)
    short = {"spec": {"expirationSeconds": 60}}
    status, body = await answer(
        await http.post(f"{NS}/serviceaccounts/runner/token", json=short, headers=bearer(ADMIN_TOKEN))
    )
    assert (status, body["message"]) == (
        422,
        'TokenRequest.authentication.k8s.io "runner" is invalid: spec.expirationSeconds: Invalid value: 60: '
        "may not specify a duration less than 10 minutes",
    )
    # A service account may not mint tokens unless RBAC lets it.
    token = await runner_token(http)
    status, body = await answer(
        await http.post(f"{NS}/serviceaccounts/runner/token", json={}, headers=bearer(token))
    )
    assert body["message"] == (
        f'serviceaccounts "runner" is forbidden: User "{SA}" cannot create resource "serviceaccounts/token" '
        'in API group "" in the namespace "team"'
    )


async def test_the_control_api_mints_a_token_for_a_new_account(rbac_sim: KubernetesSimulator) -> None:
    async with aiohttp.ClientSession(rbac_sim.url) as http:
        status, body = await answer(
            await http.post("/_simulator/service-account-tokens", json={"namespace": "ci", "name": "bot"})
        )
        assert status == 201
        status, denied = await answer(
            await http.get("/api/v1/namespaces/ci/pods", headers=bearer(body["token"]))
        )
        assert (status, denied["message"]) == (
            403,
            'pods is forbidden: User "system:serviceaccount:ci:bot" cannot list resource "pods" '
            'in API group "" in the namespace "ci"',
        )
        assert rbac_sim.backend.find(kinds.SERVICE_ACCOUNTS, "ci", "bot") is not None
        bad = await http.post("/_simulator/service-account-tokens", json={"namespace": "ci"})
        assert bad.status == 400


async def test_access_reviews_answer_for_the_caller(http: aiohttp.ClientSession) -> None:
    token = await runner_token(http)

    async def review(attributes: JSON) -> JSON:
        status, body = await answer(
            await http.post(
                f"{REVIEWS}/selfsubjectaccessreviews", json={"spec": attributes}, headers=bearer(token)
            )
        )
        assert status == 201, body
        assert body["kind"] == "SelfSubjectAccessReview"
        return body["status"]  # type: ignore[no-any-return]

    allowed = await review(
        {"resourceAttributes": {"namespace": "team", "verb": "watch", "resource": "persistentvolumeclaims"}}
    )
    assert allowed == {
        "allowed": True,
        "reason": 'RBAC: allowed by RoleBinding "worker/team" of Role "worker" '
        'to ServiceAccount "runner/team"',
    }
    by_group = await review(
        {"resourceAttributes": {"namespace": "team", "verb": "list", "resource": "events"}}
    )
    assert by_group["reason"] == (
        'RBAC: allowed by RoleBinding "events/team" of ClusterRole "event-reader" '
        'to Group "system:serviceaccounts:team"'
    )
    cluster = await review(
        {"resourceAttributes": {"verb": "get", "group": "storage.k8s.io", "resource": "storageclasses"}}
    )
    assert cluster["reason"] == (
        'RBAC: allowed by ClusterRoleBinding "class-reader" of ClusterRole "class-reader" '
        'to ServiceAccount "runner/team"'
    )
    assert await review(
        {"resourceAttributes": {"namespace": "team", "verb": "create", "resource": "pods"}}
    ) == {"allowed": False}
    assert (await review({"nonResourceAttributes": {"path": "/metrics", "verb": "get"}}))["allowed"] is True
    status, body = await answer(
        await http.post(f"{REVIEWS}/selfsubjectaccessreviews", json={"spec": {}}, headers=bearer(token))
    )
    assert (status, body["reason"]) == (422, "Invalid")

    status, rules = await answer(
        await http.post(
            f"{REVIEWS}/selfsubjectrulesreviews", json={"spec": {"namespace": "team"}}, headers=bearer(token)
        )
    )
    assert status == 201
    assert {
        "verbs": ["get", "list"],
        "apiGroups": [""],
        "resources": ["configmaps"],
        "resourceNames": ["settings"],
    } in rules["status"]["resourceRules"]
    assert {"verbs": ["get"], "nonResourceURLs": ["/metrics", "/debug/*"]} in rules["status"][
        "nonResourceRules"
    ]
    assert rules["status"]["incomplete"] is False
    status, body = await answer(
        await http.post(f"{REVIEWS}/selfsubjectrulesreviews", json={"spec": {}}, headers=bearer(token))
    )
    assert (status, body["message"]) == (400, "no namespace on request")


async def test_rbac_objects_are_validated(http: aiohttp.ClientSession) -> None:
    bad_role = role("Role", "bad", [{"apiGroups": [""], "resources": ["pods"], "verbs": []}], "team")
    status, body = await answer(
        await http.post(f"{RBAC_V1}/namespaces/team/roles", json=bad_role, headers=bearer(ADMIN_TOKEN))
    )
    assert (status, body["message"]) == (
        422,
        'Role.rbac.authorization.k8s.io "bad" is invalid: rules[0].verbs: Required value: '
        "verbs must contain at least one value",
    )
    bad_binding = binding(
        "ClusterRoleBinding", "bad", "Role", "worker", [{"kind": "ServiceAccount", "name": "x"}]
    )
    status, body = await answer(
        await http.post(f"{RBAC_V1}/clusterrolebindings", json=bad_binding, headers=bearer(ADMIN_TOKEN))
    )
    assert (status, body["message"]) == (
        422,
        'ClusterRoleBinding.rbac.authorization.k8s.io "bad" is invalid: [roleRef.kind: Unsupported value: '
        '"Role": supported values: "ClusterRole", subjects[0].namespace: Required value]',
    )
    changed = binding("RoleBinding", "worker", "ClusterRole", "event-reader", [RUNNER], "team")
    current = await (
        await http.get(f"{RBAC_V1}/namespaces/team/rolebindings/worker", headers=bearer(ADMIN_TOKEN))
    ).json()
    changed["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    status, body = await answer(
        await http.put(
            f"{RBAC_V1}/namespaces/team/rolebindings/worker", json=changed, headers=bearer(ADMIN_TOKEN)
        )
    )
    assert (status, body["message"]) == (
        422,
        'RoleBinding.rbac.authorization.k8s.io "worker" is invalid: roleRef: Invalid value: '
        'rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"event-reader"}: '
        "cannot change roleRef",
    )


async def test_without_a_token_of_its_own_the_simulator_is_open_but_service_accounts_are_not() -> None:
    async with KubernetesSimulator() as sim, aiohttp.ClientSession(sim.url) as http:
        assert (await http.get("/api/v1/namespaces/default/persistentvolumeclaims")).status == 200
        token = sim.service_account_token("default", "bot")
        denied = await http.get("/api/v1/namespaces/default/persistentvolumeclaims", headers=bearer(token))
        assert denied.status == 403
        # Discovery and the access reviews are every authenticated user's (bootstrap roles).
        assert (await http.get("/api/v1", headers=bearer(token))).status == 200
        review = {"spec": {"resourceAttributes": {"namespace": "default", "verb": "get", "resource": "pods"}}}
        status, body = await answer(
            await http.post(f"{REVIEWS}/selfsubjectaccessreviews", json=review, headers=bearer(token))
        )
        assert (status, body["status"]) == (201, {"allowed": False})


async def test_discovery_serves_the_rbac_and_review_resources(http: aiohttp.ClientSession) -> None:
    _, rbac_list = await answer(await http.get(RBAC_V1, headers=bearer(ADMIN_TOKEN)))
    assert {r["name"]: r["namespaced"] for r in rbac_list["resources"]} == {
        "roles": True,
        "clusterroles": False,
        "rolebindings": True,
        "clusterrolebindings": False,
    }
    _, reviews = await answer(await http.get(REVIEWS, headers=bearer(ADMIN_TOKEN)))
    assert {r["name"]: r["verbs"] for r in reviews["resources"]} == {
        "selfsubjectaccessreviews": ["create"],
        "selfsubjectrulesreviews": ["create"],
    }
    _, core = await answer(await http.get("/api/v1", headers=bearer(ADMIN_TOKEN)))
    token_entry = next(r for r in core["resources"] if r["name"] == "serviceaccounts/token")
    assert (token_entry["kind"], token_entry["verbs"]) == ("TokenRequest", ["create"])


async def test_impersonation_needs_the_impersonate_verb(http: aiohttp.ClientSession) -> None:
    # The admin may act as the service account (kubectl --as), and is then refused what it is.
    as_runner = bearer(ADMIN_TOKEN) | {"Impersonate-User": SA}
    await runner_token(http)  # creates the account
    assert (await http.get(f"{NS}/persistentvolumeclaims", headers=as_runner)).status == 200
    status, body = await answer(await http.post(f"{NS}/persistentvolumeclaims", json={}, headers=as_runner))
    assert (status, body["message"]) == (
        403,
        f'persistentvolumeclaims is forbidden: User "{SA}" cannot create resource "persistentvolumeclaims" '
        'in API group "" in the namespace "team"',
    )
    # The events binding names the group system:serviceaccounts:team, which impersonation keeps.
    assert (await http.get(f"{NS}/events", headers=as_runner)).status == 200
    # A service account may not impersonate anyone without a rule for it.
    token = await runner_token(http)
    status, body = await answer(
        await http.get(f"{NS}/persistentvolumeclaims", headers=bearer(token) | {"Impersonate-User": "alice"})
    )
    assert (status, body["message"]) == (
        403,
        f'users "alice" is forbidden: User "{SA}" cannot impersonate resource "users" in API group "" '
        "at the cluster scope",
    )
