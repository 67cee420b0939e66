"""Replicate data with XCP: copy on the first run, then sync what changed on every later run.

Replaces the DataOps Toolkit's ``replicate_data_xcp`` example, where you edited the file to switch
from ``copy`` to ``sync`` and pasted the copy's catalog id into it. Here the first run copies; the
copy's index (XCP's catalog id) is remembered, and later runs sync with it. xcp runs detached on
the XCP host and the triggerer watches it, so no worker or SSH session is held for hours.

Where the index is kept: an Airflow Variable named after the source and target (see
``index_key``). A Variable outlives runs and their clearing or deletion, is per source/target pair
(change the paths and the next run copies them anew), and can be seen, fixed or deleted in the UI
(delete it to copy again). An XCom of "the previous run" would depend on which run came last and
vanish with it; a param would have to be pasted by hand, as in the toolkit's example.

Connection: ``ssh_conn_id`` (default ``ssh_default``), an ``ssh`` connection to the XCP host (the
one made for the toolkit's example works unchanged; host keys are verified).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, Variable, dag, task


def index_key(source: str, target: str) -> str:
    """Return the Variable that holds the index of the copy from ``source`` to ``target``."""
    return f"replicate_data_xcp:{source}->{target}"


@dag(
    dag_id="replicate_data_xcp",
    schedule=None,
    tags=["netapp", "example", "data-movement"],
    params={
        "source": Param(
            "192.168.200.41:/trident_pvc_957318e1_9b73_4e16_b857_dca7819dd263",
            type="string",
            description="What to copy: an NFS export as XCP names it, server:/export[/path].",
        ),
        "target": Param(
            "192.168.200.41:/trident_pvc_9e7607c2_29c8_4dbf_9b08_551ba72d0273",
            type="string",
            description="Where to copy it: an NFS export, server:/export[/path].",
        ),
        "ssh_conn_id": Param(
            "ssh_default",
            type="string",
            description="Airflow connection (ssh) to the host where xcp is installed.",
        ),
    },
)
def replicate_data_xcp() -> None:
    """Copy the source to the target once, then sync the changes with the copy's index."""

    # ssh_conn_id is a decorator argument (templated): the task reads it again when it resumes.
    @task.netapp_xcp(ssh_conn_id="{{ params.ssh_conn_id }}")
    def replicate(params: dict[str, Any]) -> list[str]:
        index = Variable.get(index_key(params["source"], params["target"]), default=None)
        if index is None:
            return ["copy", params["source"], params["target"]]
        return ["sync", "-id", index]

    @task
    def remember_index(result: dict[str, Any], params: dict[str, Any]) -> None:
        if result["argv"][0] == "copy":
            key = index_key(params["source"], params["target"])
            Variable.set(key, result["index_name"], description="XCP index of the copy; delete to copy again")
        counters = result["counters"]
        print(f"xcp {result['argv'][0]} ({result['index_name']}): {counters}")

    remember_index(replicate())


replicate_data_xcp()
