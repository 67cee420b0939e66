"""``on_kill`` of the Cloud Sync trigger: only a task marked failed aborts the sync (docs/semantics.md)."""

from __future__ import annotations

import pytest

from netapp_dataops_airflow.simulators.cloud_sync import CloudSyncSimulator
from netapp_dataops_airflow.triggers.cloud_sync import CloudSyncTrigger
from tests.helpers.airflow import SupervisorStub, trigger_task_instance
from tests.helpers.cloud_sync import CONN_ID, NFS, S3


def started(cloud_sync: CloudSyncSimulator, **options: object) -> CloudSyncTrigger:
    """Start an hour-long sync and return the trigger a triggerer would run for it."""
    rel = cloud_sync.backend.add_relationship(NFS, S3)
    cloud_sync.backend.sync(rel.account_id, rel.id)
    cloud_sync.backend.advance(10)
    trigger = CloudSyncTrigger(CONN_ID, rel.id, 1.0, **options)  # type: ignore[arg-type]
    trigger.task_instance = trigger_task_instance()
    return trigger


@pytest.mark.parametrize(
    ("state", "aborts"), [("failed", True), ("success", False), (None, False), ("deferred", False)]
)
async def test_only_a_task_marked_failed_aborts(
    cloud_sync: CloudSyncSimulator, supervisor: SupervisorStub, state: str | None, aborts: bool
) -> None:
    trigger = started(cloud_sync)
    supervisor.state = state
    await trigger.on_kill()
    status = cloud_sync.backend.relationship(trigger.relationship_id).activities[-1].status
    assert status == ("ABORTED" if aborts else "RUNNING")


async def test_someone_elses_sync_is_never_aborted(
    cloud_sync: CloudSyncSimulator, supervisor: SupervisorStub
) -> None:
    trigger = started(cloud_sync, prior=True, seen_active=True, cancel_on_kill=False)
    supervisor.state = "failed"
    await trigger.on_kill()
    assert cloud_sync.backend.relationship(trigger.relationship_id).activities[-1].status == "RUNNING"
    assert cloud_sync.backend.requests_matching("PUT") == []
