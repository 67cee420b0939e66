"""Graceful pod deletion as the apiserver decides it: how long a pod gets before it is removed."""

from __future__ import annotations

import time

from .meta import JSON, dig

DEFAULT_GRACE_SECONDS = 30  # spec.terminationGracePeriodSeconds when the pod does not set it


def grace_seconds(pod: JSON, options: JSON) -> int | None:
    """Seconds ``pod`` gets to stop, or None when it is removed at once.

    A pod never scheduled or already finished goes at once, as does ``gracePeriodSeconds: 0``;
    otherwise the request's ``gracePeriodSeconds`` or the pod's ``terminationGracePeriodSeconds``.
    """
    if not dig(pod, "spec", "nodeName") or dig(pod, "status", "phase") in ("Succeeded", "Failed"):
        return None
    requested = options.get("gracePeriodSeconds")
    if requested is None:
        requested = dig(pod, "spec", "terminationGracePeriodSeconds")
    grace = DEFAULT_GRACE_SECONDS if requested is None else int(requested)
    return grace if grace > 0 else None


def deletion_timestamp(grace: int) -> str:
    """``now + grace`` as metav1.Time: when the pod is due to be gone."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + grace))
