"""Kubernetes API-server simulator with the CSI snapshot controller and NetApp Trident behind it.

A one-node scheduler and kubelet run pods with simulated containers (see :mod:`.workloads`).
Start one with :class:`KubernetesSimulator`; drive it with ``sim.backend`` (reset, seed, timing,
faults, ``pods.defaults``) or the HTTP control API under ``/_simulator/``.
"""

from __future__ import annotations

from .models import KubernetesBackend
from .seed import bound_claim
from .simulator import KubernetesSimulator

__all__ = ["KubernetesBackend", "KubernetesSimulator", "bound_claim"]
