"""What the simulators saw started: transfers, syncs, snapshots and clones, XCP runs.

Read from each simulator's own side (request logs, stored objects, the XCP host's run directories),
so a duplicated operation shows whatever the tasks believe.
"""

from __future__ import annotations

import collections
import dataclasses
import re

from tests.e2e.deployment import Simulators

TASK_ANNOTATION = "dataops.netapp.io/airflow-task"
TRANSFER_START = re.compile(r"^POST /api/snapmirror/relationships/[^/]+/transfers(\?.*)?$")
SYNC_START = re.compile(r"^PUT \S*/relationships/[^/]+/sync(\?.*)?$")


@dataclasses.dataclass(frozen=True)
class Ledger:
    """Operations started so far, as the simulators record them."""

    transfers: tuple[str, ...]
    syncs: tuple[str, ...]
    kubernetes: tuple[tuple[str, str], ...]
    """``(task annotation, kind/namespace/name)`` of every VolumeSnapshot and PVC a task created."""
    xcp_runs: tuple[str, ...]

    @classmethod
    def read(cls, simulators: Simulators) -> Ledger:
        """Read every simulator's record now."""
        transfers = [r for r in simulators.ontap("GET", "requests") if TRANSFER_START.match(r)]
        syncs = [r for r in simulators.cloud_sync("GET", "requests") if SYNC_START.match(r)]
        objects = []
        state = simulators.kubernetes("GET", "state")
        for plural in ("volumesnapshots", "persistentvolumeclaims"):
            for obj in state.get(plural, []):
                meta = obj.get("metadata", {})
                owner = (meta.get("annotations") or {}).get(TASK_ANNOTATION)
                if owner:
                    objects.append((owner, f"{plural}/{meta.get('namespace')}/{meta.get('name')}"))
        return cls(
            tuple(transfers),
            tuple(syncs),
            tuple(sorted(objects)),
            tuple(str(run.relative_to(simulators.xcp_host)) for run in simulators.xcp_runs()),
        )

    def since(self, before: Ledger) -> Ledger:
        """Return what was started after ``before`` was read (request logs only grow)."""
        return Ledger(
            self.transfers[len(before.transfers) :],
            self.syncs[len(before.syncs) :],
            tuple(o for o in self.kubernetes if o not in before.kubernetes),
            tuple(r for r in self.xcp_runs if r not in before.xcp_runs),
        )

    def objects_per_task(self) -> dict[str, list[str]]:
        """Kubernetes objects by the task that created them (one each, unless something was duplicated)."""
        grouped: dict[str, list[str]] = collections.defaultdict(list)
        for owner, name in self.kubernetes:
            grouped[owner].append(name)
        return dict(grouped)

    def counts(self) -> dict[str, int]:
        """How many of each: ``transfers``, ``syncs``, ``snapshots``, ``clones``, ``xcp_runs``."""
        return {
            "transfers": len(self.transfers),
            "syncs": len(self.syncs),
            "snapshots": sum(name.startswith("volumesnapshots/") for _, name in self.kubernetes),
            "clones": sum(name.startswith("persistentvolumeclaims/") for _, name in self.kubernetes),
            "xcp_runs": len(self.xcp_runs),
        }
