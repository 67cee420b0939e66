"""A simulated cluster stepped by hand, for controller tests (no event loop, no clock)."""

from __future__ import annotations

from netapp_dataops_airflow.simulators.kubernetes import KubernetesBackend
from netapp_dataops_airflow.simulators.kubernetes.controllers import ControllerLoop
from netapp_dataops_airflow.simulators.kubernetes.provisioner import reconcile_claims, reconcile_volumes
from netapp_dataops_airflow.simulators.kubernetes.snapshotter import reconcile_contents, reconcile_snapshots


class Cluster:
    """A backend plus its controllers, stepped by hand (no event loop, no clock)."""

    def __init__(self) -> None:
        self.backend = KubernetesBackend()
        self.backend.timing.update(
            provisioning=0, binding=0, snapshot=0, snapshot_ready=0, retry=0, wait_for_first_consumer_event=0
        )
        self.restart()

    def restart(self) -> None:
        """New controllers (with no pending timers), as after a controller restart."""
        self.controllers = ControllerLoop(
            self.backend, [reconcile_claims, reconcile_volumes, reconcile_snapshots, reconcile_contents]
        )

    def step(self, passes: int = 1) -> None:
        for _ in range(passes):
            self.controllers.run_once()

    def settle(self, max_passes: int = 30) -> None:
        """Run passes until nothing changes (or max_passes, for objects that keep retrying)."""
        for _ in range(max_passes):
            before = self.backend.resource_version
            self.controllers.run_once()
            if self.backend.resource_version == before:
                return
