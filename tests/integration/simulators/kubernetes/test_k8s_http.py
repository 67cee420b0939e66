"""The simulator over real loopback sockets, spoken to with plain aiohttp."""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

import aiohttp
import pytest

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim, kinds
from tests.helpers.kubernetes import claim_body, snapshot_body

JSON = dict[str, Any]
PVCS = "/api/v1/namespaces/default/persistentvolumeclaims"
VS = "/apis/snapshot.storage.k8s.io/v1/namespaces/default/volumesnapshots"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


async def body_of(response: aiohttp.ClientResponse) -> JSON:
    text = await response.text()
    assert "\n" not in text.strip()  # single-line compact JSON, as clients parse it line by line
    result: JSON = json.loads(text)
    return result


async def status_of(response: aiohttp.ClientResponse, code: int, reason: str) -> JSON:
    assert response.status == code
    body = await body_of(response)
    assert (body["kind"], body["status"], body["code"], body["reason"]) == ("Status", "Failure", code, reason)
    return body


async def read_events(response: aiohttp.ClientResponse, count: int) -> list[JSON]:
    events = []
    while len(events) < count:
        line = await asyncio.wait_for(response.content.readline(), 10)
        assert line.strip(), "watch streams never contain blank lines"
        events.append(json.loads(line))
    return events


async def test_discovery_and_openapi(http: aiohttp.ClientSession) -> None:
    version = await body_of(await http.get("/version"))
    assert 27 <= int(version["minor"]) <= 33
    assert (await body_of(await http.get("/api")))["versions"] == ["v1"]
    groups = {g["name"] for g in (await body_of(await http.get("/apis")))["groups"]}
    assert groups == {
        "storage.k8s.io",
        "snapshot.storage.k8s.io",
        "rbac.authorization.k8s.io",
        "authorization.k8s.io",
    }
    group = await body_of(await http.get("/apis/snapshot.storage.k8s.io"))
    assert group["preferredVersion"]["groupVersion"] == "snapshot.storage.k8s.io/v1"
    resources = await body_of(await http.get("/apis/snapshot.storage.k8s.io/v1"))
    by_name = {r["name"]: r for r in resources["resources"]}
    assert by_name["volumesnapshots"]["shortNames"] == ["vs"]
    assert by_name["volumesnapshots/status"]["verbs"] == ["get", "patch", "update"]
    assert "volumesnapshotclasses/status" not in by_name
    index = await body_of(await http.get("/openapi/v3"))
    url = index["paths"]["api/v1"]["serverRelativeURL"]
    document = await body_of(await http.get(url))
    patch_ops = [p["patch"] for p in document["paths"].values()]
    assert {"group": "", "version": "v1", "kind": "PersistentVolumeClaim"} in [
        op["x-kubernetes-group-version-kind"] for op in patch_ops
    ]
    v2 = await http.get(
        "/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}
    )
    assert v2.headers["Content-Type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    assert (await v2.read()).startswith(b"\x0a\x032.0")
    for probe in ("/healthz", "/readyz", "/livez"):
        assert await (await http.get(probe)).text() == "ok"


async def test_crud_and_patch_types(http: aiohttp.ClientSession) -> None:
    created = await http.post(PVCS, json=claim_body("data"))
    assert created.status == 201
    obj = await body_of(created)
    got = await body_of(await http.get(f"{PVCS}/data/status"))  # /status returns the whole object
    assert got["spec"] == obj["spec"]
    patches = [
        ("application/merge-patch+json", {"metadata": {"labels": {"merge": "1"}}}),
        ("application/strategic-merge-patch+json", {"metadata": {"labels": {"strategic": "1"}}}),
        ("application/json-patch+json", [{"op": "add", "path": "/metadata/labels/json", "value": "1"}]),
        ("application/apply-patch+yaml", {"metadata": {"labels": {"apply": "1"}}}),
    ]
    for content_type, patch in patches:
        response = await http.patch(
            f"{PVCS}/data?fieldManager=test", data=json.dumps(patch), headers={"Content-Type": content_type}
        )
        assert response.status == 200, await response.text()
    labels = (await body_of(await http.get(f"{PVCS}/data")))["metadata"]["labels"]
    assert labels == {"merge": "1", "strategic": "1", "json": "1", "apply": "1"}
    current = await body_of(await http.get(f"{PVCS}/data"))
    current["metadata"]["annotations"] = {"note": "x"}
    assert (await http.put(f"{PVCS}/data", json=current)).status == 200
    await status_of(await http.put(f"{PVCS}/data", json=current), 409, "Conflict")
    listed = await body_of(await http.get(f"{PVCS}?labelSelector=apply%3D1"))
    assert listed["kind"] == "PersistentVolumeClaimList"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["data"]
    everywhere = await body_of(await http.get("/api/v1/persistentvolumeclaims"))
    assert len(everywhere["items"]) == 1
    deleted = await http.delete(f"{PVCS}/data", json={"propagationPolicy": "Background"})
    assert deleted.status == 200
    assert (await body_of(deleted))["metadata"]["deletionTimestamp"]


async def test_server_side_apply_creates(http: aiohttp.ClientSession) -> None:
    body = (
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: ssa\nspec:\n"
        "  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n"
    )
    response = await http.patch(
        f"{PVCS}/ssa?fieldManager=kubectl&force=false",
        data=body,
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert response.status == 201


async def test_error_statuses(kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession) -> None:
    missing = await status_of(await http.get(f"{VS}/nope"), 404, "NotFound")
    assert missing["message"] == 'volumesnapshots.snapshot.storage.k8s.io "nope" not found'
    unknown = await status_of(await http.get("/apis/unknown.io/v1/things"), 404, "NotFound")
    assert unknown["message"] == "the server could not find the requested resource"
    await status_of(
        await http.post("/api/v1/persistentvolumeclaims", json=claim_body("x")), 405, "MethodNotAllowed"
    )
    await status_of(await http.post(f"{PVCS}", data="{not json"), 400, "BadRequest")
    selector = await status_of(await http.get(f"{VS}?fieldSelector=spec.x%3Dy"), 400, "BadRequest")
    assert selector["message"] == "field label not supported: spec.x"
    await http.post(VS, json=snapshot_body("s", "p"))
    await status_of(
        await http.patch(
            f"{VS}/s", data="{}", headers={"Content-Type": "application/strategic-merge-patch+json"}
        ),
        415,
        "UnsupportedMediaType",
    )
    await status_of(
        await http.patch(f"{VS}/s", data='{"a":1}', headers={"Content-Type": "application/json-patch+json"}),
        400,
        "BadRequest",
    )
    await status_of(
        await http.patch(
            f"{VS}/s",
            data='[{"op":"remove","path":"/nope"}]',
            headers={"Content-Type": "application/json-patch+json"},
        ),
        422,
        "Invalid",
    )
    await status_of(
        await http.post(VS, json=snapshot_body("s", "p")),
        409,
        "AlreadyExists",
    )
    bad = await status_of(
        await http.post(VS, json={"metadata": {"name": "Bad"}, "spec": {"source": {}}}), 422, "Invalid"
    )
    assert {c["field"] for c in bad["details"]["causes"]} == {"metadata.name", "spec.source"}
    kubernetes_simulator.backend.faults.fail_requests(429, path="volumesnapshots", retry_after=3)
    throttled = await http.get(VS)
    body = await status_of(throttled, 429, "TooManyRequests")
    assert throttled.headers["Retry-After"] == "3"
    assert body["details"]["retryAfterSeconds"] == 3
    kubernetes_simulator.backend.faults.fail_requests(403, path="volumesnapshots")
    forbidden = await status_of(await http.get(f"{VS}?watch=1"), 403, "Forbidden")
    assert forbidden["message"] == (
        "volumesnapshots.snapshot.storage.k8s.io is forbidden: User "
        '"system:serviceaccount:airflow:airflow-worker" cannot watch resource "volumesnapshots" in API group '
        '"snapshot.storage.k8s.io" in the namespace "default"'
    )
    kubernetes_simulator.backend.faults.fail_requests(503, method="GET", path="volumesnapshots")
    await status_of(await http.get(VS), 503, "ServiceUnavailable")
    assert (await http.get(VS)).status == 200  # the fault was for one request only


async def test_expired_continue_token_is_http_410(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    for name in ("a", "b"):
        await http.post(PVCS, json=claim_body(name))
    page = await body_of(await http.get(f"{PVCS}?limit=1"))
    await http.post(PVCS, json=claim_body("c"))
    kubernetes_simulator.backend.compact()
    expired = await status_of(
        await http.get(f"{PVCS}?limit=1&continue={page['metadata']['continue']}"), 410, "Expired"
    )
    assert expired["message"].startswith("The provided continue parameter is too old")


async def test_table_output_for_lists_and_watches(http: aiohttp.ClientSession) -> None:
    await http.post(PVCS, json=claim_body("data"))
    table = await body_of(await http.get(f"{PVCS}?limit=500", headers={"Accept": TABLE}))
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]][:3] == ["Name", "Status", "Volume"]
    assert table["rows"][0]["cells"][0] == "data"
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    async with http.get(f"{PVCS}?watch=1&timeoutSeconds=5", headers={"Accept": TABLE}) as watch:
        first, second = await read_events(watch, 2)
    assert first["object"]["kind"] == "Table"
    assert first["object"]["columnDefinitions"]
    assert second["object"]["kind"] == "Table"
    assert not second["object"]["columnDefinitions"]


async def test_watch_events_resume_and_expiry(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    await http.post(PVCS, json=claim_body("data"))
    listed = await body_of(await http.get(PVCS))
    async with http.get(f"{PVCS}?watch=True&timeoutSeconds=10&fieldSelector=metadata.name%3Ddata") as watch:
        assert watch.headers["Content-Type"] == "application/json"
        assert watch.headers["Transfer-Encoding"] == "chunked"
        (added,) = await read_events(watch, 1)
        assert added["type"] == "ADDED"
        assert added["object"]["kind"] == "PersistentVolumeClaim"
        (bound,) = await read_events(watch, 1)  # the provisioner binds the claim
        assert bound["type"] == "MODIFIED"
    rv = listed["metadata"]["resourceVersion"]
    async with http.get(f"{PVCS}?watch=true&resourceVersion={rv}&timeoutSeconds=10") as resumed:
        replayed = await read_events(resumed, 1)
        assert replayed[0]["type"] == "MODIFIED"  # a replay, no synthetic ADDED
    kubernetes_simulator.backend.compact()
    async with http.get(f"{PVCS}?watch=true&resourceVersion={rv}") as expired:
        assert expired.status == 200
        (error,) = await read_events(expired, 1)
        assert error["type"] == "ERROR"
        assert error["object"]["code"] == 410
        assert error["object"]["reason"] == "Expired"
        assert await expired.content.read() == b""  # and the stream ends


async def test_watch_bookmarks_timeout_and_forced_end(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    kubernetes_simulator.backend.timing.update(bookmark_interval=0.2)  # two bookmarks come soon
    async with http.get(f"{VS}?watch=True&allowWatchBookmarks=True&timeoutSeconds=30") as watch:
        first, periodic = await read_events(watch, 2)
        assert first["type"] == periodic["type"] == "BOOKMARK"
        assert first["object"]["metadata"]["resourceVersion"]
        kubernetes_simulator.backend.expire_watches()
        assert await asyncio.wait_for(watch.content.read(), 10) == b""
    async with http.get(f"{VS}?watch=1&timeoutSeconds=1") as short:
        assert await asyncio.wait_for(short.content.read(), 10) == b""  # closed cleanly, no final event


async def test_watch_label_selector(http: aiohttp.ClientSession) -> None:
    async with http.get(f"{PVCS}?watch=1&labelSelector=team%3Dred&timeoutSeconds=10") as watch:
        await http.post(PVCS, json=claim_body("blue"))
        red = claim_body("red")
        red["metadata"]["labels"] = {"team": "red"}
        await http.post(PVCS, json=red)
        (event,) = await read_events(watch, 1)
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "red")


async def test_stalled_watch_delivers_later(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{PVCS}?watch=1&timeoutSeconds=20") as watch:
        kubernetes_simulator.backend.faults.stall_watches(60)
        await http.post(PVCS, json=claim_body("data"))
        reading = asyncio.ensure_future(read_events(watch, 1))
        await asyncio.sleep(0.3)
        assert not reading.done()
        kubernetes_simulator.backend.faults.stall_watches(0)
        (event,) = await reading
    assert event["type"] == "ADDED"


async def test_dropped_connection(kubernetes_simulator: KubernetesSimulator) -> None:
    kubernetes_simulator.backend.faults.drop_connections(method="POST", path="persistentvolumeclaims")
    # A POST: aiohttp silently retries idempotent requests once when the server disconnects.
    async with aiohttp.ClientSession(kubernetes_simulator.url) as http:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await http.post(PVCS, json=claim_body("dropped"))
        assert (await http.post(PVCS, json=claim_body("kept"))).status == 201
    assert kubernetes_simulator.backend.find(kinds.PVCS, "default", "dropped") is None


async def test_control_api(kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession) -> None:
    seeded = await http.post("/_simulator/seed", json={"boundClaims": [{"name": "ready", "size": "2Gi"}]})
    assert seeded.status == 201
    assert (await body_of(await http.get(f"{PVCS}/ready")))["status"]["phase"] == "Bound"
    timing = await body_of(await http.post("/_simulator/timing", json={"all": 0.5}))
    assert timing["snapshot_ready"] == 0.5
    fault = await http.post(
        "/_simulator/faults", json={"action": "status", "status": 500, "path": "/version"}
    )
    assert fault.status == 201
    await status_of(await http.get("/version"), 500, "InternalError")
    assert (
        await http.post("/_simulator/driver-errors", json={"operation": "clone", "message": "x"})
    ).status == 201
    state = await body_of(await http.get("/_simulator/state"))
    assert [c["metadata"]["name"] for c in state["persistentvolumeclaims"]] == ["ready"]
    await http.post("/_simulator/reset")
    assert (await body_of(await http.get(PVCS)))["items"] == []


async def test_bearer_token_and_tls() -> None:
    async with KubernetesSimulator(tls=True, token="s3cret") as sim:
        assert sim.ca_pem is not None
        context = ssl.create_default_context(cadata=sim.ca_pem)
        async with aiohttp.ClientSession(sim.url, connector=aiohttp.TCPConnector(ssl=context)) as http:
            assert sim.url.startswith("https://")
            await status_of(await http.get(PVCS), 401, "Unauthorized")
            await status_of(
                await http.get(PVCS, headers={"Authorization": "Bearer wrong"}), 401, "Unauthorized"
            )
            assert (await http.get("/version")).status == 200  # anonymous public info
            ok = await http.get(PVCS, headers={"Authorization": "Bearer s3cret"})
            assert ok.status == 200


async def test_tokens_are_rotated_and_revoked_while_open_watches_go_on() -> None:
    async with KubernetesSimulator(token="first") as sim, aiohttp.ClientSession(sim.url) as http:

        def bearer(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

        async with http.get(f"{PVCS}?watch=1&timeoutSeconds=20", headers=bearer("first")) as watch:
            second = await body_of(await http.post("/_simulator/tokens", json={}))
            assert (await http.get(PVCS, headers=bearer(second["token"]))).status == 200
            revoked = await http.post("/_simulator/tokens/revoke", json={"token": "first"})
            assert revoked.status == 200
            await status_of(await http.get(PVCS, headers=bearer("first")), 401, "Unauthorized")
            # Authenticated when it started, the open watch still delivers.
            await http.post(PVCS, json=claim_body("after"), headers=bearer(second["token"]))
            (event,) = await read_events(watch, 1)
            assert event["object"]["metadata"]["name"] == "after"
        sim.backend.tokens.issue("third")
        assert (await http.get(PVCS, headers=bearer("third"))).status == 200
        await http.post("/_simulator/reset")  # only the starting token again
        assert (await http.get(PVCS, headers=bearer("first"))).status == 200
        await status_of(await http.get(PVCS, headers=bearer("third")), 401, "Unauthorized")
        bad = await http.post("/_simulator/tokens/revoke", json={"token": ""})
        assert bad.status == 400


async def test_a_garbled_watch_line_is_not_json_and_the_next_one_is(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{PVCS}?watch=1&timeoutSeconds=20") as watch:
        assert (await http.post("/_simulator/watches/garble", json={"times": 1})).status == 200
        await http.post(PVCS, json=claim_body("first"))
        garbled = await asyncio.wait_for(watch.content.readline(), 10)
        with pytest.raises(ValueError):
            json.loads(garbled)
        assert garbled.startswith(b'{"type":"ADDED"')
        await http.post(PVCS, json=claim_body("second"))
        events = []
        while not events or events[-1]["object"]["metadata"]["name"] != "second":
            events += await read_events(watch, 1)  # whole JSON lines again
    assert events[-1]["type"] == "ADDED"


async def test_snapshot_progression_seen_by_a_watch(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    kubernetes_simulator.backend.seed(*bound_claim("data"))
    async with http.get(f"{VS}?watch=1&timeoutSeconds=20") as watch:
        await http.post(VS, json=snapshot_body("snap", "data"))
        statuses = []
        while not (statuses and (statuses[-1] or {}).get("readyToUse")):
            (event,) = await read_events(watch, 1)
            statuses.append(event["object"].get("status"))
    assert statuses[0] is None
    assert {"readyToUse": False}.items() <= next(s for s in statuses if s).items()


async def test_a_timing_change_applies_to_claims_already_waiting(http: aiohttp.ClientSession) -> None:
    await http.post("/_simulator/seed", json={"boundClaims": [{"name": "data"}]})
    await http.post("/_simulator/timing", json={"provisioning": 86400})
    clones = [
        claim_body(f"clone-{i}", dataSource={"kind": "PersistentVolumeClaim", "name": "data"}) for i in (1, 2)
    ]
    for clone in clones:
        assert (await http.post(PVCS, json=clone)).status == 201
    await asyncio.sleep(0.3)  # the controllers have seen both claims and hold them a day
    assert {
        (await body_of(await http.get(f"{PVCS}/{c}")))["status"]["phase"] for c in ("clone-1", "clone-2")
    } == {"Pending"}
    # One control request ends every wait: no change to the store follows it, yet both claims bind.
    await http.post("/_simulator/timing", json={"provisioning": 0, "binding": 0})
    phases: set[str] = set()
    for _ in range(100):
        phases = {
            (await body_of(await http.get(f"{PVCS}/{c}")))["status"]["phase"] for c in ("clone-1", "clone-2")
        }
        if phases == {"Bound"}:
            break
        await asyncio.sleep(0.05)
    assert phases == {"Bound"}
