"""The node's kubelet: starts scheduled pods, runs their simulated containers, stops deleted pods.

A scheduled pod goes Pending (containers ``ContainerCreating``) -> Running -> Succeeded or Failed
(``restartPolicy`` is treated as Never: no container restarts). What each container prints, how long
it runs and how it exits come from :mod:`.workloads`. A pod being deleted gets SIGTERM (a Killing
event per running container); each container exits after its stop time, or with 137 when the grace
period runs out first, and the pod is then removed.
"""

from __future__ import annotations

import time

from . import events, kinds
from .controllers import Gates
from .meta import JSON, dig, metadata
from .models import KubernetesBackend
from .pod_status import exit_code_of, running, set_condition, terminated, waiting
from .workloads import SIGKILL_EXIT, SIGTERM_EXIT, ContainerScript, script_for

KUBELET = "kubelet"
HOST_IP = "10.0.0.11"


def reconcile_pods(backend: KubernetesBackend, gates: Gates) -> None:
    """Move every pod on the node one step."""
    pods = backend.objects(kinds.PODS)
    backend.pods.forget_except({metadata(p)["uid"] for p in pods})
    for pod in pods:
        if not dig(pod, "spec", "nodeName"):
            continue
        phase = dig(pod, "status", "phase")
        if metadata(pod).get("deletionTimestamp"):
            _stop(backend, gates, pod)
        elif phase == "Pending":
            _start(backend, gates, pod)
        elif phase == "Running":
            _run(backend, gates, pod)


def stop_container(backend: KubernetesBackend, pod: JSON, name: str, exit_code: int) -> None:
    """End container ``name`` of ``pod`` now with ``exit_code`` (an exec that killed it, a signal)."""
    clock = backend.pods.clock(pod, name)
    if clock is None or clock.finished is not None:
        return
    clock.finished = time.time()
    spec = _containers(pod).get(name)
    if spec is None:
        return
    status = terminated(pod, spec, exit_code, clock.started, clock.finished)

    def change(p: JSON) -> None:
        statuses = dig(p, "status", "containerStatuses") or []
        p["status"]["containerStatuses"] = [status if s.get("name") == name else s for s in statuses]
        _settle(p)

    meta = metadata(pod)
    backend.mutate(kinds.PODS, meta["namespace"], meta["name"], change)


def _containers(pod: JSON) -> dict[str, JSON]:
    return {c["name"]: c for c in dig(pod, "spec", "containers") or []}


def _script(backend: KubernetesBackend, pod: JSON, container: JSON) -> ContainerScript:
    return script_for(pod, container, backend.pods.defaults)


def _unready(names: list[str]) -> str:
    return f"containers with unready status: [{' '.join(names)}]"


def _start(backend: KubernetesBackend, gates: Gates, pod: JSON) -> None:
    meta = metadata(pod)
    uid, namespace, name = meta["uid"], meta["namespace"], meta["name"]
    containers = dig(pod, "spec", "containers") or []
    inits = dig(pod, "spec", "initContainers") or []
    if not dig(pod, "status", "containerStatuses"):
        _accept(backend, pod, containers, inits)
        return
    if not gates.ready("start", uid, backend.pods.defaults.start_seconds):
        return
    gates.done("start", uid)
    now = time.time()
    init_statuses = []
    for init in inits:
        script = _script(backend, pod, init)
        clock = backend.pods.start(pod, init["name"])
        # Init containers ran, one after the other, while the pod was starting.
        clock.started, clock.finished = now - (script.duration or 0.0), now
        _container_events(backend, pod, init)
        init_statuses.append(terminated(pod, init, script.exit_code, clock.started, now))
        if script.exit_code != 0:
            break
    failed_init = any(exit_code_of(s) for s in init_statuses)
    if not failed_init:
        for container in containers:
            _container_events(backend, pod, container)
            backend.pods.start(pod, container["name"])
    pod_ip = backend.pods.next_pod_ip()

    def change(p: JSON) -> None:
        status = p["status"]
        if inits:
            status["initContainerStatuses"] = init_statuses
        if failed_init:
            status["containerStatuses"] = [waiting(p, c, "PodInitializing") for c in containers]
            status["phase"] = "Failed"
            set_condition(p, "Initialized", "False", "ContainersNotInitialized")
            return
        clocks = [backend.pods.clock(p, c["name"]) for c in containers]
        status["containerStatuses"] = [
            running(p, c, clock.started) for c, clock in zip(containers, clocks, strict=True) if clock
        ]
        status.update(phase="Running", podIP=pod_ip, podIPs=[{"ip": pod_ip}])
        for condition in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"):
            set_condition(p, condition, "True")

    backend.mutate(kinds.PODS, namespace, name, change)


def _accept(backend: KubernetesBackend, pod: JSON, containers: list[JSON], inits: list[JSON]) -> None:
    """Admit the pod as the kubelet does: startTime, host IP, containers creating, images being pulled."""
    meta = metadata(pod)
    names = [c["name"] for c in containers]

    def change(p: JSON) -> None:
        status = p.setdefault("status", {})
        status.update(
            phase="Pending",
            hostIP=HOST_IP,
            hostIPs=[{"ip": HOST_IP}],
            startTime=status.get("startTime") or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )
        status.setdefault("qosClass", "BestEffort")
        set_condition(p, "PodReadyToStartContainers", "False")
        if inits:
            incomplete = " ".join(c["name"] for c in inits)
            set_condition(
                p,
                "Initialized",
                "False",
                "ContainersNotInitialized",
                f"containers with incomplete status: [{incomplete}]",
            )
            status["initContainerStatuses"] = [waiting(p, c, "PodInitializing") for c in inits]
        else:
            set_condition(p, "Initialized", "True")
        set_condition(p, "Ready", "False", "ContainersNotReady", _unready(names))
        set_condition(p, "ContainersReady", "False", "ContainersNotReady", _unready(names))
        set_condition(p, "PodScheduled", "True")
        reason = "PodInitializing" if inits else "ContainerCreating"
        status["containerStatuses"] = [waiting(p, c, reason) for c in containers]

    backend.mutate(kinds.PODS, meta["namespace"], meta["name"], change)
    for container in [*inits, *containers]:
        image = container.get("image", "")
        events.record(backend, pod, "Normal", "Pulling", f'Pulling image "{image}"', KUBELET)


def _container_events(backend: KubernetesBackend, pod: JSON, container: JSON) -> None:
    image, name = container.get("image", ""), container["name"]
    pulled = f'Successfully pulled image "{image}" in 100ms (100ms including waiting). Image size: 0 bytes.'
    events.record(backend, pod, "Normal", "Pulled", pulled, KUBELET)
    events.record(backend, pod, "Normal", "Created", f"Created container: {name}", KUBELET)
    events.record(backend, pod, "Normal", "Started", f"Started container {name}", KUBELET)


def _run(backend: KubernetesBackend, gates: Gates, pod: JSON) -> None:
    uid, now = metadata(pod)["uid"], time.time()
    containers = _containers(pod)
    for status in dig(pod, "status", "containerStatuses") or []:
        name = status.get("name", "")
        clock = backend.pods.clock(pod, name)
        if "running" not in (status.get("state") or {}) or clock is None or name not in containers:
            continue  # a seeded pod, or a container that already exited
        script = _script(backend, pod, containers[name])
        if script.duration is None:
            continue  # runs until something stops it
        due = clock.started + script.duration
        if now >= due or gates.ready(f"exit/{name}", uid, due - now):
            gates.done(f"exit/{name}", uid)
            stop_container(backend, pod, name, script.exit_code)


def _stop(backend: KubernetesBackend, gates: Gates, pod: JSON) -> None:
    meta, now = metadata(pod), time.time()
    grace = float(meta.get("deletionGracePeriodSeconds") or 0)
    containers = _containers(pod)
    still_running = False
    for status in dig(pod, "status", "containerStatuses") or []:
        name = status.get("name", "")
        clock = backend.pods.clock(pod, name)
        if "running" not in (status.get("state") or {}) or clock is None or name not in containers:
            continue
        if clock.stop_requested is None:
            clock.stop_requested = now
            events.record(backend, pod, "Normal", "Killing", f"Stopping container {name}", KUBELET)
        script = _script(backend, pod, containers[name])
        # The container ends on its own, on SIGTERM after its stop time, or on SIGKILL at the grace end.
        endings = [(clock.stop_requested + min(script.stop_seconds, grace), SIGTERM_EXIT)]
        if script.stop_seconds >= grace:
            endings = [(clock.stop_requested + grace, SIGKILL_EXIT)]
        if script.duration is not None:
            endings.append((clock.started + script.duration, script.exit_code))
        due, code = min(endings)
        if now >= due or gates.ready(f"stop/{name}", meta["uid"], due - now):
            gates.done(f"stop/{name}", meta["uid"])
            stop_container(backend, pod, name, code)
        else:
            still_running = True
    if not still_running:
        # Every container has stopped: the kubelet finishes the deletion.
        backend.delete(kinds.PODS, meta["namespace"], meta["name"], {"gracePeriodSeconds": 0})


def _settle(pod: JSON) -> None:
    """Derive the phase and readiness from the container states."""
    statuses = dig(pod, "status", "containerStatuses") or []
    codes = [exit_code_of(s) for s in statuses]
    unready = [s["name"] for s in statuses if not s.get("ready")]
    if statuses and all(code is not None for code in codes):
        pod["status"]["phase"] = "Succeeded" if all(code == 0 for code in codes) else "Failed"
        for condition in ("Ready", "ContainersReady"):
            set_condition(pod, condition, "False", "PodCompleted")
        set_condition(pod, "PodReadyToStartContainers", "False")
    elif unready:
        for condition in ("Ready", "ContainersReady"):
            set_condition(pod, condition, "False", "ContainersNotReady", _unready(unready))
