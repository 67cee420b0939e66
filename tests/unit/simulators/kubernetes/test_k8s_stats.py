"""The simulator's own counters: what it served and when objects became ready (no sockets)."""

from __future__ import annotations

import time

from netapp_dataops_airflow.simulators.kubernetes import bound_claim, kinds
from netapp_dataops_airflow.simulators.kubernetes.stats import ServerStats, verb_of
from tests.helpers.kubernetes import SteppedKubernetes, snapshot_body


def test_verbs_follow_kubernetes_naming() -> None:
    assert verb_of("GET", named=True, watch=False) == "get"
    assert verb_of("GET", named=False, watch=False) == "list"
    assert verb_of("GET", named=False, watch=True) == "watch"
    assert verb_of("POST", named=False, watch=False) == "create"
    assert verb_of("PATCH", named=True, watch=False) == "patch"
    assert verb_of("DELETE", named=False, watch=False) == "deletecollection"


def test_requests_and_watches_are_counted_per_resource_and_namespace() -> None:
    stats = ServerStats()
    stats.record_request("GET", kinds.SNAPSHOTS, named=False, watch=True)
    stats.record_request("GET", kinds.SNAPSHOTS, named=False, watch=False)
    stats.record_request("GET", kinds.CONTENTS, named=True, watch=False)
    stats.record_request("GET", None, named=False, watch=False)
    stats.watch_opened(kinds.SNAPSHOTS, "a")
    stats.watch_opened(kinds.SNAPSHOTS, "b")
    stats.watch_closed(kinds.SNAPSHOTS, "b")

    counted = stats.to_json()
    assert counted["requests"] == {
        "total": 4,
        "byVerb": {
            "get volumesnapshotcontents": 1,
            "list volumesnapshots": 1,
            "non-resource": 1,
            "watch volumesnapshots": 1,
        },
    }
    assert counted["watches"] == [
        {"resource": "volumesnapshots", "namespace": "a", "opened": 1, "open": 1},
        {"resource": "volumesnapshots", "namespace": "b", "opened": 1, "open": 0},
    ]
    stats.clear()
    assert stats.to_json()["requests"]["total"] == 0
    # Clearing forgets what was opened, not what is still open.
    assert stats.to_json()["watches"] == [
        {"resource": "volumesnapshots", "namespace": "a", "opened": 0, "open": 1}
    ]


def test_open_watches_are_counted_per_resource_or_in_all() -> None:
    stats = ServerStats()
    stats.watch_opened(kinds.SNAPSHOTS, "a")
    stats.watch_opened(kinds.SNAPSHOTS, None)
    stats.watch_opened(kinds.PVCS, "a")
    stats.watch_closed(kinds.PVCS, "a")
    assert (stats.open_watches(), stats.open_watches("volumesnapshots")) == (2, 2)
    assert stats.open_watches("persistentvolumeclaims") == 0


def test_a_snapshot_becoming_ready_is_timed_once_at_commit() -> None:
    stepped = SteppedKubernetes()
    backend = stepped.backend
    backend.seed(*bound_claim("data"))
    before = time.time()
    created = backend.create(kinds.SNAPSHOTS, "default", snapshot_body("snap", "data"))
    stepped.settle()

    assert dig_ready(backend.get(kinds.SNAPSHOTS, "default", "snap"))
    ready = backend.stats.to_json()["ready"]
    # The claim was seeded Bound: stored ready is becoming ready too.
    assert sorted(ready) == ["persistentvolumeclaims/default/data", "volumesnapshots/default/snap"]
    timed = ready["volumesnapshots/default/snap"]
    assert timed["uid"] == created["metadata"]["uid"]
    assert before <= timed["committedAt"] <= time.time()
    assert timed["sentAt"] is None  # no watch carried it

    # A later change of a ready snapshot is not a new transition.
    at = timed["committedAt"]
    backend.mutate(kinds.SNAPSHOTS, "default", "snap", lambda s: s["metadata"].update(labels={"x": "y"}))
    assert backend.stats.to_json()["ready"]["volumesnapshots/default/snap"]["committedAt"] == at


def test_the_first_event_carrying_readiness_is_timed_as_sent() -> None:
    stats = ServerStats()
    pending = {"metadata": {"name": "s", "namespace": "ns", "uid": "u", "resourceVersion": "5"}}
    ready = {**pending, "metadata": {**pending["metadata"], "resourceVersion": "6"}}
    ready["status"] = {"readyToUse": True}
    stats.committed(kinds.SNAPSHOTS, ready, pending)
    stats.sent(kinds.SNAPSHOTS, pending)  # an older event: not the one that says "ready"
    assert stats.to_json()["ready"]["volumesnapshots/ns/s"]["sentAt"] is None
    stats.sent(kinds.SNAPSHOTS, ready)
    first = stats.to_json()["ready"]["volumesnapshots/ns/s"]["sentAt"]
    assert first is not None
    stats.sent(kinds.SNAPSHOTS, ready)  # a second watch: the first send counts
    assert stats.to_json()["ready"]["volumesnapshots/ns/s"]["sentAt"] == first


def test_reset_clears_the_counters() -> None:
    stepped = SteppedKubernetes()
    stepped.backend.stats.record_request("GET", kinds.PVCS, named=False, watch=False)
    stepped.backend.reset()
    assert stepped.backend.stats.to_json()["requests"]["total"] == 0


def dig_ready(obj: dict[str, object]) -> bool:
    status = obj.get("status")
    return isinstance(status, dict) and status.get("readyToUse") is True
