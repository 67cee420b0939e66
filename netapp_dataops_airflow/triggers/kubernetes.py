"""Triggers that wait for a VolumeSnapshot to become ready and for a PersistentVolumeClaim to bind.

Both are public: any operator that creates such an object can defer to them. They wait on the
triggerer's shared informer (one LIST+WATCH per cluster, namespace and resource for every trigger),
so a thousand waits cost the API server one watch connection per namespace, not a thousand polls.

A controller reports trouble while it retries: a VolumeSnapshot gets ``status.error``, a claim gets
``ProvisioningFailed`` Events. Both are often transient (the controllers retry with backoff), so a
wait fails only when the trouble persists for ``failure_grace_period`` seconds, with the controller's
own message. A claim whose StorageClass binds on first consumer fails at once: no pod, no binding.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Literal

from netapp_dataops_airflow.clients.kubernetes import (
    EVENTS,
    JSON,
    PERSISTENT_VOLUME_CLAIMS,
    STORAGE_CLASSES,
    VOLUME_SNAPSHOT_CONTENTS,
    VOLUME_SNAPSHOTS,
    ClusterConfig,
    KubernetesClient,
    Resource,
    shared_client,
)
from netapp_dataops_airflow.clients.kubernetes_informer import Check, Informer, shared_informer
from netapp_dataops_airflow.clients.kubernetes_objects import claim_result, dig, snapshot_result
from netapp_dataops_airflow.exceptions import ApiError, NetAppDataOpsError
from netapp_dataops_airflow.hooks.kubernetes import K8sHook
from netapp_dataops_airflow.triggers.base import Event, NetAppTrigger

#: A check's answer "nothing final yet, but look again now": timers depend on what it just saw.
_LOOK_AGAIN: Event = {}
#: The content informer's answer "this content does not exist".
_NO_CONTENT: JSON = {}
#: Seconds a ready snapshot's content may take to show its handle in the content informer before it
#: is read directly (both come from the API server; the content's event is normally first).
CONTENT_LAG = 5.0
# How often a delete may find the object changed since it was read before giving up.
_DELETE_ATTEMPTS = 5


async def delete_unless_ready(
    client: KubernetesClient,
    resource: Resource,
    name: str,
    namespace: str,
    uid: str | None,
    ready: Callable[[JSON], bool],
) -> tuple[Literal["deleted", "gone", "ready"], JSON | None]:
    """Delete the object (incarnation ``uid``) unless it is ready: a finished result is never deleted.

    The delete carries the resourceVersion that was just read, so an object that became ready in
    between is not deleted (409: read it again). Returns what happened and, when ``"ready"``, the
    object. ``"gone"`` covers an object already deleted or replaced by another of the same name.
    """
    for _ in range(_DELETE_ATTEMPTS):
        try:
            obj = await client.get(resource, name, namespace)
        except ApiError as exc:
            if exc.status != 404:
                raise
            return "gone", None
        meta = obj.get("metadata") or {}
        if (uid and meta.get("uid") != uid) or meta.get("deletionTimestamp"):
            return "gone", None
        if ready(obj):
            return "ready", obj
        try:
            await client.delete(
                resource, name, namespace, uid=uid, resource_version=meta.get("resourceVersion")
            )
        except ApiError as exc:
            if exc.status == 404:
                return "gone", None
            if exc.status != 409:
                raise
            continue  # changed since it was read (perhaps ready now): look again
        return "deleted", None
    raise ApiError(
        f"could not delete {resource.kind} {namespace}/{name}: it changed under every one of "
        f"{_DELETE_ATTEMPTS} attempts",
        status=409,
    )


class KubernetesObjectTrigger(NetAppTrigger):
    """Wait on one object through the shared informer; ``cancel`` deletes it (that incarnation only).

    :param name: the object's name.
    :param namespace: its namespace.
    :param uid: its uid at creation: an object recreated under the same name is not mistaken for it.
    :param kubernetes_conn_id: an Airflow ``kubernetes`` connection (the cncf provider's format).
    :param failure_grace_period: seconds a controller's error must persist before the wait fails.
    :param deadline: POSIX timestamp after which the wait ends with ``timeout``.
    :param cancel_on_kill: delete the object, unless it is ready by then, if the task is marked
        failed while it waits (operators pass ``False`` for objects they adopted rather than created).
    """

    resource: ClassVar[Resource]

    def __init__(
        self,
        *,
        name: str,
        namespace: str,
        uid: str | None = None,
        kubernetes_conn_id: str = K8sHook.default_conn_name,
        failure_grace_period: float = 120.0,
        deadline: float | None = None,
        cancel_on_kill: bool = True,
    ) -> None:
        super().__init__(deadline=deadline, cancel_on_kill=cancel_on_kill)
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.kubernetes_conn_id = kubernetes_conn_id
        self.failure_grace_period = failure_grace_period
        self._last_progress = ""
        self._trouble_since: float | None = None

    def ids(self) -> dict[str, Any]:
        """Name, namespace and uid of the object."""
        return {"name": self.name, "namespace": self.namespace, "uid": self.uid}

    def describe(self) -> str:
        """Kind and namespaced name, e.g. ``VolumeSnapshot ml/daily``."""
        return f"{self.resource.kind} {self.namespace}/{self.name}"

    def connection_id(self) -> str:
        """Return the ``kubernetes`` connection, named in error messages."""
        return self.kubernetes_conn_id

    @staticmethod
    def ready(obj: JSON) -> bool:
        """Tell whether the object is finished (a result to keep, never to delete)."""
        raise NotImplementedError

    async def cluster(self) -> ClusterConfig:
        """Resolve the connection with Airflow's async API (secrets never pass through kwargs)."""
        settings = await K8sHook(self.kubernetes_conn_id).aget_connection_settings()
        return await settings.acluster_config()

    async def wait(self) -> Event:
        """Watch the object until its check reaches an outcome."""
        cluster = await self.cluster()
        async with (
            shared_client(cluster) as client,
            shared_informer(cluster, self.resource, self.namespace) as informer,
        ):
            return await self.watch(informer, client)

    async def watch(self, informer: Informer, client: KubernetesClient) -> Event:
        """Wait for an outcome of :meth:`check`; subclasses add what the object alone cannot tell."""
        return await self.await_check(informer, self.check)

    def check(self, obj: JSON | None) -> Event | None:
        """Decide from the object's state: an event when the wait is over, else ``None``."""
        raise NotImplementedError

    async def await_check(
        self,
        informer: Informer,
        check: Check[Event],
        *,
        every: float | None = None,
        on_quiet: Callable[[], Awaitable[Event | None]] | None = None,
    ) -> Event:
        """Offer every change to ``check`` until it returns an event.

        While a controller's error is pending the check runs again when its grace period ends, and
        after ``every`` quiet seconds ``on_quiet`` may look elsewhere (time alone can turn trouble
        into a failure).
        """
        while True:
            timeout = every
            if self._trouble_since is not None:
                # Never zero: the re-check itself needs the wait to run and see the cached object.
                left = max(0.05, self._trouble_since + self.failure_grace_period - time.monotonic())
                timeout = left if timeout is None else min(timeout, left)
            outcome: Event | None
            try:
                outcome = await asyncio.wait_for(informer.wait_for(self.name, check, uid=self.uid), timeout)
            except asyncio.TimeoutError:
                outcome = await on_quiet() if on_quiet is not None else None
            if outcome is not None and outcome is not _LOOK_AGAIN:
                return outcome

    def progress(self, state: str) -> None:
        """Log ``state`` when it differs from the last one logged (the task log shows each change)."""
        if state != self._last_progress:
            self._last_progress = state
            self.log.info("%s: %s", self.describe(), state)

    def trouble(self, message: str | None) -> Event | None:
        """Track a controller's error; fail once it has persisted for the grace period."""
        if message is None:
            self._trouble_since = None
            return None
        now = time.monotonic()
        if self._trouble_since is None:
            self._trouble_since = now
            self.progress(
                f"the controller reports: {message} (failing if it persists for "
                f"{self.failure_grace_period:g} s)"
            )
            return _LOOK_AGAIN
        if now - self._trouble_since >= self.failure_grace_period:
            return self.failure(f"{self.describe()} failed: {message}")
        return None

    def gone(self) -> Event:
        """Report that the object was deleted (or replaced under the same name) while waited for."""
        return self.failure(f"{self.describe()} was deleted while waiting for it")

    async def cancel(self) -> None:
        """Delete the object (only the incarnation with our uid) unless it is ready by now."""
        async with shared_client(await self.cluster()) as client:
            what, _ = await delete_unless_ready(
                client, self.resource, self.name, self.namespace, self.uid, self.ready
            )
        if what == "ready":
            self.log.info("%s is ready: keeping it, a finished result is never deleted", self.describe())
        elif what == "gone":
            self.log.info("%s is already gone or replaced; nothing to delete", self.describe())
        else:
            self.log.info("Deleted %s", self.describe())


class VolumeSnapshotReadyTrigger(KubernetesObjectTrigger):
    """Wait until a VolumeSnapshot is ``readyToUse``; the result describes the snapshot.

    Fails when ``status.error`` persists for ``failure_grace_period`` seconds or the snapshot is
    deleted; see :class:`KubernetesObjectTrigger` for the parameters.
    """

    resource = VOLUME_SNAPSHOTS

    @staticmethod
    def ready(obj: JSON) -> bool:
        """Tell whether the snapshot is finished: ``readyToUse``."""
        return dig(obj, "status", "readyToUse") is True

    async def wait(self) -> Event:
        """Watch the snapshot, with the cluster's VolumeSnapshotContent informer at hand for its handle."""
        cluster = await self.cluster()
        async with (
            shared_client(cluster) as client,
            shared_informer(cluster, self.resource, self.namespace) as informer,
            shared_informer(cluster, VOLUME_SNAPSHOT_CONTENTS, None) as contents,
        ):
            outcome = await self.await_check(informer, self.check)
            if outcome["status"] != "success":
                return outcome
            content_name = outcome["result"].get("volume_snapshot_content")
            content = await self._content(contents, client, content_name) if content_name else None
        result = {**outcome["result"], "snapshot_handle": dig(content, "status", "snapshotHandle")}
        return self.success(outcome["message"], result)

    async def watch(self, informer: Informer, client: KubernetesClient) -> Event:
        """Wait for readiness, then read the snapshot's content for its handle (no content informer)."""
        outcome = await self.await_check(informer, self.check)
        if outcome["status"] != "success":
            return outcome
        content_name = outcome["result"].get("volume_snapshot_content")
        content = await self._read_content(client, content_name) if content_name else None
        result = {**outcome["result"], "snapshot_handle": dig(content, "status", "snapshotHandle")}
        return self.success(outcome["message"], result)

    async def _content(self, contents: Informer, client: KubernetesClient, name: str) -> JSON | None:
        """Return the snapshot's content from the shared content informer, or read it directly.

        The content carries its handle before the snapshot controller marks the snapshot ready, but
        it arrives on another watch stream: wait up to :data:`CONTENT_LAG` seconds for it to show
        the handle. A content missing or deleted (a GET confirms it) gives no handle; an informer
        that cannot list or watch contents (RBAC) falls back to one GET per snapshot.
        """

        def with_handle(obj: JSON | None) -> JSON | None:
            if obj is None:
                return _NO_CONTENT
            return obj if dig(obj, "status", "snapshotHandle") else None

        try:
            content = await asyncio.wait_for(contents.wait_for(name, with_handle), CONTENT_LAG)
        except asyncio.TimeoutError:
            return await self._read_content(client, name)
        except NetAppDataOpsError as exc:  # the informer gave up (listing forbidden, ...)
            self.log.warning("The VolumeSnapshotContent informer is unavailable, reading %s: %s", name, exc)
            return await self._read_content(client, name)
        if content is _NO_CONTENT:
            self.log.warning("%s has no VolumeSnapshotContent %s: no snapshot handle", self.describe(), name)
            return None
        return content

    async def _read_content(self, client: KubernetesClient, name: str) -> JSON | None:
        try:
            return await client.get(VOLUME_SNAPSHOT_CONTENTS, name)
        except ApiError as exc:
            self.log.warning("Could not read %s for the snapshot handle: %s", name, exc)
            return None

    def check(self, obj: JSON | None) -> Event | None:
        """Ready → success; persisting error → failure; deleted → failure."""
        if obj is None:
            return self.gone()
        status = obj.get("status") or {}
        if status.get("readyToUse") is True:
            self.progress("ready to use")
            result = snapshot_result(obj, None)
            return self.success(f"{self.describe()} is ready (restore size {result['restore_size']})", result)
        error = dig(status, "error", "message")
        if error:
            return self.trouble(str(error))
        self.trouble(None)
        content = status.get("boundVolumeSnapshotContentName")
        self.progress(
            f"bound to {content}, not ready yet" if content else "waiting for the snapshot controller"
        )
        return None


class PersistentVolumeClaimBoundTrigger(KubernetesObjectTrigger):
    """Wait until a PersistentVolumeClaim is ``Bound``; the result describes the claim.

    Fails at once if the claim's StorageClass binds on first consumer (``WaitForFirstConsumer``:
    without a pod using the claim it never binds), and when ``ProvisioningFailed`` Events keep
    coming for ``failure_grace_period`` seconds, with the provisioner's message. Events are read
    only for a claim still pending after half the grace period, so quick binds cost no extra request.
    See :class:`KubernetesObjectTrigger` for the parameters.
    """

    resource = PERSISTENT_VOLUME_CLAIMS

    @staticmethod
    def ready(obj: JSON) -> bool:
        """Tell whether the claim is finished: ``Bound``."""
        return bool(dig(obj, "status", "phase") == "Bound")

    async def watch(self, informer: Informer, client: KubernetesClient) -> Event:
        """Fail fast on WaitForFirstConsumer, else wait for Bound, reading Events when it is slow."""
        first = await informer.wait_for(
            self.name, lambda obj: obj if obj is not None else _LOOK_AGAIN, uid=self.uid
        )
        if first is _LOOK_AGAIN:
            return self.gone()
        if dig(first, "status", "phase") != "Bound":
            outcome = await self._check_binding_mode(client, first)
            if outcome is not None:
                return outcome

        async def read_events() -> Event | None:
            return self.trouble(await self._provisioning_failure(client))

        every = max(self.failure_grace_period / 2, 1.0)
        return await self.await_check(informer, self.check, every=every, on_quiet=read_events)

    def check(self, obj: JSON | None) -> Event | None:
        """Bound → success; deleted → failure; pending → keep waiting."""
        if obj is None:
            return self.gone()
        phase = dig(obj, "status", "phase") or "Pending"
        if phase == "Bound":
            self.progress(f"bound to {dig(obj, 'spec', 'volumeName')}")
            result = claim_result(obj)
            return self.success(
                f"{self.describe()} is bound to {result['volume']} ({result['capacity']})", result
            )
        if phase == "Lost":
            return self.failure(f"{self.describe()} lost its volume {dig(obj, 'spec', 'volumeName')}")
        self.progress(f"{phase}, waiting for the provisioner")
        return None

    async def _check_binding_mode(self, client: KubernetesClient, claim: JSON) -> Event | None:
        class_name = dig(claim, "spec", "storageClassName")
        if not class_name or dig(claim, "metadata", "annotations", "volume.kubernetes.io/selected-node"):
            return None
        try:
            storage_class = await client.get(STORAGE_CLASSES, class_name)
        except ApiError as exc:
            if exc.status != 404:
                raise
            return None  # the provisioner reports it; the grace period applies
        if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer":
            return self.failure(
                f"{self.describe()} will not bind: its StorageClass {class_name!r} uses "
                "volumeBindingMode WaitForFirstConsumer, so it binds only once a pod using it is "
                "scheduled. Use a StorageClass with volumeBindingMode Immediate for clones, or "
                "start a pod that mounts the claim."
            )
        return None

    async def _provisioning_failure(self, client: KubernetesClient) -> str | None:
        if self.uid is None:
            selector = f"involvedObject.name={self.name},reason=ProvisioningFailed"
        else:
            selector = f"involvedObject.uid={self.uid},reason=ProvisioningFailed"
        try:
            listed = await client.list_objects(EVENTS, self.namespace, field_selector=selector)
        except ApiError as exc:
            self.log.warning("Could not read the Events of %s: %s", self.describe(), exc)
            return None
        if not listed.items:
            return None
        # The provisioner's Warning carries the whole error; Trident's Normal one may come later.
        latest = max(
            listed.items,
            key=lambda event: (event.get("type") == "Warning", str(event.get("lastTimestamp") or "")),
        )
        return str(latest.get("message") or "provisioning failed")
