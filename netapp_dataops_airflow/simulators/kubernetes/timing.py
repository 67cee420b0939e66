"""How fast the simulated cluster moves: controller delays and the watch bookmark period."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class Timing:
    """Seconds each simulated step waits; 0 makes a step happen as soon as the controller runs.

    Defaults are small but non-zero so that intermediate states (a VolumeSnapshot without status, a
    Pending claim) are observable, as on a real cluster.
    """

    provisioning: float = 0.05  # PVC seen -> external-provisioner creates the PV
    binding: float = 0.05  # PV created -> PVC Bound
    snapshot: float = 0.05  # VolumeSnapshot seen -> content created, status appears
    snapshot_ready: float = 0.1  # content created -> CSI snapshot taken, readyToUse
    retry: float = 0.2  # a failed step is retried after this long (or on any change)
    wait_for_first_consumer_event: float = 1.0  # period of the repeated WaitForFirstConsumer event
    bookmark_interval: float = 1.0  # period of BOOKMARK events on watches that allow them

    def set_all(self, seconds: float) -> None:
        """Set every controller delay (not the bookmark or event periods) to ``seconds``."""
        for name in ("provisioning", "binding", "snapshot", "snapshot_ready"):
            setattr(self, name, seconds)

    def update(self, **values: float) -> None:
        """Change named settings; unknown names are a TypeError."""
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise TypeError(f"unknown timing settings: {', '.join(sorted(unknown))}")
        for name, value in values.items():
            setattr(self, name, float(value))
