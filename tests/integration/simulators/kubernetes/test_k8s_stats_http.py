"""``GET /_simulator/stats`` over a real socket: what a client cost the server, as it counted it."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim
from tests.helpers.kubernetes import snapshot_body

VS = "/apis/snapshot.storage.k8s.io/v1/namespaces/default/volumesnapshots"


async def stats_of(http: aiohttp.ClientSession) -> dict[str, object]:
    async with http.get("/_simulator/stats") as response:
        assert response.status == 200
        return dict(await response.json())


async def test_stats_count_requests_watches_and_readiness(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    await http.post("/_simulator/reset")  # counting starts here
    kubernetes_simulator.backend.seed(*bound_claim("data"))
    async with http.post(VS, json=snapshot_body("snap", "data")) as created:
        assert created.status == 201
        uid = (await created.json())["metadata"]["uid"]
    async with http.get(f"{VS}?watch=true&timeoutSeconds=10") as watch:
        while True:
            event = json.loads(await asyncio.wait_for(watch.content.readline(), 10))
            if event["object"].get("status", {}).get("readyToUse") is True:
                break
        during = await stats_of(http)
    await http.get("/version")  # a non-resource request; the control API itself is not counted

    after = await stats_of(http)
    assert after["requests"] == {
        "total": 3,
        "byVerb": {"create volumesnapshots": 1, "non-resource": 1, "watch volumesnapshots": 1},
    }
    watch_count = {"resource": "volumesnapshots", "namespace": "default", "opened": 1, "open": 1}
    assert during["watches"] == [watch_count]
    ready = after["ready"]["volumesnapshots/default/snap"]  # type: ignore[index]
    assert ready["uid"] == uid
    assert ready["committedAt"] <= ready["sentAt"]
