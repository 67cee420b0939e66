"""What the simulated API server has served, counted on its side of the wire.

Benchmarks and tests read it to check what a client costs the API server: requests by verb and
resource, watch connections per (resource, namespace), and, for objects that become ready (a
VolumeSnapshot's ``status.readyToUse``, a claim's ``Bound`` phase), when the store committed the
change and when the first watch stream wrote it out. Times are ``time.time()`` (same-machine wall
clock), so a client in another process can compare them with its own readings.

Counters only grow until :meth:`ServerStats.clear` (the backend's ``reset`` calls it); readers
take two readings and subtract.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from . import kinds
from .kinds import Kind
from .meta import JSON, dig, metadata

#: Per kind, what "ready" means: the condition whose transitions are timed.
READY: dict[Kind, Callable[[JSON], bool]] = {
    kinds.SNAPSHOTS: lambda obj: dig(obj, "status", "readyToUse") is True,
    kinds.PVCS: lambda obj: dig(obj, "status", "phase") == "Bound",
}


@dataclass
class Transition:
    """One object becoming ready: the change's resourceVersion and when it was committed and sent."""

    uid: str
    resource_version: int
    committed_at: float
    sent_at: float | None = None


def verb_of(method: str, *, named: bool, watch: bool) -> str:
    """Name the Kubernetes verb of a request (``get``, ``list``, ``watch``, ``create``, ...)."""
    if method == "GET":
        return "get" if named else ("watch" if watch else "list")
    if method == "DELETE" and not named:
        return "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, method)


class ServerStats:
    """Request, watch and readiness counters of one simulated API server (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._watches_opened: Counter[tuple[str, str]] = Counter()
        self._watches_open: Counter[tuple[str, str]] = Counter()
        self._ready: dict[str, Transition] = {}

    def clear(self) -> None:
        """Forget everything counted so far (open watches stay open and are still counted as such)."""
        with self._lock:
            self._requests.clear()
            self._watches_opened.clear()
            self._ready.clear()

    def record_request(self, method: str, kind: Kind | None, *, named: bool, watch: bool) -> None:
        """Count one API request; ``kind`` None for discovery and other non-resource paths."""
        key = f"{verb_of(method, named=named, watch=watch)} {kind.plural}" if kind else "non-resource"
        with self._lock:
            self._requests[key] += 1

    def watch_opened(self, kind: Kind, namespace: str | None) -> None:
        """Note a watch stream starting (``namespace`` None: across all namespaces)."""
        key = (kind.plural, namespace or "")
        with self._lock:
            self._watches_opened[key] += 1
            self._watches_open[key] += 1

    def watch_closed(self, kind: Kind, namespace: str | None) -> None:
        """Note a watch stream ending."""
        key = (kind.plural, namespace or "")
        with self._lock:
            self._watches_open[key] -= 1
            if self._watches_open[key] <= 0:
                del self._watches_open[key]

    def open_watches(self, resource: str | None = None) -> int:
        """How many watch streams are open now, of ``resource`` (a plural) or of any."""
        with self._lock:
            return sum(n for (plural, _), n in self._watches_open.items() if resource in (None, plural))

    def committed(self, kind: Kind, obj: JSON, old: JSON | None) -> None:
        """Time the change if it makes the object ready (called for every committed change)."""
        ready = READY.get(kind)
        if ready is None or not ready(obj) or (old is not None and ready(old)):
            return
        meta = metadata(obj)
        transition = Transition(str(meta.get("uid")), int(meta["resourceVersion"]), time.time())
        with self._lock:
            self._ready[_key(kind, meta)] = transition

    def sent(self, kind: Kind, obj: JSON) -> None:
        """Time the first watch event that carries an object's readiness to a client."""
        if kind not in READY:
            return
        meta = metadata(obj)
        with self._lock:
            transition = self._ready.get(_key(kind, meta))
            if (
                transition is not None
                and transition.sent_at is None
                and int(meta.get("resourceVersion", 0)) >= transition.resource_version
            ):
                transition.sent_at = time.time()

    def to_json(self) -> JSON:
        """Render the counters for the control API (``GET /_simulator/stats``)."""
        with self._lock:
            watches = [
                {
                    "resource": resource,
                    "namespace": namespace or None,
                    "opened": self._watches_opened.get((resource, namespace), 0),
                    "open": self._watches_open.get((resource, namespace), 0),
                }
                for resource, namespace in sorted(self._watches_opened.keys() | self._watches_open.keys())
            ]
            return {
                "requests": {
                    "total": sum(self._requests.values()),
                    "byVerb": dict(sorted(self._requests.items())),
                },
                "watches": watches,
                "ready": {
                    key: {
                        "uid": t.uid,
                        "resourceVersion": str(t.resource_version),
                        "committedAt": t.committed_at,
                        "sentAt": t.sent_at,
                    }
                    for key, t in self._ready.items()
                },
            }


def _key(kind: Kind, meta: JSON) -> str:
    namespace, name = meta.get("namespace"), meta.get("name")
    return f"{kind.plural}/{namespace}/{name}" if namespace else f"{kind.plural}/{name}"
