"""Run NetApp's DataOps toolkit functions, unchanged, in N threads: the toolkit examples' model.

Runs under the toolkits' own interpreter (``NETAPP_TOOLKIT_PYTHON``: they need ``kubernetes<37``
and bring pandas, boto3 and fastmcp), started by :mod:`benchmarks.compare`. Each thread stands for
a worker slot running one task: it calls the toolkit's function with ``wait_until_complete`` (or
its built-in wait) and holds the slot until the function returns. Nothing of the toolkit is
patched; its sleeps (5 s for Kubernetes, 10 s for SnapMirror, 60 s for Cloud Sync) are its own.

    python toolkit_driver.py kubernetes|kubernetes_clone|snapmirror|cloud_sync < targets.json

``targets.json`` is a JSON list: ``[namespace, pvc, snapshot]`` per Kubernetes snapshot,
``[namespace, source pvc, clone, source snapshot]`` per Kubernetes clone, a
relationship UUID per SnapMirror update, a relationship id per Cloud Sync sync. The environment
points the toolkit at the simulator as the fidelity tests do (``KUBECONFIG``; ``HOME`` with
``.netapp_dataops/config.json``; ``ONTAP_USER``/``ONTAP_PASSWORD``; ``CLOUD_SYNC_SIMULATOR_URL`` and
``CLOUD_SYNC_CA_FILE`` for the transport redirect). Prints one JSON object: per operation the
thread's start and end (``time.time()``), the CPU time it used, and its error if any; resident
memory before the threads start and at peak; the most threads alive at once.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The fidelity scenarios already redirect the toolkits to the simulators (keyring, requests adapter).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "fidelity"))

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size of this process now."""
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * PAGE


def credentials(user: str, password: str) -> None:
    """Put the ONTAP credentials where the traditional toolkit looks: a keyring (in memory here)."""
    import keyring
    from cloud_sync_traditional_scenario import MemoryKeyring  # type: ignore[import-not-found]
    from netapp_dataops.constants import KEYRING_SERVICE_NAME  # type: ignore[import-not-found]

    store = MemoryKeyring()
    keyring.set_keyring(store)
    store.set_password(KEYRING_SERVICE_NAME, "username", user)
    store.set_password(KEYRING_SERVICE_NAME, "password", password)


def kubernetes_call() -> Callable[[Any], Any]:
    """``create_volume_snapshot``: create the VolumeSnapshot, then GET it every 5 s until ready."""
    import netapp_dataops.k8s as toolkit  # type: ignore[import-not-found]

    def call(target: list[str]) -> Any:
        namespace, pvc, snapshot = target
        return toolkit.create_volume_snapshot(pvc_name=pvc, snapshot_name=snapshot, namespace=namespace)

    return call


def kubernetes_clone_call() -> Callable[[Any], Any]:
    """``clone_volume`` from a ready snapshot: read it and its PVC, create the clone, GET it every 5 s.

    The toolkit clones by restoring a VolumeSnapshot (without one it takes one first); given the
    source's ready snapshot, its wait is the clone's alone, as ours and the provider pattern's are.
    """
    import netapp_dataops.k8s as toolkit  # type: ignore[import-not-found]

    def call(target: list[str]) -> Any:
        namespace, pvc, clone, snapshot = target
        return toolkit.clone_volume(
            new_pvc_name=clone, source_pvc_name=pvc, source_snapshot_name=snapshot, namespace=namespace
        )

    return call


def snapmirror_call() -> Callable[[Any], Any]:
    """``sync_snap_mirror_relationship(wait_until_complete=True)``: POST a transfer, poll every 10 s.

    The toolkit sets netapp-ontap's process-global connection on every call, in two steps (the
    connection, then its CA); a thread that sends a request in between fails TLS verification.
    In Airflow each task is a process of its own and never sees that; here the first call sets
    the connection and the others keep it (the same settings): nothing else is changed.
    """
    from netapp_dataops.traditional.ontap import snapmirror_operations  # type: ignore[import-not-found]

    credentials(os.environ["ONTAP_USER"], os.environ["ONTAP_PASSWORD"])
    connect, lock, connected = snapmirror_operations._instantiate_connection, threading.Lock(), []

    def instantiate_once(*args: Any, **kwargs: Any) -> None:
        with lock:
            if not connected:
                connect(*args, **kwargs)
                connected.append(True)

    snapmirror_operations._instantiate_connection = instantiate_once

    def call(uuid: str) -> Any:
        return snapmirror_operations.sync_snap_mirror_relationship(uuid=uuid, wait_until_complete=True)

    return call


def cloud_sync_call() -> Callable[[Any], Any]:
    """``sync_cloud_sync_relationship(wait_until_complete=True)``: token, account, PUT, GET every 60 s."""
    from cloud_sync_traditional_scenario import install_adapter
    from netapp_dataops.traditional.data_movement import cloud_sync_operations  # type: ignore[import-not-found]

    credentials("unused", "unused")
    install_adapter()

    def call(relationship: str) -> Any:
        return cloud_sync_operations.sync_cloud_sync_relationship(relationship, wait_until_complete=True)

    return call


CALLS = {
    "kubernetes": kubernetes_call,
    "kubernetes_clone": kubernetes_clone_call,
    "snapmirror": snapmirror_call,
    "cloud_sync": cloud_sync_call,
}


def main(backend: str) -> None:
    """Start one thread per target, wait for all, print what each did."""
    targets = json.load(sys.stdin)
    call = CALLS[backend]()
    results: list[dict[str, Any]] = [{} for _ in targets]
    peak = {"rss": rss_bytes(), "threads": threading.active_count()}
    done = threading.Event()

    def slot(index: int, target: Any) -> None:
        record = results[index]
        record["start"], cpu = time.time(), time.thread_time()
        try:
            call(target)
        except Exception as exc:  # report a failed operation as data
            record["error"] = f"{type(exc).__name__}: {exc}"
        record["end"], record["cpu"] = time.time(), time.thread_time() - cpu

    def monitor() -> None:
        while not done.wait(0.25):
            peak["rss"] = max(peak["rss"], rss_bytes())
            peak["threads"] = max(peak["threads"], threading.active_count() - 2)

    rss_before = rss_bytes()
    watcher = threading.Thread(target=monitor, daemon=True)
    watcher.start()
    threads = [threading.Thread(target=slot, args=(i, t), daemon=True) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()
    print(json.dumps({"operations": results, "rss_before": rss_before, "rss_peak": peak["rss"],
                      "threads_peak": peak["threads"]}))  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1])
