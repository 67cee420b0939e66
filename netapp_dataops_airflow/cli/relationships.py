"""``python -m netapp_dataops_airflow relationships --conn-id ID``: find what the tasks need.

For a Cloud Sync connection it lists the account's relationships (id, source, target, last
activity); for an ONTAP connection, the SnapMirror relationships whose destination is on the
cluster (UUID, source, destination path, state, healthy, lag). As a table, or ``--json``. The
connection is read as the tasks read it (the same checks, the same errors); an ``http`` connection
is ONTAP when it names a host, Cloud Sync otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from airflow.sdk import BaseHook

from netapp_dataops_airflow.clients._blocking import run_blocking
from netapp_dataops_airflow.exceptions import InvalidInputError, NetAppDataOpsError
from netapp_dataops_airflow.hooks.cloud_sync import CloudSyncHook
from netapp_dataops_airflow.hooks.ontap import OntapHook

CLOUD_SYNC_COLUMNS: tuple[str, ...] = ("id", "source", "target", "last_activity")
SNAPMIRROR_COLUMNS: tuple[str, ...] = ("uuid", "source", "destination", "state", "healthy", "lag")


def cloud_sync_rows(conn_id: str) -> list[dict[str, Any]]:
    """List the Cloud Sync relationships of a connection's account."""
    client = CloudSyncHook(conn_id).get_connection_settings().client()
    rows = []
    for relationship in run_blocking(client.list_relationships):
        activity = relationship.activity
        last = None
        if activity is not None:
            when = activity.end_time or activity.start_time
            last = f"{activity.type or 'Sync'} {activity.status}" + (f" {when.isoformat()}" if when else "")
        rows.append(
            {
                "id": relationship.id,
                "source": relationship.source.describe(),
                "target": relationship.target.describe(),
                "last_activity": last,
            }
        )
    return rows


def snapmirror_rows(conn_id: str) -> list[dict[str, Any]]:
    """List the SnapMirror relationships whose destination is on a connection's cluster."""
    client = OntapHook(conn_id).get_connection_settings().client()
    return [
        {
            "uuid": r.uuid,
            "source": r.source_path,
            "destination": r.destination_path,
            "state": r.state,
            "healthy": r.healthy,
            "lag": r.lag_time,
        }
        for r in run_blocking(client.list_relationships)
    ]


def _kind(conn_id: str) -> str:
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:
        raise InvalidInputError(f"connection {conn_id!r} is not defined") from None
    if conn.conn_type == "http":
        return "netapp_ontap" if conn.host else "netapp_cloud_sync"
    if conn.conn_type not in ("netapp_cloud_sync", "netapp_ontap"):
        raise InvalidInputError(
            f"connection {conn_id!r} is of type {conn.conn_type!r}; relationships are listed for "
            "netapp_cloud_sync and netapp_ontap connections"
        )
    return str(conn.conn_type)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Render rows as an aligned text table with a header line."""
    cells = [[str(column) for column in columns]]
    cells += [["" if row.get(c) is None else str(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in cells
    )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Parse the command line, list the relationships, and return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m netapp_dataops_airflow")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("relationships", help="list Cloud Sync or SnapMirror relationships")
    listing.add_argument("--conn-id", required=True, help="a netapp_cloud_sync or netapp_ontap connection")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    try:
        kind = _kind(args.conn_id)
        if kind == "netapp_cloud_sync":
            rows, columns = cloud_sync_rows(args.conn_id), CLOUD_SYNC_COLUMNS
        else:
            rows, columns = snapmirror_rows(args.conn_id), SNAPMIRROR_COLUMNS
    except NetAppDataOpsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(rows, indent=2) if args.json else table(rows, columns)
    print(text, file=out or sys.stdout)
    return 0
