"""Reading back what tasks told about lineage: asset events in Airflow's database, OpenLineage events."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True)
class RecordedAssetEvent:
    """One asset event as Airflow stored it: asset URI, extra, the task that made it, its aliases."""

    uri: str
    extra: dict[str, Any]
    task_id: str | None
    aliases: tuple[str, ...]


def asset_events(dag_id: str, run_id: str) -> list[RecordedAssetEvent]:
    """Return the asset events a DAG run's tasks recorded, ordered by task and URI."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetEvent, AssetModel.uri)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_dag_id == dag_id, AssetEvent.source_run_id == run_id)
        ).all()
        found = [
            RecordedAssetEvent(
                uri=uri,
                extra=dict(event.extra),
                task_id=event.source_task_id,
                aliases=tuple(sorted(alias.name for alias in event.source_aliases)),
            )
            for event, uri in rows
        ]
    return sorted(found, key=lambda event: (event.task_id or "", event.uri))


@contextlib.contextmanager
def openlineage_to_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[Any]]]:
    """Turn the OpenLineage provider on with a ``file`` transport writing to ``path``, as a deployment would.

    In a deployment the ``[openlineage]`` settings are there when the worker starts, and the
    provider's plugin registers its listener then. Here Airflow's listener manager was built when
    the session first ran a task, with OpenLineage off, so the listener is added to it for the block.
    Emission runs in a thread (``execute_in_thread``): the provider's default, a fork of the task
    process, does not belong in a test process full of threads.

    Yields a function returning the ``RunEvent`` objects written so far, parsed by OpenLineage's client.
    """
    from airflow.providers.openlineage import conf
    from airflow.providers.openlineage.plugins.listener import OpenLineageListener
    from airflow.sdk.listener import get_listener_manager

    transport = {"type": "file", "log_file_path": str(path), "append": True}
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(transport))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", "True")
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", "netapp-tests")
    clear_caches = [
        getattr(conf, name).cache_clear for name in dir(conf) if hasattr(getattr(conf, name), "cache_clear")
    ]
    for clear in clear_caches:
        clear()
    listener = OpenLineageListener()  # its own client: the provider's singleton keeps the first transport
    manager = get_listener_manager()
    # The provider's plugin adds its own listener if the manager is first built inside this block
    # (OpenLineage on). It would outlive the block's settings: it goes, and is not put back.
    for other in manager.pm.get_plugins():
        if isinstance(other, OpenLineageListener):
            manager.pm.unregister(other)
    manager.add_listener(listener)
    try:
        yield lambda: read_run_events(path)
    finally:
        manager.pm.unregister(listener)
        for clear in clear_caches:
            clear()


def read_run_events(path: Path) -> list[Any]:
    """Parse a file transport's lines into OpenLineage ``RunEvent`` objects (invalid ones raise)."""
    if not path.exists():
        return []
    return [run_event(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def run_event(data: dict[str, Any]) -> Any:
    """Build a ``RunEvent`` from its JSON with the client's classes; their validators check ids and times.

    Facets stay the JSON dicts they were written as.
    """
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState

    def datasets(kind: type[Any], key: str) -> list[Any]:
        return [kind(d["namespace"], d["name"], facets=d.get("facets", {})) for d in data.get(key) or []]

    return RunEvent(
        eventType=RunState(data["eventType"]),
        eventTime=data["eventTime"],
        run=Run(runId=data["run"]["runId"], facets=data["run"].get("facets", {})),
        job=Job(namespace=data["job"]["namespace"], name=data["job"]["name"]),
        producer=data["producer"],
        inputs=datasets(InputDataset, "inputs"),
        outputs=datasets(OutputDataset, "outputs"),
    )


def completed(events: list[Any], job_name: str) -> Any:
    """Return the one COMPLETE event of a job (``<dag_id>.<task_id>`` for a task)."""
    found = [e for e in events if e.job.name == job_name and e.eventType.value == "COMPLETE"]
    assert len(found) == 1, [(e.job.name, e.eventType.value) for e in events]
    return found[0]
