"""The simulated cluster's SnapMirror rules, without HTTP: time moves only when the test says so."""

from __future__ import annotations

import pytest

from netapp_dataops_airflow.simulators.ontap import OntapApiError, OntapBackend, records


@pytest.fixture
def backend() -> OntapBackend:
    backend = OntapBackend()
    backend.set_transfer_settings(duration=100, queue_seconds=10)
    return backend


def test_transfer_moves_from_queued_to_transferring_to_success(backend: OntapBackend) -> None:
    rel = backend.add_relationship("src:vol", "dst:vol", size_bytes=1000)
    transfer = backend.start_transfer(rel.uuid)
    assert (transfer.state, transfer.type, transfer.bytes_transferred) == ("queued", "update", 0)

    backend.advance(60)
    backend.get_relationship(rel.uuid)
    assert transfer.state == "transferring"
    assert 0 < transfer.bytes_transferred < 1000

    backend.advance(60)
    rel = backend.get_relationship(rel.uuid)
    assert (transfer.state, transfer.bytes_transferred) == ("success", 1000)
    assert transfer.end_time is not None
    assert rel.healthy
    assert rel.exported_snapshot == transfer.snapshot
    assert rel.total_transfer_bytes == 1000


def test_bytes_only_grow(backend: OntapBackend) -> None:
    rel = backend.add_relationship("src:vol", "dst:vol")
    transfer = backend.start_transfer(rel.uuid)
    seen = []
    for _ in range(12):
        backend.advance(10)
        backend.get_relationship(rel.uuid)
        seen.append(transfer.bytes_transferred)
    assert seen == sorted(seen)
    assert seen[-1] == rel.size_bytes


def test_failed_transfer_marks_the_relationship_unhealthy(backend: OntapBackend) -> None:
    backend.set_transfer_settings(outcome="failed", duration=0, queue_seconds=0)
    rel = backend.add_relationship("src:vol", "dst:vol")
    transfer = backend.start_transfer(rel.uuid)
    assert transfer.state == "failed"
    assert transfer.error_info is not None
    assert transfer.error_info["code"] == 13303844
    assert not rel.healthy
    assert rel.unhealthy_reason[0]["code"] == "13303844"
    assert rel.state == "snapmirrored"  # the mirror state is kept


def test_a_second_start_while_one_runs_is_refused_like_ontap(backend: OntapBackend) -> None:
    rel = backend.add_relationship("src:vol", "dst:vol")
    backend.start_transfer(rel.uuid)
    with pytest.raises(OntapApiError) as refused:
        backend.start_transfer(rel.uuid)
    assert (refused.value.status, refused.value.code) == (400, "13303844")
    assert "Another transfer is in progress" in refused.value.message


def test_uninitialized_relationship_is_initialized_by_the_first_transfer(backend: OntapBackend) -> None:
    rel = backend.add_relationship("src:vol", "dst:vol", state="uninitialized")
    assert "lag_time" not in records.relationship_record(rel, backend.cluster, backend.clock.now())
    transfer = backend.start_transfer(rel.uuid)
    assert transfer.type == "initialize"
    with pytest.raises(OntapApiError) as refused:
        backend.start_transfer(rel.uuid)
    assert refused.value.code == "13303812"
    backend.advance(200)
    assert backend.get_relationship(rel.uuid).state == "snapmirrored"
    assert rel.last_transfer_type == "initialize"


@pytest.mark.parametrize("state", ["broken_off", "paused"])
def test_broken_off_and_paused_relationships_refuse_transfers(backend: OntapBackend, state: str) -> None:
    rel = backend.add_relationship("src:vol", "dst:vol", state=state)
    with pytest.raises(OntapApiError) as refused:
        backend.start_transfer(rel.uuid)
    assert (refused.value.status, refused.value.code) == (400, "13303844")
    assert rel.transfers == {}


def test_sync_relationship_only_initializes_and_cannot_be_aborted(backend: OntapBackend) -> None:
    synced = backend.add_relationship("src:a", "dst:a", policy_type="sync", state="in_sync")
    with pytest.raises(OntapApiError, match="Synchronous"):
        backend.start_transfer(synced.uuid)

    fresh = backend.add_relationship("src:b", "dst:b", policy_type="sync", state="uninitialized")
    with pytest.raises(OntapApiError) as throttled:
        backend.start_transfer(fresh.uuid, throttle=100)
    assert throttled.value.code == "13304040"
    transfer = backend.start_transfer(fresh.uuid)
    with pytest.raises(OntapApiError) as abort:
        backend.abort_transfer(fresh.uuid, transfer.uuid, "aborted")
    assert abort.value.code == "13303848"
    backend.advance(200)
    assert backend.get_relationship(fresh.uuid).state == "in_sync"


@pytest.mark.parametrize(("state", "checkpoint_kept"), [("aborted", True), ("hard_aborted", False)])
def test_abort(backend: OntapBackend, state: str, checkpoint_kept: bool) -> None:
    rel = backend.add_relationship("src:vol", "dst:vol")
    transfer = backend.start_transfer(rel.uuid)
    backend.advance(50)
    backend.get_relationship(rel.uuid)
    backend.abort_transfer(rel.uuid, transfer.uuid, state)
    assert transfer.state == state
    assert transfer.error_info == {"code": 6620046, "message": "Transfer aborted"}
    assert (transfer.checkpoint_size > 0) is checkpoint_kept
    assert rel.state == "snapmirrored"
    with pytest.raises(OntapApiError) as again:
        backend.abort_transfer(rel.uuid, transfer.uuid, "aborted")
    assert again.value.code == "13303849"


def test_unknown_objects_are_404_code_4(backend: OntapBackend) -> None:
    rel = backend.add_relationship("src:vol", "dst:vol")
    for call in (
        lambda: backend.get_relationship("00000000-0000-0000-0000-000000000000"),
        lambda: backend.get_transfer(rel.uuid, "00000000-0000-0000-0000-000000000000"),
        lambda: backend.get_job("00000000-0000-0000-0000-000000000000"),
    ):
        with pytest.raises(OntapApiError) as missing:
            call()
        assert (missing.value.status, missing.value.code, missing.value.message) == (
            404,
            "4",
            "entry doesn't exist",
        )


@pytest.mark.parametrize(("version", "kept"), [("9.8", False), ("9.9.1P7", False), ("9.10.1", True)])
def test_before_9_10_a_finished_transfer_is_forgotten_at_once(
    backend: OntapBackend, version: str, kept: bool
) -> None:
    backend.set_cluster(version=version)
    rel = backend.add_relationship("src:vol", "dst:vol", size_bytes=1000)
    transfer = backend.start_transfer(rel.uuid)
    backend.advance(20)
    assert backend.get_transfer(rel.uuid, transfer.uuid).state == "transferring"  # active: listed
    assert [t.uuid for t in backend.list_transfers(rel.uuid)] == [transfer.uuid]
    backend.advance(100)
    if kept:
        assert backend.get_transfer(rel.uuid, transfer.uuid).state == "success"
    else:
        with pytest.raises(OntapApiError) as gone:
            backend.get_transfer(rel.uuid, transfer.uuid)
        assert (gone.value.status, gone.value.code) == (404, "4")
    assert len(backend.list_transfers(rel.uuid)) == (1 if kept else 0)
    # Either way the relationship still summarizes its last transfer, without its UUID.
    summary = records.relationship_record(rel, backend.cluster, backend.clock.now())["transfer"]
    assert (summary["state"], summary["bytes_transferred"], "uuid" in summary) == ("success", 1000, False)


def test_relationship_changes_run_as_jobs_that_expire(backend: OntapBackend) -> None:
    backend.set_job_seconds(5)
    rel = backend.add_relationship("src:vol", "dst:vol")
    job = backend.modify_relationship(rel.uuid, "paused")
    assert backend.get_job(job.uuid).state == "running"
    backend.advance(5)
    assert backend.get_job(job.uuid).state == "success"
    assert rel.state == "paused"
    backend.advance(301)
    with pytest.raises(OntapApiError):
        backend.get_job(job.uuid)


def test_a_break_during_a_transfer_fails_its_job(backend: OntapBackend) -> None:
    rel = backend.add_relationship("src:vol", "dst:vol")
    backend.start_transfer(rel.uuid)
    job = backend.get_job(backend.modify_relationship(rel.uuid, "broken_off").uuid)
    assert job.state == "failure"
    assert "Another transfer is in progress" in job.message
    assert rel.state == "snapmirrored"


def test_unhealthy_seed_and_recovery(backend: OntapBackend) -> None:
    backend.set_transfer_settings(duration=0, queue_seconds=0)
    rel = backend.add_relationship("src:vol", "dst:vol", unhealthy_reason="Destination volume is offline.")
    assert not rel.healthy
    assert rel.unhealthy_reason[0]["message"] == "Destination volume is offline."
    backend.start_transfer(rel.uuid)
    assert rel.healthy
    assert rel.unhealthy_reason == []


def test_running_transfers_keep_the_settings_they_started_with(backend: OntapBackend) -> None:
    rel = backend.add_relationship("src:vol", "dst:vol")
    transfer = backend.start_transfer(rel.uuid)
    backend.set_transfer_settings(outcome="failed", duration=0)
    backend.advance(200)
    backend.get_relationship(rel.uuid)
    assert transfer.state == "success"


def test_reset_forgets_everything(backend: OntapBackend) -> None:
    backend.add_relationship("src:vol", "dst:vol", source_cluster="peer")
    backend.inject_fault("drop")
    backend.reset()
    assert backend.list_relationships() == []
    assert backend.faults.pending() == []
    assert backend.transfer_settings.duration == 5.0


def test_bad_seeds_are_rejected(backend: OntapBackend) -> None:
    with pytest.raises(ValueError, match="svm:volume"):
        backend.add_relationship("novolume", "dst:vol")
    with pytest.raises(ValueError, match="state"):
        backend.add_relationship("src:vol", "dst:vol", state="in_sync")
    with pytest.raises(ValueError, match="outcome"):
        backend.set_transfer_settings(outcome="maybe")
    with pytest.raises(ValueError, match="code"):
        backend.inject_wait_and_retry("12345")
