"""Reading back what tasks told about lineage: asset events in Airflow's database, OpenLineage events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
