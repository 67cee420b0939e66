"""Drive NetApp's netapp-dataops-k8s 3.1.0 against the Kubernetes simulator.

Runs under the toolkit's own interpreter (``NETAPP_TOOLKIT_PYTHON``), not under pytest: the toolkit
needs ``kubernetes<37`` and brings notebook and pandas. The caller sets ``KUBECONFIG`` to the
simulator's kubeconfig, ``HOME`` to a temporary directory and unsets ``KUBERNETES_SERVICE_HOST``.

    python toolkit_scenarios.py provision [teardown] [list]

Each step calls the toolkit's public functions as a user would, with ``print_output=True`` (its log
goes to stderr). The only change to the toolkit is a shorter polling sleep. Return values are printed
to stdout as one JSON object; the test reads the simulator's state to judge the outcome.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import netapp_dataops.k8s as toolkit

# The toolkit polls every 5 s; nothing else about it is changed.
toolkit.sleep = lambda seconds: time.sleep(0.05)

SOURCE = "tk-source"


def provision() -> dict[str, Any]:
    toolkit.create_volume(pvc_name=SOURCE, volume_size="1Gi", print_output=True)
    named = toolkit.create_volume_snapshot(pvc_name=SOURCE, snapshot_name="tk-snap", print_output=True)
    generated = toolkit.create_volume_snapshot(pvc_name=SOURCE, print_output=True)
    # Without a snapshot the toolkit takes one ("ntap-dsutil.for-clone.<timestamp>") and restores it.
    toolkit.clone_volume(new_pvc_name="tk-clone-from-pvc", source_pvc_name=SOURCE, print_output=True)
    toolkit.clone_volume(
        new_pvc_name="tk-clone-from-snap",
        source_pvc_name=SOURCE,
        source_snapshot_name=named,
        print_output=True,
    )
    # create_volume(source_pvc=...) clones through Trident's cloneFromPVC annotation instead.
    toolkit.create_volume(
        pvc_name="tk-annotated-clone", volume_size="1Gi", source_pvc=SOURCE, print_output=True
    )
    snapshots = toolkit.list_volume_snapshots(pvc_name=SOURCE, print_output=True)
    return {"named_snapshot": named, "generated_snapshot": generated, "snapshots": snapshots}


def teardown() -> dict[str, Any]:
    for clone in ("tk-clone-from-pvc", "tk-clone-from-snap", "tk-annotated-clone"):
        toolkit.delete_volume(pvc_name=clone, print_output=True)
    # Deletes every snapshot of the source first, then the claim.
    toolkit.delete_volume(pvc_name=SOURCE, print_output=True)
    return {"snapshots_after": toolkit.list_volume_snapshots(print_output=True)}


def list_snapshots() -> dict[str, Any]:
    return {"snapshots": toolkit.list_volume_snapshots(print_output=True)}


STEPS = {"provision": provision, "teardown": teardown, "list": list_snapshots}


def main(steps: list[str]) -> None:
    results: dict[str, Any] = {}
    for step in steps:
        results[step] = STEPS[step]()
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
