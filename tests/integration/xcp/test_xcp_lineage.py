"""An XCP copy records an asset event for its target; copy and verify give OpenLineage facets."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk import DAG

from netapp_dataops_airflow.operators.xcp import XcpOperator
from netapp_dataops_airflow.testing import run_dag
from tests.helpers.lineage import asset_events, completed, openlineage_to_file
from tests.helpers.xcp import CONN_ID, XcpHost

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_a_copy_changes_its_target_and_a_verify_only_reads(
    xcp_host: XcpHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = xcp_host.export("nfs1", "/projects/p1")
    (source / "README").write_text("p1")
    xcp_host.export("nfs2", "/projects/p1")
    options = {"ssh_conn_id": CONN_ID, "run_root": str(xcp_host.runs), "poll_interval": 1}
    with DAG("xcp_lineage", schedule=None) as pipeline:
        copy = XcpOperator(
            task_id="copy",
            operation="copy",
            source="nfs1:/projects/p1",
            target="nfs2:/projects/p1",
            **options,
        )
        verify = XcpOperator(
            task_id="verify",
            operation="verify",
            source="nfs1:/projects/p1",
            target="nfs2:/projects/p1",
            **options,
        )
        copy >> verify

    with openlineage_to_file(tmp_path / "events.jsonl", monkeypatch) as events:
        result = run_dag(pipeline)
        emitted = events()
    assert result.state == "success", result.log_text

    [event] = asset_events(result.dag_id, result.run_id)
    assert (event.task_id, event.uri) == ("copy", "nfs://nfs2/projects/p1")
    assert event.extra == {"operation": "xcp_copy", **result.xcom("copy")}

    copied = completed(emitted, "xcp_lineage.copy")
    assert [(d.namespace, d.name) for d in copied.inputs] == [("nfs://nfs1", "projects/p1")]
    assert [(d.namespace, d.name) for d in copied.outputs] == [("nfs://nfs2", "projects/p1")]
    assert copied.run.facets["netapp_dataops"]["facts"]["status"] == "PASSED"
    verified = completed(emitted, "xcp_lineage.verify")
    assert [d.namespace for d in verified.inputs] == ["nfs://nfs1", "nfs://nfs2"]
    assert verified.outputs == []
    assert verified.run.facets["netapp_dataops"]["operation"] == "xcp_verify"
