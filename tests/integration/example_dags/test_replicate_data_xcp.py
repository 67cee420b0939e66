"""The shipped ``replicate_data_xcp`` example, run twice with ``dag.test()`` against the XCP simulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from airflow.models.variable import Variable

from netapp_dataops_airflow.example_dags.replicate_data_xcp import index_key, replicate_data_xcp
from netapp_dataops_airflow.simulators.xcp.host import SimulatedXcpHost
from netapp_dataops_airflow.testing import run_dag
from tests.helpers.example_dags import polling_every_second
from tests.helpers.xcp import tree

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(180)]

SOURCE, TARGET = "nfs1:/projects/p1", "nfs2:/projects/p1"


@pytest.fixture
def no_index_yet() -> Iterator[str]:
    """The Variable the example keeps the copy's index in, absent before and after the test."""
    key = index_key(SOURCE, TARGET)
    Variable.delete(key)
    yield key
    Variable.delete(key)


def test_the_first_run_copies_and_the_next_syncs_with_the_copys_index(
    xcp_simulator: SimulatedXcpHost,
    xcp_connection: str,
    airflow_connection: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    no_index_yet: str,
) -> None:
    source = xcp_simulator.export("nfs1", "/projects/p1")
    (source / "data").mkdir()
    (source / "data" / "part-0.bin").write_bytes(b"\x00\x01" * 50_000)
    (source / "README").write_text("p1")
    target = xcp_simulator.export("nfs2", "/projects/p1")
    conf = {"source": SOURCE, "target": TARGET}

    first = run_dag(polling_every_second(replicate_data_xcp()), run_conf=conf)

    assert first.state == "success", first.log_text
    assert first.task_states == {"replicate": "success", "remember_index": "success"}
    copy = first.xcom("replicate")
    assert (copy["argv"][0], copy["status"]) == ("copy", "PASSED")
    assert tree(target) == tree(source)
    assert Variable.get(no_index_yet) == copy["index_name"]

    (source / "README").write_text("p1, second edition")
    (source / "NEW").write_text("new")
    # The second run reaches the host through another connection, named by the param: ssh_default
    # is gone.
    fields = xcp_simulator.connection()
    airflow_connection("xcp_host", fields.pop("conn_type"), **fields)
    monkeypatch.delenv(f"AIRFLOW_CONN_{xcp_connection.upper()}")
    second = run_dag(polling_every_second(replicate_data_xcp()), run_conf={**conf, "ssh_conn_id": "xcp_host"})

    assert second.state == "success", second.log_text
    sync = second.xcom("replicate")
    assert sync["argv"] == ["sync", "-id", copy["index_name"]]
    assert (sync["counters"]["modification"], sync["counters"]["new_item"]) == (1, 1)
    assert tree(target) == tree(source)
    assert Variable.get(no_index_yet) == copy["index_name"]
