"""The snapshot and claim triggers driven directly in one event loop, against the simulator."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from netapp_dataops_airflow.clients._shared import registry
from netapp_dataops_airflow.clients.kubernetes import (
    PERSISTENT_VOLUME_CLAIMS,
    VOLUME_SNAPSHOTS,
    KubernetesClient,
    shared_client,
)
from netapp_dataops_airflow.hooks.kubernetes import K8sHook
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim
from netapp_dataops_airflow.triggers.kubernetes import (
    PersistentVolumeClaimBoundTrigger,
    VolumeSnapshotReadyTrigger,
)
from tests.helpers.airflow import only_event, rebuilt
from tests.helpers.connections import kubernetes_fields
from tests.helpers.kubernetes import (
    alive,
    claim_body,
    claim_source,
    kubeconfig_of,
    snapshot_body,
    watching,
)

pytestmark = pytest.mark.timeout(60)


async def create_snapshot(client: KubernetesClient, pvc: str = "data", name: str = "snap") -> str:
    created = await client.create(VOLUME_SNAPSHOTS, snapshot_body(name, pvc), "default")
    return str(created["metadata"]["uid"])


def snapshot_trigger(uid: str, name: str = "snap", **kwargs: Any) -> VolumeSnapshotReadyTrigger:
    return VolumeSnapshotReadyTrigger(name=name, namespace="default", uid=uid, **kwargs)


async def test_snapshot_becomes_ready(client: KubernetesClient) -> None:
    uid = await create_snapshot(client)
    event = await only_event(snapshot_trigger(uid))
    assert event["status"] == "success"
    assert (event["name"], event["namespace"], event["uid"]) == ("snap", "default", uid)
    result = event["result"]
    assert result["ready_to_use"] is True
    assert result["source_pvc"] == "data"
    assert result["restore_size"] == "1Gi"
    assert result["volume_snapshot_content"] == f"snapcontent-{uid}"
    assert result["snapshot_handle"].endswith(f"/snapshot-{uid}")
    assert result["volume_snapshot_class"] == "csi-snapclass"
    json.dumps(event)  # plain JSON all the way down


def requests_by_verb(simulator: KubernetesSimulator) -> dict[str, int]:
    return dict(simulator.backend.stats.to_json()["requests"]["byVerb"])


async def test_snapshot_handles_come_from_one_shared_content_informer(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient
) -> None:
    uids = [await create_snapshot(client, name=f"snap-{index}") for index in range(3)]
    events = await asyncio.gather(
        *(only_event(snapshot_trigger(uid, name=f"snap-{index}")) for index, uid in enumerate(uids))
    )
    for uid, event in zip(uids, events, strict=True):
        assert event["status"] == "success", event
        assert event["result"]["snapshot_handle"].endswith(f"/snapshot-{uid}")
    verbs = requests_by_verb(seeded_kubernetes)
    # One LIST of contents (and at most one WATCH) for the three waits; no GET per snapshot.
    assert verbs.get("list volumesnapshotcontents") == 1, verbs
    assert verbs.get("watch volumesnapshotcontents", 0) <= 1, verbs
    assert "get volumesnapshotcontents" not in verbs, verbs


async def test_a_ready_snapshot_whose_content_is_missing_succeeds_without_a_handle(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient
) -> None:
    body = snapshot_body("orphan", "data")
    body["metadata"]["namespace"] = "default"
    body["status"] = {"boundVolumeSnapshotContentName": "snapcontent-gone", "readyToUse": True}
    (seeded,) = seeded_kubernetes.backend.seed(body)
    event = await only_event(snapshot_trigger(seeded["metadata"]["uid"], name="orphan"))
    assert event["status"] == "success", event
    assert event["result"]["volume_snapshot_content"] == "snapcontent-gone"
    assert event["result"]["snapshot_handle"] is None


async def test_a_content_informer_refused_by_rbac_falls_back_to_reading_the_content(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient
) -> None:
    # LIST and WATCH of contents are forbidden (the query string follows the plural); GET is not.
    seeded_kubernetes.backend.faults.fail_requests(
        403, method="GET", path=r"/volumesnapshotcontents\?", times=100, message="forbidden"
    )
    uid = await create_snapshot(client)
    event = await only_event(snapshot_trigger(uid))
    assert event["status"] == "success", event
    assert event["result"]["snapshot_handle"].endswith(f"/snapshot-{uid}")
    assert requests_by_verb(seeded_kubernetes).get("get volumesnapshotcontents") == 1


async def test_persisting_status_error_fails_with_the_controllers_message(client: KubernetesClient) -> None:
    uid = await create_snapshot(client, pvc="no-such-claim")
    event = await only_event(snapshot_trigger(uid, failure_grace_period=0.5))
    assert event["status"] == "failed"
    assert "cannot get claim from snapshot" in event["message"]
    assert "VolumeSnapshot default/snap" in event["message"]


async def test_an_error_that_clears_within_the_grace_period_is_waited_out(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient
) -> None:
    seeded_kubernetes.backend.timing.update(retry=0.3)
    seeded_kubernetes.backend.faults.fail_next_snapshot("ONTAP is busy")
    uid = await create_snapshot(client)
    event = await only_event(snapshot_trigger(uid, failure_grace_period=10))
    assert event["status"] == "success", event


async def test_the_deadline_yields_a_timeout(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient
) -> None:
    seeded_kubernetes.backend.timing.update(snapshot=30.0)
    uid = await create_snapshot(client)
    event = await only_event(snapshot_trigger(uid, deadline=time.time() + 0.5))
    assert event["status"] == "timeout"
    assert "did not finish by its deadline" in event["message"]


async def test_a_deadline_already_past_times_out_at_once(client: KubernetesClient) -> None:
    uid = await create_snapshot(client)
    event = await only_event(snapshot_trigger(uid, deadline=time.time() - 1))
    assert event["status"] == "timeout"


async def test_deletion_during_the_wait_fails_it(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient
) -> None:
    seeded_kubernetes.backend.timing.update(snapshot=30.0)
    uid = await create_snapshot(client)
    waiting = asyncio.ensure_future(only_event(snapshot_trigger(uid)))
    await asyncio.sleep(0.3)
    await client.delete(VOLUME_SNAPSHOTS, "snap", "default")
    event = await waiting
    assert event["status"] == "failed"
    assert "was deleted" in event["message"]


async def test_a_recreated_snapshot_is_not_mistaken_for_the_one_waited_for(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient
) -> None:
    uid = await create_snapshot(client)
    await client.delete(VOLUME_SNAPSHOTS, "snap", "default")
    await create_snapshot(client)  # same name, new uid, becomes ready
    event = await only_event(snapshot_trigger(uid))
    assert event["status"] == "failed"


@pytest.mark.parametrize(
    "disturb",
    [
        pytest.param(lambda sim: sim.backend.expire_watches(), id="watch-ended"),
        pytest.param(lambda sim: sim.backend.faults.drop_connections(method="GET", times=3), id="dropped"),
        pytest.param(lambda sim: (sim.backend.expire_watches(), sim.backend.compact()), id="410"),
        pytest.param(lambda sim: sim.backend.faults.fail_requests(503, method="GET", times=3), id="5xx"),
        pytest.param(
            lambda sim: sim.backend.faults.fail_requests(429, method="GET", times=3, retry_after=0), id="429"
        ),
    ],
)
async def test_the_wait_survives_a_disturbed_api(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient, disturb: Any
) -> None:
    seeded_kubernetes.backend.timing.update(snapshot_ready=1.0)
    uid = await create_snapshot(client)
    waiting = asyncio.ensure_future(only_event(snapshot_trigger(uid)))
    await asyncio.sleep(0.3)  # the informer is watching by now
    disturb(seeded_kubernetes)
    event = await waiting
    assert event["status"] == "success", event


async def test_a_rebuilt_trigger_completes_the_wait(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient
) -> None:
    """A triggerer restart: the trigger is dropped mid-wait and rebuilt from its serialized kwargs."""
    seeded_kubernetes.backend.timing.update(snapshot_ready=1.0)
    uid = await create_snapshot(client)
    original = snapshot_trigger(uid, deadline=time.time() + 30)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(only_event(original), 0.3)
    again = rebuilt(original)
    assert again.serialize() == original.serialize()
    event = await only_event(again)
    assert event["status"] == "success"
    assert event["uid"] == uid


async def test_on_kill_deletes_the_snapshot_it_waits_for(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient
) -> None:
    seeded_kubernetes.backend.timing.update(snapshot=30.0)
    uid = await create_snapshot(client)
    await snapshot_trigger(uid).on_kill()
    assert not await alive(client, VOLUME_SNAPSHOTS, "snap")


async def test_on_kill_keeps_the_snapshot_without_cancel_on_kill(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient
) -> None:
    uid = await create_snapshot(client)
    await snapshot_trigger(uid, cancel_on_kill=False).on_kill()
    assert await alive(client, VOLUME_SNAPSHOTS, "snap")


async def test_on_kill_never_deletes_another_incarnation(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient
) -> None:
    uid = await create_snapshot(client)
    await client.delete(VOLUME_SNAPSHOTS, "snap", "default")
    await create_snapshot(client)  # someone else's snapshot now has the name
    await snapshot_trigger(uid).on_kill()
    assert await alive(client, VOLUME_SNAPSHOTS, "snap")


async def test_claim_binds(client: KubernetesClient) -> None:
    created = await client.create(PERSISTENT_VOLUME_CLAIMS, claim_body("fresh"), "default")
    uid = created["metadata"]["uid"]
    event = await only_event(PersistentVolumeClaimBoundTrigger(name="fresh", namespace="default", uid=uid))
    assert event["status"] == "success", event
    result = event["result"]
    assert result["volume"] == f"pvc-{uid}"
    assert (result["capacity"], result["storage_class"], result["phase"]) == ("1Gi", "ontap-nas", "Bound")


async def test_clone_binds_with_its_source(client: KubernetesClient) -> None:
    body = claim_body("copy", dataSource=claim_source("data"))
    uid = (await client.create(PERSISTENT_VOLUME_CLAIMS, body, "default"))["metadata"]["uid"]
    event = await only_event(PersistentVolumeClaimBoundTrigger(name="copy", namespace="default", uid=uid))
    assert event["status"] == "success", event
    assert (event["result"]["source_kind"], event["result"]["source_name"]) == (
        "PersistentVolumeClaim",
        "data",
    )


async def test_wait_for_first_consumer_fails_fast_with_an_explanation(client: KubernetesClient) -> None:
    body = claim_body("lazy", storage_class="ontap-nas-wffc")
    uid = (await client.create(PERSISTENT_VOLUME_CLAIMS, body, "default"))["metadata"]["uid"]
    trigger = PersistentVolumeClaimBoundTrigger(
        name="lazy", namespace="default", uid=uid, deadline=time.time() + 30
    )
    event = await only_event(trigger)
    assert event["status"] == "failed"
    assert "WaitForFirstConsumer" in event["message"]
    assert "Immediate" in event["message"]


async def test_persisting_provisioning_failure_fails_with_the_provisioners_message(
    client: KubernetesClient,
) -> None:
    # A clone smaller than its source: external-provisioner refuses it, again and again.
    body = claim_body("small", size="100Mi", dataSource=claim_source("data"))
    uid = (await client.create(PERSISTENT_VOLUME_CLAIMS, body, "default"))["metadata"]["uid"]
    trigger = PersistentVolumeClaimBoundTrigger(
        name="small", namespace="default", uid=uid, failure_grace_period=1.0
    )
    event = await only_event(trigger)
    assert event["status"] == "failed"
    assert "greater than or equal in size" in event["message"]


async def test_trigger_kwargs_and_events_hold_no_secret(
    airflow_connection: Callable[..., str], tmp_path: Path
) -> None:
    async with KubernetesSimulator(token="top-secret-token") as secured:
        secured.backend.seed(*bound_claim("data"))
        airflow_connection("secured", **kubernetes_fields(kubeconfig_of(secured, tmp_path / "kc")))
        trigger = PersistentVolumeClaimBoundTrigger(
            name="data", namespace="default", kubernetes_conn_id="secured"
        )
        event = await only_event(trigger)
    assert event["status"] == "success"
    assert "top-secret-token" not in json.dumps(trigger.serialize())
    assert "top-secret-token" not in json.dumps(event)


async def test_a_token_revoked_during_the_wait_ends_it_with_the_cause_and_a_rotation_recovers(
    airflow_connection: Callable[..., str], tmp_path: Path
) -> None:
    async with KubernetesSimulator(token="first-secret") as sim:
        sim.backend.seed(*bound_claim("data"))
        sim.backend.timing.update(snapshot=30.0)  # not ready while the first wait runs
        airflow_connection("secured", **kubernetes_fields(kubeconfig_of(sim, tmp_path / "kc")))
        async with shared_client(await K8sHook("secured").get_connection_settings().acluster_config()) as c:
            uid = await create_snapshot(c)
        waiting = asyncio.ensure_future(only_event(snapshot_trigger(uid, kubernetes_conn_id="secured")))
        await watching(sim)
        sim.backend.tokens.revoke("first-secret")
        sim.backend.expire_watches()
        event = await waiting
        assert event["status"] == "error", event
        assert "HTTP 401" in event["message"]
        assert "credentials in the connection were rejected" in event["message"]
        assert "first-secret" not in event["message"]

        # The connection now holds a new token: the next wait gets a new client and informer.
        rotated = kubeconfig_of(sim, tmp_path / "kc", token=sim.backend.tokens.issue("second-secret"))
        airflow_connection("secured", **kubernetes_fields(rotated))
        sim.backend.timing.update(snapshot=0.05)
        async with shared_client(await K8sHook("secured").get_connection_settings().acluster_config()) as c:
            uid = await create_snapshot(c, name="snap-2")
        event = await only_event(snapshot_trigger(uid, name="snap-2", kubernetes_conn_id="secured"))
        assert event["status"] == "success", event
        shared = await registry()
        kinds = [key[0] for key in shared.keys() if isinstance(key, tuple)]  # noqa: SIM118 (not a dict)
        # One client; one informer of the namespace's snapshots and one of the cluster's contents.
        assert (kinds.count("kubernetes"), kinds.count("kubernetes-informer")) == (1, 2)


async def test_a_garbled_watch_event_ends_the_wait_with_an_error(
    seeded_kubernetes: KubernetesSimulator, client: KubernetesClient
) -> None:
    seeded_kubernetes.backend.timing.update(snapshot=30.0)
    uid = await create_snapshot(client)
    waiting = asyncio.ensure_future(only_event(snapshot_trigger(uid)))
    await watching(seeded_kubernetes)
    seeded_kubernetes.backend.faults.garble_watch_lines(1)
    await client.create(VOLUME_SNAPSHOTS, snapshot_body("bystander", "data"), "default")
    event = await waiting
    assert event["status"] == "error", event
    assert "unexpected JSONDecodeError" in event["message"]
