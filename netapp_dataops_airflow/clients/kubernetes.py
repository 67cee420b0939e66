"""Async access to the Kubernetes API: plain-dict objects, retries, one ApiClient per cluster and loop.

Objects stay JSON dicts as the API server sends them: the triggers read a handful of fields, and
decoding into generated models costs CPU in the triggerer's single event loop for nothing.

Building an ``ApiClient`` parses a CA bundle synchronously (about 20 ms) and opens a new connection
pool, so :func:`shared_client` lends every trigger of a loop the same one per cluster and user, from
the loop registry (:mod:`._shared`): keyed by :attr:`ClusterConfig.identity` (no secret), versioned
by :attr:`ClusterConfig.key` (the credentials), so a rotated token replaces the client instead of
adding one, and closed when idle or when the loop ends. The configuration is always private to the
client: ``kubernetes_asyncio``'s module-global default configuration would mix clusters up when
triggers for several clusters share a process.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client import ApiClient, Configuration
from kubernetes_asyncio.client.exceptions import ApiException

from netapp_dataops_airflow.clients._http import CONNECTION_ERRORS, TransientFailures
from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.clients._shared import Lease, registry
from netapp_dataops_airflow.clients.kubernetes_rbac import RBAC_MANIFEST, forbidden_permission
from netapp_dataops_airflow.exceptions import ApiError, InvalidInputError

JSON = dict[str, Any]

# A watch holds a pooled connection for its whole life; leave room for plain requests beside the
# informers' watches (kubernetes_asyncio's default is 100).
POOL_SIZE = 200
# kubernetes_asyncio waits forever unless told: a half-open connection would hang a trigger.
CONNECT_TIMEOUT = 10.0
REQUEST_TIMEOUT = aiohttp.ClientTimeout(connect=CONNECT_TIMEOUT, sock_connect=CONNECT_TIMEOUT, sock_read=60.0)
#: Seconds an unused shared client (and its connection pool) is kept for the next user.
CLIENT_IDLE_GRACE = 60.0


@dataclass(frozen=True)
class Resource:
    """A REST resource of the Kubernetes API."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        """``apiVersion`` as it appears in objects, e.g. ``snapshot.storage.k8s.io/v1``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """Return the collection path, or an object's path when ``name`` is given."""
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced:
            if namespace is None:
                raise InvalidInputError(f"{self.plural} are namespaced: a namespace is required")
            prefix += f"/namespaces/{namespace}"
        path = f"{prefix}/{self.plural}"
        return f"{path}/{name}" if name is not None else path


NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
PERSISTENT_VOLUME_CLAIMS = Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
PERSISTENT_VOLUMES = Resource("", "v1", "persistentvolumes", "PersistentVolume", namespaced=False)
EVENTS = Resource("", "v1", "events", "Event")
STORAGE_CLASSES = Resource("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False)
VOLUME_SNAPSHOTS = Resource("snapshot.storage.k8s.io", "v1", "volumesnapshots", "VolumeSnapshot")
VOLUME_SNAPSHOT_CONTENTS = Resource(
    "snapshot.storage.k8s.io", "v1", "volumesnapshotcontents", "VolumeSnapshotContent", namespaced=False
)
VOLUME_SNAPSHOT_CLASSES = Resource(
    "snapshot.storage.k8s.io", "v1", "volumesnapshotclasses", "VolumeSnapshotClass", namespaced=False
)


@dataclass(frozen=True)
class ClusterConfig:
    """Where a cluster is and how to authenticate: a kubeconfig, or the pod's service account.

    :param kubeconfig: a parsed kubeconfig (the dict of the YAML file). Held in memory only.
    :param context: the kubeconfig context to use; ``None`` means its ``current-context``.
    :param in_cluster: use the service account Kubernetes mounts into the pod.
    :param verify_ssl: verify the API server's certificate (turn off only for throwaway clusters).
    """

    kubeconfig: Mapping[str, Any] | None = field(default=None, repr=False)
    context: str | None = None
    in_cluster: bool = False
    verify_ssl: bool = True

    def __post_init__(self) -> None:
        if self.in_cluster == (self.kubeconfig is not None):
            raise InvalidInputError("give exactly one of a kubeconfig or in_cluster=True")

    @property
    def identity(self) -> tuple[str, str, str]:
        """Which cluster and which user, without credentials: server URL, context and user names.

        It stays the same when a token or certificate is rotated, so what is shared per cluster is
        replaced, not multiplied (the credentials are in :attr:`key`). Two kubeconfigs that name the
        same server, context and user with different tokens take turns rather than share.
        """
        if self.in_cluster:
            return ("in-cluster", "", "")
        config = self.kubeconfig or {}
        context_name = self.context or config.get("current-context")
        context = _entry(config.get("contexts"), context_name, "context")
        cluster = _entry(config.get("clusters"), context.get("cluster"), "cluster")
        return (str(cluster.get("server", "")), str(context_name or ""), str(context.get("user", "")))

    @property
    def key(self) -> str:
        """A fingerprint of the cluster and credentials, safe to log (a hash, no secrets)."""
        canonical = json.dumps(
            [self.kubeconfig, self.context, self.in_cluster, self.verify_ssl], sort_keys=True, default=str
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    async def configuration(self) -> Configuration:
        """Load a private client configuration (never the module-global default)."""
        configuration = Configuration()
        if self.in_cluster:
            kube_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            try:
                await kube_config.load_kube_config_from_dict(
                    dict(self.kubeconfig or {}), context=self.context, client_configuration=configuration
                )
            except kube_config.ConfigException as exc:
                raise InvalidInputError(f"the kubeconfig cannot be used: {exc}") from None
        configuration.verify_ssl = self.verify_ssl
        configuration.connection_pool_maxsize = POOL_SIZE
        return configuration


def _entry(entries: Any, name: Any, field: str) -> Mapping[str, Any]:
    """Return the ``field`` of the kubeconfig list entry called ``name`` (``{}`` if there is none)."""
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping) and entry.get("name") == name:
            found = entry.get(field)
            return found if isinstance(found, Mapping) else {}
    return {}


@dataclass(frozen=True)
class ObjectList:
    """The items of a LIST and the resourceVersion to watch from."""

    items: list[JSON]
    resource_version: str


def _status_of(exc: ApiException) -> tuple[str, str | None]:
    """Message and reason from the ``metav1.Status`` body of an error answer."""
    try:
        status = json.loads(exc.body or "")
    except (TypeError, ValueError):
        return (exc.reason or "no details") if exc.status else str(exc), None
    if not isinstance(status, dict):
        return str(status), None
    return str(status.get("message") or exc.reason), status.get("reason")


def _api_error(exc: ApiException, what: str) -> ApiError:
    message, reason = _status_of(exc)
    if exc.status == 403:
        denied = forbidden_permission(message)
        if denied is not None:
            return ApiError(f"{what} failed: {denied.explain()}", status=403, reason=reason)
        return ApiError(
            f"{what} failed: {message} (the connection's identity lacks a permission; see {RBAC_MANIFEST})",
            status=403,
            reason=reason,
        )
    hint = " (the credentials in the connection were rejected)" if exc.status == 401 else ""
    return ApiError(f"{what} failed: {message}{hint}", status=exc.status, reason=reason)


def _answer_of(exc: BaseException) -> ApiException | None:
    return exc if isinstance(exc, ApiException) else None


# 429 and 5xx answers, and connection failures other than TLS, pausing as Retry-After asks.
_TRANSIENT = TransientFailures(_answer_of)


class KubernetesClient:
    """Plain-dict CRUD, LIST and WATCH on any :class:`Resource` of one cluster.

    Errors are :class:`~netapp_dataops_airflow.exceptions.ApiError` with the HTTP status and the
    Kubernetes ``reason`` (``NotFound``, ``AlreadyExists``, ...). Transient failures are retried
    first, by ``retry``.
    """

    def __init__(self, api_client: ApiClient, *, retry: RetryPolicy | None = None) -> None:
        self._api = api_client
        self._retry = retry or RetryPolicy()

    @classmethod
    async def connect(cls, cluster: ClusterConfig, *, retry: RetryPolicy | None = None) -> KubernetesClient:
        """Create a client with its own pool, closed by the caller (prefer :func:`shared_client`)."""
        return cls(ApiClient(configuration=await cluster.configuration()), retry=retry)

    @property
    def host(self) -> str:
        """The API server's URL."""
        return str(self._api.configuration.host)

    def _unreachable(self, what: str, exc: BaseException) -> ApiError:
        return ApiError(f"{what} failed: cannot reach the Kubernetes API at {self.host}: {exc!r}")

    @property
    def closed(self) -> bool:
        """Whether the connection pool was closed."""
        return bool(self._api.rest_client.pool_manager.closed)

    async def close(self) -> None:
        """Close the connection pool (closing twice is harmless)."""
        await self._api.close()

    async def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> JSON:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        try:
            async for attempt in self._retry.retrying(_TRANSIENT, _TRANSIENT.retry_after):
                with attempt:
                    result = await self._api.call_api(
                        path,
                        method,
                        query_params=query or [],
                        header_params=headers,
                        body=body,
                        response_types_map={200: "object", 201: "object", 202: "object"},
                        auth_settings=["BearerToken"],
                        _return_http_data_only=True,
                        _request_timeout=REQUEST_TIMEOUT,
                    )
        except ApiException as exc:
            raise _api_error(exc, what) from None
        except CONNECTION_ERRORS as exc:
            raise self._unreachable(what, exc) from None
        return dict(result)

    async def get(self, resource: Resource, name: str, namespace: str | None = None) -> JSON:
        """Read one object."""
        return await self._call("GET", resource.path(namespace, name), f"reading {resource.kind} {name!r}")

    async def create(
        self,
        resource: Resource,
        body: Mapping[str, Any],
        namespace: str | None = None,
        *,
        dry_run: bool = False,
    ) -> JSON:
        """Create an object; ``dry_run`` has the server validate it without storing it."""
        name = body.get("metadata", {}).get("name")
        query = [("dryRun", "All")] if dry_run else []
        return await self._call(
            "POST",
            resource.path(namespace),
            f"creating {resource.kind} {name!r}",
            query=query,
            body=dict(body),
        )

    async def delete(
        self,
        resource: Resource,
        name: str,
        namespace: str | None = None,
        *,
        uid: str | None = None,
        resource_version: str | None = None,
    ) -> JSON:
        """Delete an object; a 409 unless it is still the incarnation ``uid`` at ``resource_version``."""
        body: JSON = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        preconditions = {"uid": uid, "resourceVersion": resource_version}
        if any(value is not None for value in preconditions.values()):
            body["preconditions"] = {key: value for key, value in preconditions.items() if value is not None}
        return await self._call(
            "DELETE", resource.path(namespace, name), f"deleting {resource.kind} {name!r}", body=body
        )

    async def merge_patch(
        self, resource: Resource, name: str, patch: Mapping[str, Any], namespace: str | None = None
    ) -> JSON:
        """Apply an RFC 7386 merge patch (valid for core and custom resources alike)."""
        return await self._call(
            "PATCH",
            resource.path(namespace, name),
            f"patching {resource.kind} {name!r}",
            body=dict(patch),
            content_type="application/merge-patch+json",
        )

    async def list_objects(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> ObjectList:
        """List objects (all pages), with the resourceVersion a watch continues from."""
        items: list[JSON] = []
        token = ""
        while True:
            query = [("limit", "500")]
            query += [("labelSelector", label_selector)] if label_selector else []
            query += [("fieldSelector", field_selector)] if field_selector else []
            query += [("continue", token)] if token else []
            page = await self._call(
                "GET", resource.path(namespace), f"listing {resource.plural}", query=query
            )
            items.extend(page.get("items") or [])
            metadata = page.get("metadata") or {}
            token = metadata.get("continue") or ""
            if not token:
                return ObjectList(items, str(metadata.get("resourceVersion", "")))

    async def watch(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        resource_version: str,
        timeout_seconds: int,
        field_selector: str | None = None,
    ) -> AsyncIterator[JSON]:
        """Yield watch events (``{"type", "object"}`` dicts, BOOKMARKs included) until the server ends.

        An expired ``resource_version`` arrives as an ``ERROR`` event carrying a 410 Status; the caller
        relists. Failures to open the stream raise :class:`ApiError` (not retried: the caller's loop
        decides how to resume).
        """
        query = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", resource_version),
            ("timeoutSeconds", str(timeout_seconds)),
        ]
        query += [("fieldSelector", field_selector)] if field_selector else []
        what = f"watching {resource.plural}"
        try:
            response = await self._api.call_api(
                resource.path(namespace),
                "GET",
                query_params=query,
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                # The server ends the watch after timeout_seconds; a silent socket past that is dead.
                _request_timeout=aiohttp.ClientTimeout(
                    connect=CONNECT_TIMEOUT, sock_connect=CONNECT_TIMEOUT, sock_read=timeout_seconds + 30.0
                ),
            )
        except CONNECTION_ERRORS as exc:
            raise self._unreachable(what, exc) from None
        try:
            if response.status != 200:
                body = await response.text()
                failure = ApiException(status=response.status, reason=response.reason)
                failure.body = body
                raise _api_error(failure, what)
            while True:
                try:
                    line = await response.content.readline()
                except CONNECTION_ERRORS as exc:
                    raise ApiError(f"{what} was interrupted: {exc!r}") from None
                if not line:
                    return
                if line.strip():
                    event = json.loads(line)
                    if isinstance(event, dict):
                        yield event
        finally:
            response.release()


def client_key(cluster: ClusterConfig) -> tuple[str, str, str, str]:
    """Return the registry key of the shared client for ``cluster`` (kept across rotations)."""
    return ("kubernetes", *cluster.identity)


async def acquire_client(cluster: ClusterConfig) -> Lease[KubernetesClient]:
    """Take a lease on this event loop's one client for ``cluster`` (and its credentials).

    For holders that live longer than a block (an informer); release it with
    ``idle_grace=CLIENT_IDLE_GRACE``. A lease, not an async generator: a suspended generator is
    closed by the loop's shutdown in no particular order, beside the registry that owns the client.
    """
    shared = await registry()
    return await shared.acquire(
        client_key(cluster), functools.partial(KubernetesClient.connect, cluster), version=cluster.key
    )


@asynccontextmanager
async def shared_client(cluster: ClusterConfig) -> AsyncIterator[KubernetesClient]:
    """Use this event loop's one client for ``cluster`` (and its credentials) for the block.

    The client outlives the block by :data:`CLIENT_IDLE_GRACE` seconds, so back-to-back users reuse
    its connections; a user with other credentials for the same cluster and user name replaces it.
    """
    lease = await acquire_client(cluster)
    try:
        yield lease.value
    finally:
        await lease.release(idle_grace=CLIENT_IDLE_GRACE)
