"""The Kubernetes client and the shared informer against the simulator, over real sockets."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.clients._shared import registry
from netapp_dataops_airflow.clients.kubernetes import (
    PERSISTENT_VOLUME_CLAIMS,
    STORAGE_CLASSES,
    VOLUME_SNAPSHOTS,
    ClusterConfig,
    KubernetesClient,
    client_key,
    shared_client,
)
from netapp_dataops_airflow.clients.kubernetes_informer import (
    ADMIT_PER_TURN,
    FATAL_ATTEMPTS,
    Informer,
    shared_informer,
)
from netapp_dataops_airflow.exceptions import ApiError, NetAppDataOpsError
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim
from tests.helpers.kubernetes import claim_body, cluster_config, kubeconfig_of, snapshot_body, watching
from tests.helpers.waiting import poll, until

QUICK = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05)


def never(obj: dict[str, Any] | None) -> str | None:
    """Check for wait_for that keeps waiting whatever it sees."""
    return None


def ready(obj: dict[str, Any] | None) -> str | None:
    """Check for wait_for: the snapshot's content name once ready, 'gone' if it vanished."""
    if obj is None:
        return "gone"
    status = obj.get("status") or {}
    return status["boundVolumeSnapshotContentName"] if status.get("readyToUse") else None


@pytest.fixture
def config(kubernetes_simulator: KubernetesSimulator, tmp_path: Path) -> ClusterConfig:
    """The client configuration for the plugin's simulator."""
    return cluster_config(kubernetes_simulator, tmp_path / "kubeconfig")


@pytest.fixture
async def client(config: ClusterConfig) -> AsyncIterator[KubernetesClient]:
    client = await KubernetesClient.connect(config, retry=QUICK)
    yield client
    await client.close()


async def test_crud_round_trip(client: KubernetesClient) -> None:
    created = await client.create(PERSISTENT_VOLUME_CLAIMS, claim_body("data"), "default")
    assert created["metadata"]["uid"]
    fetched = await client.get(PERSISTENT_VOLUME_CLAIMS, "data", "default")
    assert fetched["metadata"]["uid"] == created["metadata"]["uid"]

    patched = await client.merge_patch(
        PERSISTENT_VOLUME_CLAIMS, "data", {"metadata": {"labels": {"a": "b"}}}, "default"
    )
    assert patched["metadata"]["labels"] == {"a": "b"}

    listed = await client.list_objects(PERSISTENT_VOLUME_CLAIMS, "default", label_selector="a=b")
    assert [o["metadata"]["name"] for o in listed.items] == ["data"]
    assert listed.resource_version

    await client.delete(PERSISTENT_VOLUME_CLAIMS, "data", "default")


async def test_dry_run_stores_nothing(
    client: KubernetesClient, kubernetes_simulator: KubernetesSimulator
) -> None:
    await client.create(PERSISTENT_VOLUME_CLAIMS, claim_body("dry"), "default", dry_run=True)
    assert not kubernetes_simulator.backend.dump()["persistentvolumeclaims"]


@pytest.mark.parametrize(
    ("call", "status", "reason"),
    [
        (lambda c: c.get(PERSISTENT_VOLUME_CLAIMS, "missing", "default"), 404, "NotFound"),
        (lambda c: c.create(PERSISTENT_VOLUME_CLAIMS, claim_body("Bad_Name"), "default"), 422, "Invalid"),
    ],
)
async def test_errors_keep_status_and_reason(
    client: KubernetesClient, call: Any, status: int, reason: str
) -> None:
    with pytest.raises(ApiError) as raised:
        await call(client)
    assert (raised.value.status, raised.value.reason) == (status, reason)


async def test_already_exists_is_a_409(client: KubernetesClient) -> None:
    await client.create(PERSISTENT_VOLUME_CLAIMS, claim_body("twice"), "default")
    with pytest.raises(ApiError, match="already exists") as raised:
        await client.create(PERSISTENT_VOLUME_CLAIMS, claim_body("twice"), "default")
    assert raised.value.reason == "AlreadyExists"


async def test_delete_with_a_stale_uid_is_refused(client: KubernetesClient) -> None:
    await client.create(PERSISTENT_VOLUME_CLAIMS, claim_body("guarded"), "default")
    with pytest.raises(ApiError) as raised:
        await client.delete(PERSISTENT_VOLUME_CLAIMS, "guarded", "default", uid="not-this-one")
    assert raised.value.status == 409
    await client.get(PERSISTENT_VOLUME_CLAIMS, "guarded", "default")


@pytest.mark.parametrize(
    "inject",
    [
        lambda faults: faults.fail_requests(503, method="GET", times=2),
        lambda faults: faults.fail_requests(429, method="GET", retry_after=0, times=2),
        lambda faults: faults.drop_connections(method="GET", times=2),
    ],
    ids=["5xx", "429", "dropped"],
)
async def test_transient_failures_are_retried(
    client: KubernetesClient, kubernetes_simulator: KubernetesSimulator, inject: Any
) -> None:
    kubernetes_simulator.backend.seed(*bound_claim("retry-me"))
    inject(kubernetes_simulator.backend.faults)
    fetched = await client.get(PERSISTENT_VOLUME_CLAIMS, "retry-me", "default")
    assert fetched["status"]["phase"] == "Bound"


async def test_retries_give_up_with_the_last_error(
    client: KubernetesClient, kubernetes_simulator: KubernetesSimulator
) -> None:
    kubernetes_simulator.backend.faults.fail_requests(500, method="GET", times=QUICK.attempts)
    with pytest.raises(ApiError) as raised:
        await client.get(PERSISTENT_VOLUME_CLAIMS, "anything", "default")
    assert raised.value.status == 500


async def test_wrong_token_is_401_without_the_token(tmp_path: Path) -> None:
    async with KubernetesSimulator(token="right-token") as sim:
        wrong = cluster_config(sim, tmp_path / "kubeconfig", token="wrong-token")
        client = await KubernetesClient.connect(wrong, retry=QUICK)
        try:
            with pytest.raises(ApiError) as raised:
                await client.get(PERSISTENT_VOLUME_CLAIMS, "x", "default")
        finally:
            await client.close()
    assert raised.value.status == 401
    assert "credentials in the connection were rejected" in str(raised.value)
    assert "wrong-token" not in str(raised.value)


async def test_tls_is_verified_against_the_kubeconfig_ca(tmp_path: Path) -> None:
    async with KubernetesSimulator(tls=True, token=True) as sim:
        kubeconfig = kubeconfig_of(sim, tmp_path / "kubeconfig", inline_ca=True)
        good = await KubernetesClient.connect(ClusterConfig(kubeconfig=kubeconfig), retry=QUICK)
        del kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"]
        untrusting = await KubernetesClient.connect(ClusterConfig(kubeconfig=kubeconfig), retry=QUICK)
        try:
            classes = await good.list_objects(STORAGE_CLASSES)
            assert "ontap-nas" in [c["metadata"]["name"] for c in classes.items]
            with pytest.raises(ApiError, match="cannot reach the Kubernetes API"):
                await untrusting.get(PERSISTENT_VOLUME_CLAIMS, "x", "default")
        finally:
            await good.close()
            await untrusting.close()


async def test_shared_client_is_one_per_cluster_and_loop(config: ClusterConfig) -> None:
    async with shared_client(config) as one, shared_client(config) as two:
        assert one is two


async def test_a_rotated_token_replaces_the_shared_client_instead_of_adding_one(tmp_path: Path) -> None:
    async with KubernetesSimulator(token="token-0") as sim:
        shared = await registry()
        clients: list[KubernetesClient] = []
        async with shared_client(cluster_config(sim, tmp_path / "kc", token="token-0")) as first:
            clients.append(first)
            for rotation in range(1, 31):
                token = sim.backend.tokens.issue(f"token-{rotation}")
                sim.backend.tokens.revoke(f"token-{rotation - 1}")
                async with shared_client(cluster_config(sim, tmp_path / "kc", token=token)) as client:
                    await client.list_objects(STORAGE_CLASSES)  # made with the new token
                    clients.append(client)
                in_use = shared.keys()
                clients_in_use = [key for key in in_use if isinstance(key, tuple) and key[0] == "kubernetes"]
                assert clients_in_use == [client_key(cluster_config(sim, tmp_path / "kc", token=token))]
            assert len({id(client) for client in clients}) == 31
            assert not first.closed  # retired, but still in use here
        assert first.closed
        assert all(client.closed for client in clients[:-1])
        assert not clients[-1].closed  # the current one, kept for the next user


# -- informer ----------------------------------------------------------------------------------


async def test_many_waiters_share_one_list_and_one_watch(
    kubernetes_simulator: KubernetesSimulator, config: ClusterConfig
) -> None:
    kubernetes_simulator.backend.seed(*bound_claim("source"))
    names = [f"snap-{i}" for i in range(25)]
    async with (
        shared_client(config) as client,
        shared_informer(config, VOLUME_SNAPSHOTS, "default") as informer,
    ):
        # As in production: each object is created (by a task) before its wait starts.
        waits = []
        for name in names:
            await client.create(VOLUME_SNAPSHOTS, snapshot_body(name, "source"), "default")
            waits.append(asyncio.ensure_future(informer.wait_for(name, ready)))
        contents = await asyncio.wait_for(asyncio.gather(*waits), timeout=30)
    assert all(content.startswith("snapcontent-") for content in contents)
    assert (informer.stats.lists, informer.stats.watches) == (1, 1)


async def test_waiters_of_one_namespace_join_the_same_informer(config: ClusterConfig) -> None:
    async with shared_informer(config, VOLUME_SNAPSHOTS, "default") as one:
        async with shared_informer(config, VOLUME_SNAPSHOTS, "default") as two:
            assert one is two
        async with shared_informer(config, VOLUME_SNAPSHOTS, "other") as three:
            assert three is not one


async def test_object_created_before_the_wait_is_found(
    kubernetes_simulator: KubernetesSimulator, config: ClusterConfig
) -> None:
    kubernetes_simulator.backend.seed(*bound_claim("source"))
    async with shared_client(config) as client:
        await client.create(VOLUME_SNAPSHOTS, snapshot_body("early", "source"), "default")
    async with shared_informer(config, VOLUME_SNAPSHOTS, "default") as informer:
        assert (await asyncio.wait_for(informer.wait_for("early", ready), 30)).startswith("snapcontent-")


async def test_missing_object_is_reported_gone(config: ClusterConfig) -> None:
    async with shared_informer(config, VOLUME_SNAPSHOTS, "default") as informer:
        assert await asyncio.wait_for(informer.wait_for("never-created", ready), 30) == "gone"


async def test_deletion_during_the_wait_ends_it(
    kubernetes_simulator: KubernetesSimulator, config: ClusterConfig
) -> None:
    kubernetes_simulator.backend.seed(*bound_claim("unbound-source"))
    kubernetes_simulator.backend.timing.update(
        snapshot=30.0
    )  # the snapshot will not progress during this test
    async with (
        shared_client(config) as client,
        shared_informer(config, VOLUME_SNAPSHOTS, "default") as informer,
    ):
        await client.create(VOLUME_SNAPSHOTS, snapshot_body("doomed", "unbound-source"), "default")
        wait = asyncio.ensure_future(informer.wait_for("doomed", ready))
        await asyncio.sleep(0.2)
        assert not wait.done()
        await client.delete(VOLUME_SNAPSHOTS, "doomed", "default")
        assert await asyncio.wait_for(wait, 30) == "gone"


async def test_recreated_name_with_another_uid_counts_as_gone(
    kubernetes_simulator: KubernetesSimulator, config: ClusterConfig
) -> None:
    async with shared_client(config) as client:
        first = await client.create(PERSISTENT_VOLUME_CLAIMS, claim_body("reborn"), "default")
        await client.delete(PERSISTENT_VOLUME_CLAIMS, "reborn", "default")
        await client.create(PERSISTENT_VOLUME_CLAIMS, claim_body("reborn"), "default")

    def bound(obj: dict[str, Any] | None) -> str | None:
        if obj is None:
            return "gone"
        return "bound" if (obj.get("status") or {}).get("phase") == "Bound" else None

    async with shared_informer(config, PERSISTENT_VOLUME_CLAIMS, "default") as informer:
        outcome = await asyncio.wait_for(informer.wait_for("reborn", bound, uid=first["metadata"]["uid"]), 30)
    assert outcome == "gone"


def expire_watches_and_history(sim: KubernetesSimulator) -> None:
    """End open watches, and hold the next one while history moves on and is compacted, so the
    informer's resume version has expired by the time the server reads it."""
    sim.backend.faults.stall_requests(1.0, method="GET", path="volumesnapshots")
    sim.backend.expire_watches()
    sim.backend.seed(snapshot_body("bystander", "source", namespace="default"))
    sim.backend.compact()


@pytest.mark.parametrize(
    ("disrupt", "lists", "relists"),
    [
        (lambda sim: sim.backend.expire_watches(), 1, 0),  # nothing missed: re-watch, no relist
        (expire_watches_and_history, 2, 1),
    ],
    ids=["watch-ended", "version-too-old"],
)
async def test_informer_recovers_from_an_ended_watch(
    kubernetes_simulator: KubernetesSimulator, config: ClusterConfig, disrupt: Any, lists: int, relists: int
) -> None:
    kubernetes_simulator.backend.seed(*bound_claim("source"))
    kubernetes_simulator.backend.timing.update(snapshot_ready=0.5)
    async with (
        shared_client(config) as client,
        shared_informer(config, VOLUME_SNAPSHOTS, "default") as informer,
    ):
        await client.create(VOLUME_SNAPSHOTS, snapshot_body("survivor", "source"), "default")
        wait = asyncio.ensure_future(informer.wait_for("survivor", ready))
        await asyncio.sleep(0.1)
        disrupt(kubernetes_simulator)
        assert (await asyncio.wait_for(wait, 30)).startswith("snapcontent-")
    assert informer.stats.watches >= 2
    assert (informer.stats.lists, informer.stats.relists_after_expiry) == (lists, relists)


async def test_forbidden_list_fails_waiters_fast(
    kubernetes_simulator: KubernetesSimulator, config: ClusterConfig
) -> None:
    kubernetes_simulator.backend.faults.fail_requests(403, method="GET", path="volumesnapshots", times=1000)
    async with shared_informer(config, VOLUME_SNAPSHOTS, "default") as informer:
        with pytest.raises(ApiError) as raised:
            await asyncio.wait_for(informer.wait_for("any", ready), 30)
    assert raised.value.status == 403
    assert "k8s/rbac.yaml" in str(raised.value)


async def test_informer_stops_cleanly(client: KubernetesClient) -> None:
    informer = Informer(client, VOLUME_SNAPSHOTS, "default")
    informer.start()
    wait = asyncio.ensure_future(informer.wait_for("x", never))
    await asyncio.sleep(0.1)
    await informer.close()
    with pytest.raises(asyncio.CancelledError):
        await wait


async def test_a_token_revoked_after_the_sync_fails_every_waiter_after_a_few_tries(tmp_path: Path) -> None:
    async with KubernetesSimulator(token="old-secret") as sim:
        config = cluster_config(sim, tmp_path / "kc", token="old-secret")
        async with shared_informer(config, VOLUME_SNAPSHOTS, "default") as informer:
            waits = [asyncio.ensure_future(informer.wait_for(f"snap-{i}", never)) for i in range(3)]
            await watching(sim)
            # Each waiter reads its (missing) object once; revoked before that, the read's own 401
            # would fail it, not the informer giving up.
            await until(lambda: informer.stats.reads == 3, what="every waiter's first read")
            sim.backend.tokens.revoke("old-secret")
            sim.backend.expire_watches()  # the next watch (and list) must authenticate again
            failures = await asyncio.wait_for(asyncio.gather(*waits, return_exceptions=True), 30)
            assert informer.given_up
        for failure in failures:
            assert isinstance(failure, ApiError)
            assert failure.status == 401
            assert f"HTTP 401 (tried {FATAL_ATTEMPTS} times)" in str(failure)
            assert "credentials in the connection were rejected" in str(failure)
            assert "old-secret" not in str(failure)
        # It gave up: closed at once (not kept for 60 s), its lease on the client given back.
        assert (await registry()).users(client_key(config)) == 0

        # A rotation brings a new version: a fresh informer and client, which work.
        new = sim.backend.tokens.issue("new")
        rotated = cluster_config(sim, tmp_path / "kc", token=new)
        async with (
            shared_client(rotated) as client,
            shared_informer(rotated, VOLUME_SNAPSHOTS, "default") as fresh,
        ):
            assert fresh is not informer
            await client.create(VOLUME_SNAPSHOTS, snapshot_body("after", "missing-pvc"), "default")
            seen = await asyncio.wait_for(fresh.wait_for("after", lambda obj: obj), 30)
            assert seen["metadata"]["name"] == "after"


async def test_an_unexpected_error_in_the_informer_reaches_every_waiter(
    kubernetes_simulator: KubernetesSimulator, config: ClusterConfig
) -> None:
    async with shared_informer(config, VOLUME_SNAPSHOTS, "default") as informer:
        waits = [asyncio.ensure_future(informer.wait_for(f"snap-{i}", never)) for i in range(3)]
        await watching(kubernetes_simulator)
        kubernetes_simulator.backend.faults.garble_watch_lines(1)
        async with shared_client(config) as client:
            await client.create(VOLUME_SNAPSHOTS, snapshot_body("trigger", "missing-pvc"), "default")
        failures = await asyncio.wait_for(asyncio.gather(*waits, return_exceptions=True), 30)
    for failure in failures:
        assert isinstance(failure, NetAppDataOpsError)
        assert "stopped on an unexpected JSONDecodeError" in str(failure)
        assert "volumesnapshots in namespace 'default'" in str(failure)
    # A waiter that comes later is not told about the dead one: it gets a fresh informer.
    async with shared_informer(config, VOLUME_SNAPSHOTS, "default") as fresh:
        assert fresh is not informer
        assert (await asyncio.wait_for(fresh.wait_for("trigger", lambda obj: obj), 30)) is not None


def test_the_watch_and_the_client_are_closed_when_the_loop_of_a_wait_ends(
    kubernetes_simulator: KubernetesSimulator, config: ClusterConfig
) -> None:
    kubernetes_simulator.backend.seed(*bound_claim("data"))

    async def wait() -> KubernetesClient:
        async with shared_informer(config, PERSISTENT_VOLUME_CLAIMS, "default") as informer:
            assert await asyncio.wait_for(informer.wait_for("data", lambda obj: obj), 30)
            await watching(kubernetes_simulator, "persistentvolumeclaims")
            return informer.client  # nothing closed or stopped by hand

    client = asyncio.run(wait())
    assert client.closed
    # The server notices the closed connection in its own thread.
    poll(kubernetes_simulator.backend.stats.open_watches, lambda count: count == 0, "the watch to close")
    assert kubernetes_simulator.backend.stats.to_json()["watches"][0]["opened"] == 1


async def test_waiters_that_joined_before_the_first_list_are_let_through_a_batch_per_loop_turn(
    kubernetes_simulator: KubernetesSimulator, config: ClusterConfig
) -> None:
    waiting = ADMIT_PER_TURN * 2 + 50
    kubernetes_simulator.backend.seed(
        *bound_claim("source"),
        *(snapshot_body(f"snap-{i}", "source", namespace="default") for i in range(waiting)),
    )
    loop = asyncio.get_running_loop()
    turn = 0

    def tick() -> None:  # counts turns of the loop
        nonlocal turn
        turn += 1
        if not done.is_set():
            loop.call_soon(tick)

    done = asyncio.Event()
    checked_at: list[int] = []

    def check(obj: dict[str, Any] | None) -> str:
        checked_at.append(turn)
        return "seen"

    loop.call_soon(tick)
    async with shared_informer(config, VOLUME_SNAPSHOTS, "default") as informer:
        # All join before the informer's first LIST is in, as when a triggerer starts many waits.
        outcomes = await asyncio.gather(*(informer.wait_for(f"snap-{i}", check) for i in range(waiting)))
    done.set()
    assert outcomes == ["seen"] * waiting
    per_turn = collections.Counter(checked_at)
    assert max(per_turn.values()) <= ADMIT_PER_TURN, per_turn
    assert len(per_turn) >= 3, per_turn
