"""What a simulated container does: the lines it prints, how long it runs, how it exits.

No image runs here, so each container follows a script read from the pod's annotations, falling back
to simulator-wide defaults (:class:`PodDefaults`, set by ``serve kubernetes`` flags and the control
API). Per container, ``<annotation>.<container name>`` wins over the pod-wide ``<annotation>``.
Everything is a function of the script and the container's start time, so runs are deterministic.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from dataclasses import dataclass, field, fields

from .meta import JSON, annotations_of, metadata

PREFIX = "sim.netapp-dataops-airflow.io/"
OUTPUT = PREFIX + "output"  # the lines the container prints (newline-separated text)
DURATION = PREFIX + "duration-seconds"  # how long it runs before exiting
EXIT_CODE = PREFIX + "exit-code"  # its exit code
STOP_SECONDS = PREFIX + "stop-seconds"  # how long it takes to exit after SIGTERM
XCOM = PREFIX + "xcom"  # what /airflow/xcom/return.json holds (the xcom sidecar's exec reads it)

# Airflow's KubernetesPodOperator adds this sidecar for do_xcom_push: it sleeps until an exec kills it.
XCOM_SIDECAR = "airflow-xcom-sidecar"
SIGTERM_EXIT = 143  # 128 + SIGTERM: a process that dies of the signal
SIGKILL_EXIT = 137  # 128 + SIGKILL: killed when the grace period ran out


@dataclass
class PodDefaults:
    """Simulator-wide behaviour of containers without annotations, and the kubelet's pace.

    ``output=None`` echoes the container's ``args`` (one line each, or ``command[1:]`` without args).
    """

    duration_seconds: float = 1.0
    exit_code: int = 0
    output: str | None = None
    stop_seconds: float = 0.0
    start_seconds: float = 0.1  # scheduled -> containers running (image pull, create, start)
    scheduling_event_seconds: float = 1.0  # period of a repeated FailedScheduling event

    def update(self, **values: object) -> None:
        """Change named settings; an unknown name or a bad value is a TypeError/ValueError."""
        known = {f.name: f for f in fields(self)}
        unknown = set(values) - set(known)
        if unknown:
            raise TypeError(f"unknown pod settings: {', '.join(sorted(unknown))}")
        for name, value in values.items():
            if name == "output":
                setattr(self, name, None if value is None else str(value))
            elif name == "exit_code":
                setattr(self, name, int(value))  # type: ignore[call-overload]
            else:
                setattr(self, name, float(value))  # type: ignore[arg-type]


@dataclass(frozen=True)
class ContainerScript:
    """One container's simulated run; ``duration=None`` runs until stopped (the xcom sidecar)."""

    lines: tuple[str, ...]
    duration: float | None
    exit_code: int
    stop_seconds: float

    def printed(self, started: float, until: float) -> list[tuple[float, str]]:
        """Return the lines printed by wall time ``until``, each with the wall time it was written.

        Lines are spread evenly over the run: line ``i`` of ``n`` at ``started + duration * i / n``.
        """
        span = self.duration or 0.0
        count = len(self.lines)
        stamped = [(started + span * i / count, text) for i, text in enumerate(self.lines)]
        return [(at, text) for at, text in stamped if at <= until]


def _annotation(pod: JSON, key: str, container: str) -> str | None:
    annotations = annotations_of(pod)
    value = annotations.get(f"{key}.{container}", annotations.get(key))
    return None if value is None else str(value)


def _number(pod: JSON, key: str, container: str, default: float) -> float:
    text = _annotation(pod, key, container)
    if text is None:
        return default
    try:
        return float(text)
    except ValueError:
        return default  # a bad annotation behaves like none; the docs list the accepted forms


def container_spec(pod: JSON, name: str) -> JSON | None:
    """Return the container (or init container) ``name`` of ``pod``'s spec, or None."""
    spec = pod.get("spec") or {}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if container.get("name") == name:
            return dict(container)
    return None


def script_for(pod: JSON, container: JSON, defaults: PodDefaults) -> ContainerScript:
    """Resolve what ``container`` of ``pod`` does: its annotations first, then ``defaults``."""
    name = str(container.get("name", ""))
    stop = _number(pod, STOP_SECONDS, name, defaults.stop_seconds)
    if name == XCOM_SIDECAR:
        return ContainerScript((), None, 0, stop)
    output = _annotation(pod, OUTPUT, name)
    if output is None:
        output = defaults.output
    if output is None:
        args = container.get("args") or (container.get("command") or [])[1:]
        lines = tuple(str(a) for a in args)
    else:
        lines = tuple(output.splitlines())
    duration = max(0.0, _number(pod, DURATION, name, defaults.duration_seconds))
    return ContainerScript(lines, duration, int(_number(pod, EXIT_CODE, name, defaults.exit_code)), stop)


def xcom_of(pod: JSON) -> str | None:
    """Return what the pod wrote to ``/airflow/xcom/return.json`` (its ``xcom`` annotation), if anything."""
    value = annotations_of(pod).get(XCOM)
    return None if value is None else str(value)


@dataclass
class ContainerClock:
    """When a container started and finished (wall seconds), kept at full precision for log stamps."""

    started: float
    finished: float | None = None
    stop_requested: float | None = None  # SIGTERM sent (pod deleted) at this wall time


@dataclass
class PodRuntime:
    """The kubelet's memory outside the store: container clocks and the defaults for new pods."""

    defaults: PodDefaults = field(default_factory=PodDefaults)
    clocks: dict[tuple[str, str], ContainerClock] = field(default_factory=dict)
    _addresses: itertools.count[int] = field(default_factory=lambda: itertools.count(10))

    def clock(self, pod: JSON, container: str) -> ContainerClock | None:
        """Return the clock of ``container`` in ``pod`` (by uid), None if it never started."""
        return self.clocks.get((metadata(pod).get("uid", ""), container))

    def start(self, pod: JSON, container: str) -> ContainerClock:
        """Start ``container``'s clock now."""
        clock = ContainerClock(started=time.time())
        self.clocks[(metadata(pod)["uid"], container)] = clock
        return clock

    def next_pod_ip(self) -> str:
        """Hand out a fresh address from the node's pod CIDR (10.244.0.0/24)."""
        return f"10.244.0.{next(self._addresses) % 250 + 2}"

    def forget_except(self, uids: set[str]) -> None:
        """Drop clocks of pods that no longer exist."""
        self.clocks = {k: v for k, v in self.clocks.items() if k[0] in uids}


def image_id(image: str) -> str:
    """Make up a stable digest reference for ``image`` (what a runtime reports as imageID)."""
    repository, _, last = image.split("@")[0].rpartition("/")
    name = f"{repository}/{last.split(':')[0]}" if repository else f"docker.io/library/{last.split(':')[0]}"
    return f"{name}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def container_id(pod: JSON, container: str) -> str:
    """Make up a stable containerd container ID for ``container`` of ``pod``."""
    digest = hashlib.sha256(f"{metadata(pod).get('uid')}/{container}".encode()).hexdigest()
    return f"containerd://{digest}"
