"""Pods on the simulator over real sockets: scheduling, the kubelet's lifecycle, logs and deletion."""

from __future__ import annotations

import asyncio
import datetime
import json
import re
import time
from typing import Any

import aiohttp

from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim, kinds
from netapp_dataops_airflow.simulators.kubernetes.workloads import DURATION, EXIT_CODE, OUTPUT, STOP_SECONDS
from tests.helpers.kubernetes import claim_body
from tests.helpers.waiting import until

JSON = dict[str, Any]
PODS = "/api/v1/namespaces/default/pods"
PVCS = "/api/v1/namespaces/default/persistentvolumeclaims"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")


def pod_body(
    name: str, *, annotations: dict[str, str] | None = None, claim: str | None = None, containers: int = 1
) -> JSON:
    body: JSON = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {"name": "base" if i == 0 else f"side{i}", "image": "alpine:3.20", "args": ["hello", "world"]}
                for i in range(containers)
            ],
        },
    }
    if claim:
        body["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
        body["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    return body


def stored(sim: KubernetesSimulator, name: str) -> JSON | None:
    return sim.backend.find(kinds.PODS, "default", name)


def phase(sim: KubernetesSimulator, name: str) -> str | None:
    pod = stored(sim, name)
    return None if pod is None else pod.get("status", {}).get("phase")


def event_reasons(sim: KubernetesSimulator, name: str) -> list[str]:
    return [
        e["reason"]
        for e in sorted(
            sim.backend.objects(kinds.EVENTS, "default"), key=lambda e: int(e["metadata"]["resourceVersion"])
        )
        if e["involvedObject"]["name"] == name
    ]


async def create(http: aiohttp.ClientSession, body: JSON) -> JSON:
    response = await http.post(PODS, json=body)
    assert response.status == 201, await response.text()
    created: JSON = await response.json()
    return created


async def test_pod_runs_to_success_as_a_kubelet_reports_it(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    created = await create(http, pod_body("job"))
    assert created["status"]["phase"] == "Pending"
    await until(lambda: phase(kubernetes_simulator, "job") == "Running", what="the pod running")
    running = await (await http.get(f"{PODS}/job")).json()
    assert running["spec"]["nodeName"] == "sim-node-1"
    assert running["status"]["podIP"].startswith("10.244.0.")
    assert running["status"]["startTime"]
    assert running["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
    assert {c["type"]: c["status"] for c in running["status"]["conditions"]} == {
        "PodReadyToStartContainers": "True",
        "Initialized": "True",
        "Ready": "True",
        "ContainersReady": "True",
        "PodScheduled": "True",
    }
    await until(lambda: phase(kubernetes_simulator, "job") == "Succeeded", what="the pod succeeding")
    done = await (await http.get(f"{PODS}/job")).json()
    status = done["status"]["containerStatuses"][0]
    terminated = status["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"], status["ready"]) == (0, "Completed", False)
    assert terminated["startedAt"] <= terminated["finishedAt"]
    assert terminated["containerID"].startswith("containerd://")
    ready = next(c for c in done["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "PodCompleted")
    assert event_reasons(kubernetes_simulator, "job") == [
        "Scheduled",
        "Pulling",
        "Pulled",
        "Created",
        "Started",
    ]
    events = await (
        await http.get("/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Djob")
    ).json()
    assert {e["source"]["component"] for e in events["items"]} == {"default-scheduler", "kubelet"}
    # By default a container echoes its args, one line each.
    assert await (await http.get(f"{PODS}/job/log")).text() == "hello\nworld\n"


async def test_exit_codes_fail_the_pod_per_container(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    annotations = {EXIT_CODE + ".side1": "5", DURATION: "0.2", OUTPUT + ".side1": "boom"}
    await create(http, pod_body("two", annotations=annotations, containers=2))
    await until(lambda: phase(kubernetes_simulator, "two") == "Failed", what="the pod failing")
    pod = stored(kubernetes_simulator, "two")
    assert pod is not None
    states = {s["name"]: s["state"]["terminated"] for s in pod["status"]["containerStatuses"]}
    assert (states["base"]["exitCode"], states["base"]["reason"]) == (0, "Completed")
    assert (states["side1"]["exitCode"], states["side1"]["reason"]) == (5, "Error")
    assert await (await http.get(f"{PODS}/two/log?container=side1")).text() == "boom\n"
    assert await (await http.get(f"{PODS}/two/log?container=base")).text() == "hello\nworld\n"


async def test_control_api_sets_the_defaults(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    answer = await http.post(
        "/_simulator/pods", json={"exit_code": 7, "output": "one\ntwo", "duration_seconds": 0}
    )
    assert (await answer.json())["exit_code"] == 7
    bad = await http.post("/_simulator/pods", json={"colour": "red"})
    assert bad.status == 400
    assert "colour" in (await bad.json())["message"]
    await create(http, pod_body("defaults"))
    await until(lambda: phase(kubernetes_simulator, "defaults") == "Failed", what="the pod failing")
    assert await (await http.get(f"{PODS}/defaults/log")).text() == "one\ntwo\n"


async def test_missing_or_unbound_claims_leave_the_pod_pending(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    await create(http, pod_body("needs-data", claim="data"))
    message = (
        '0/1 nodes are available: persistentvolumeclaim "data" not found. preemption: 0/1 nodes are '
        "available: 1 Preemption is not helpful for scheduling."
    )

    def unschedulable(name: str) -> str | None:
        pod = stored(kubernetes_simulator, name) or {}
        conditions = {c["type"]: c for c in pod.get("status", {}).get("conditions") or []}
        scheduled = conditions.get("PodScheduled") or {}
        return scheduled.get("message") if scheduled.get("reason") == "Unschedulable" else None

    await until(lambda: unschedulable("needs-data") == message, what="the pod reported unschedulable")
    assert "FailedScheduling" in event_reasons(kubernetes_simulator, "needs-data")
    pod = stored(kubernetes_simulator, "needs-data")
    assert pod is not None
    assert "nodeName" not in pod["spec"]
    assert pod["status"]["phase"] == "Pending"
    # An unscheduled pod has an empty log, as the apiserver answers without a kubelet to ask.
    assert await (await http.get(f"{PODS}/needs-data/log")).text() == ""
    # An Immediate claim that cannot bind (its class does not exist) keeps a pod off the node too.
    await http.post(PVCS, json=claim_body("nowhere", storage_class="no-such-class"))
    await create(http, pod_body("needs-nowhere", claim="nowhere"))
    await until(
        lambda: "pod has unbound immediate PersistentVolumeClaims" in (unschedulable("needs-nowhere") or ""),
        what="the unbound claim reported",
    )
    # Once the claim exists and is bound, the scheduler places the pod and it runs.
    kubernetes_simulator.backend.seed(*bound_claim("data"))
    await until(lambda: phase(kubernetes_simulator, "needs-data") == "Succeeded", what="the pod succeeding")
    assert "Scheduled" in event_reasons(kubernetes_simulator, "needs-data")


async def test_wait_for_first_consumer_claim_binds_when_its_pod_is_scheduled(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    await http.post(PVCS, json=claim_body("lazy", storage_class="ontap-nas-wffc"))
    claim_events = "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dlazy"

    async def claim_reasons() -> list[str]:
        return [e["reason"] for e in (await (await http.get(claim_events)).json())["items"]]

    for _ in range(200):
        if "WaitForFirstConsumer" in await claim_reasons():
            break
        await asyncio.sleep(0.01)
    claim = await (await http.get(f"{PVCS}/lazy")).json()
    assert claim["status"]["phase"] == "Pending"
    await create(http, pod_body("consumer", claim="lazy"))
    await until(lambda: phase(kubernetes_simulator, "consumer") == "Succeeded", what="the consumer running")
    claim = await (await http.get(f"{PVCS}/lazy")).json()
    assert claim["status"]["phase"] == "Bound"
    assert claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "sim-node-1"
    assert "WaitForFirstConsumer" in await claim_reasons()


async def test_follow_streams_timestamped_lines_until_the_container_exits(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    annotations = {OUTPUT: "epoch 1\nepoch 2\nepoch 3\nepoch 4", DURATION: "0.8"}
    await create(http, pod_body("train", annotations=annotations))
    waiting = await http.get(f"{PODS}/train/log")
    if waiting.status == 400:  # asked before the container started, as a real kubelet answers
        assert "is waiting to start: ContainerCreating" in (await waiting.json())["message"]
    await until(lambda: phase(kubernetes_simulator, "train") == "Running", what="the pod running")
    response = await http.get(f"{PODS}/train/log?follow=true&timestamps=true")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    lines = [line.decode() async for line in response.content]
    # The stream ended because the container exited.
    pod = stored(kubernetes_simulator, "train")
    assert pod is not None
    assert "terminated" in pod["status"]["containerStatuses"][0]["state"]
    assert [STAMP.sub("", line) for line in lines] == ["epoch 1\n", "epoch 2\n", "epoch 3\n", "epoch 4\n"]
    assert all(STAMP.match(line) for line in lines)
    stamps = [line.split(" ", 1)[0] for line in lines]
    assert stamps == sorted(stamps)
    tail = await (await http.get(f"{PODS}/train/log?tailLines=2")).text()
    assert tail == "epoch 3\nepoch 4\n"
    assert await (await http.get(f"{PODS}/train/log?limitBytes=9")).text() == "epoch 1\ne"


async def test_since_seconds_keeps_only_recent_lines(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    # Three lines over 300 s: one at the start, one 100 s in, one 200 s in.
    await create(http, pod_body("slow", annotations={OUTPUT: "early\nmiddle\nlate", DURATION: "300"}))
    await until(lambda: phase(kubernetes_simulator, "slow") == "Running", what="the pod running")
    pod = stored(kubernetes_simulator, "slow")
    assert pod is not None
    clock = kubernetes_simulator.backend.pods.clock(pod, "base")
    assert clock is not None
    clock.started = time.time() - 150  # the pod has run 150 s: "early" and "middle" are out
    assert await (await http.get(f"{PODS}/slow/log")).text() == "early\nmiddle\n"
    assert await (await http.get(f"{PODS}/slow/log?sinceSeconds=100")).text() == "middle\n"
    since = datetime.datetime.fromtimestamp(time.time() - 100, datetime.timezone.utc)
    query = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert await (await http.get(f"{PODS}/slow/log", params={"sinceTime": query})).text() == "middle\n"
    invalid = await http.get(f"{PODS}/slow/log?sinceSeconds=0")
    assert invalid.status == 422


async def test_log_errors_name_the_container(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    await create(http, pod_body("pair", containers=2))
    unnamed = await http.get(f"{PODS}/pair/log")
    assert unnamed.status == 400
    assert (await unnamed.json())["message"] == (
        "a container name must be specified for pod pair, choose one of: [base side1]"
    )
    wrong = await http.get(f"{PODS}/pair/log?container=nope")
    assert (await wrong.json())["message"] == "container nope is not valid for pod pair"
    missing = await http.get(f"{PODS}/ghost/log")
    assert missing.status == 404
    assert (await missing.json())["message"] == 'pods "ghost" not found'


async def test_delete_waits_for_the_grace_period_then_kills(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    # The container ignores SIGTERM (it would take 1000 s to stop), so the grace period decides.
    await create(http, pod_body("stubborn", annotations={DURATION: "600", STOP_SECONDS: "1000"}))
    await until(lambda: phase(kubernetes_simulator, "stubborn") == "Running", what="the pod running")
    watch = await http.get(f"{PODS}?watch=true&fieldSelector=metadata.name%3Dstubborn")
    deleted = await http.delete(f"{PODS}/stubborn", json={"gracePeriodSeconds": 1})
    assert deleted.status == 200
    marked = await deleted.json()
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 1
    assert marked["metadata"]["deletionTimestamp"]
    assert (await http.get(f"{PODS}/stubborn")).status == 200  # still stopping
    # A write while it stops (the operator labels pods it has dealt with) does not remove it early.
    patched = await http.patch(
        f"{PODS}/stubborn",
        data=json.dumps({"metadata": {"labels": {"already_checked": "True"}}}),
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert patched.status == 200
    assert (await http.get(f"{PODS}/stubborn")).status == 200
    seen: list[JSON] = []
    while not seen or seen[-1]["type"] != "DELETED":
        seen.append(json.loads(await asyncio.wait_for(watch.content.readline(), 10)))
    watch.close()
    last_state = seen[-1]["object"]["status"]["containerStatuses"][0]["state"]
    assert last_state["terminated"]["exitCode"] == 137  # SIGKILL at the end of the grace period
    assert "Killing" in event_reasons(kubernetes_simulator, "stubborn")


async def test_delete_of_a_pod_that_stops_on_sigterm_or_has_finished(
    kubernetes_simulator: KubernetesSimulator, http: aiohttp.ClientSession
) -> None:
    await create(http, pod_body("polite", annotations={DURATION: "600"}))
    await create(http, pod_body("finished", annotations={DURATION: "0"}))
    await until(lambda: phase(kubernetes_simulator, "polite") == "Running", what="the pod running")
    await until(lambda: phase(kubernetes_simulator, "finished") == "Succeeded", what="the pod finishing")
    # A finished pod goes at once, whatever the grace period.
    finished = await http.delete(f"{PODS}/finished", json={"gracePeriodSeconds": 30})
    assert "deletionTimestamp" not in (await finished.json())["metadata"]
    assert (await http.get(f"{PODS}/finished")).status == 404
    # A running one is marked; it exits on SIGTERM (143) well within its 30 s and is then removed.
    marked = await (await http.delete(f"{PODS}/polite")).json()
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30  # terminationGracePeriodSeconds' default
    await until(lambda: stored(kubernetes_simulator, "polite") is None, what="the pod removed")
    assert "Killing" in event_reasons(kubernetes_simulator, "polite")
