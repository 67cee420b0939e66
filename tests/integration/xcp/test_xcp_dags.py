"""Whole DAGs through Airflow's ``dag.test()``: copy with the decorator, then sync with the operator."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from airflow.sdk import dag, task

from netapp_dataops_airflow.operators.xcp import XcpOperator
from netapp_dataops_airflow.testing import run_dag
from tests.helpers.xcp import CONN_ID, XcpHost, tree

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_copy_then_sync_in_a_dag(xcp_host: XcpHost) -> None:
    source = xcp_host.export("nfs1", "/projects/p1")
    (source / "data").mkdir()
    (source / "data" / "part-0.bin").write_bytes(os.urandom(200_000))
    (source / "README").write_text("p1")
    target = xcp_host.export("nfs2", "/projects/p1")
    runs = str(xcp_host.runs)
    seen: list[dict[str, Any]] = []

    @dag(dag_id="xcp_copy_then_sync", schedule=None)
    def pipeline() -> None:
        @task.netapp_xcp(ssh_conn_id=CONN_ID, run_root=runs, poll_interval=1)
        def migrate(project: str) -> list[str]:
            return ["copy", "-parallel", "4", f"nfs1:/projects/{project}", f"nfs2:/projects/{project}"]

        @task
        def change() -> None:
            (source / "README").write_text("p1, second edition")
            (source / "NEW").write_text("new")

        resync = XcpOperator(
            task_id="resync",
            operation="sync",
            index="{{ ti.xcom_pull(task_ids='migrate')['index_name'] }}",
            ssh_conn_id=CONN_ID,
            run_root=runs,
            poll_interval=1,
        )

        @task
        def report(copy: dict[str, Any], sync: dict[str, Any]) -> None:
            seen.extend([copy, sync])

        copied = migrate("p1")
        copied >> change() >> resync
        report(copied, resync.output)

    result = run_dag(pipeline())

    assert result.state == "success", result.log_text
    copy, sync = result.xcom("migrate"), result.xcom("resync")
    assert copy["status"] == "PASSED"
    assert copy["argv"][:5] == ["copy", "-newid", copy["index_name"], "-parallel", "4"]
    assert sync["argv"] == ["sync", "-id", copy["index_name"]]
    assert sync["counters"]["modification"] == 1
    assert sync["counters"]["new_item"] == 1
    assert seen == [copy, sync]
    assert tree(source) == tree(target)
    everything = result.log_text + json.dumps(result.trigger_kwargs) + json.dumps([copy, sync])
    assert xcp_host.sshd.user_key.splitlines()[1] not in everything


def test_a_bad_argument_fails_the_task_with_a_clear_error_and_runs_nothing(xcp_host: XcpHost) -> None:
    runs = str(xcp_host.runs)

    @dag(dag_id="xcp_bad_input", schedule=None)
    def pipeline() -> None:
        @task.netapp_xcp(ssh_conn_id=CONN_ID, run_root=runs)
        def migrate() -> list[str]:
            return ["copy", "nfs1:/src; rm -rf /", "nfs2:/dst"]

        migrate()

    result = run_dag(pipeline())
    assert result.state == "failed"
    assert "source must be an XCP NFS path" in result.log_text
    assert "';' is not allowed" in result.log_text
    assert not xcp_host.runs.exists()
