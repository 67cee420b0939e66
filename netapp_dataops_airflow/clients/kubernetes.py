"""Async access to the Kubernetes API: plain-dict objects, retries, one ApiClient per cluster and loop.

Objects stay JSON dicts as the API server sends them: the triggers read a handful of fields, and
decoding into generated models costs CPU in the triggerer's single event loop for nothing.

Building an ``ApiClient`` parses a CA bundle synchronously (about 20 ms) and opens a new connection
pool, so :func:`shared_client` keeps one per (cluster, event loop) and every trigger of a triggerer
reuses it. The configuration is always private to the client: ``kubernetes_asyncio``'s module-global
default configuration would mix clusters up when triggers for several clusters share a process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import weakref
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client import ApiClient, Configuration
from kubernetes_asyncio.client.exceptions import ApiException

from netapp_dataops_airflow.clients._loop_scope import close_at_loop_end
from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.exceptions import ApiError, InvalidInputError

JSON = dict[str, Any]

# A watch holds a pooled connection for its whole life; leave room for plain requests beside the
# informers' watches (kubernetes_asyncio's default is 100).
POOL_SIZE = 200
# kubernetes_asyncio waits forever unless told: a half-open connection would hang a trigger.
CONNECT_TIMEOUT = 10.0
REQUEST_TIMEOUT = aiohttp.ClientTimeout(connect=CONNECT_TIMEOUT, sock_connect=CONNECT_TIMEOUT, sock_read=60.0)

_CONNECTION_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError)


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
    def key(self) -> str:
        """A stable identity of the cluster and credentials, safe to log (a hash, no secrets)."""
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
    hint = {
        401: " (the credentials in the connection were rejected)",
        403: " (grant the Airflow service account this permission: see k8s/rbac.yaml)",
    }.get(exc.status or 0, "")
    return ApiError(f"{what} failed: {message}{hint}", status=exc.status, reason=reason)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ApiException):
        return exc.status == 429 or (exc.status or 0) >= 500
    return isinstance(exc, _CONNECTION_ERRORS)


def _retry_after(exc: BaseException) -> float | None:
    if isinstance(exc, ApiException) and exc.status == 429 and exc.headers:
        try:
            return float(exc.headers.get("Retry-After", ""))
        except ValueError:
            return None
    return None


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
        """Create a client with its own connection pool (prefer :func:`shared_client`)."""
        return cls(ApiClient(configuration=await cluster.configuration()), retry=retry)

    @property
    def host(self) -> str:
        """The API server's URL."""
        return str(self._api.configuration.host)

    def _unreachable(self, what: str, exc: BaseException) -> ApiError:
        return ApiError(f"{what} failed: cannot reach the Kubernetes API at {self.host}: {exc!r}")

    async def close(self) -> None:
        """Close the connection pool."""
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
            async for attempt in self._retry.retrying(_is_transient, _retry_after):
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
        except _CONNECTION_ERRORS as exc:
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
        except _CONNECTION_ERRORS as exc:
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
                except _CONNECTION_ERRORS as exc:
                    raise ApiError(f"{what} was interrupted: {exc!r}") from None
                if not line:
                    return
                if line.strip():
                    event = json.loads(line)
                    if isinstance(event, dict):
                        yield event
        finally:
            response.release()


# (cluster key, loop) -> client. Weak on the loop so a closed test loop does not pin its clients.
_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, KubernetesClient]] = (
    weakref.WeakKeyDictionary()
)
_shared_lock: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


async def shared_client(cluster: ClusterConfig) -> KubernetesClient:
    """Return the one client of this event loop for ``cluster``, creating it on first use."""
    loop = asyncio.get_running_loop()
    lock = _shared_lock.setdefault(loop, asyncio.Lock())
    async with lock:
        clients = _shared.setdefault(loop, {})
        if cluster.key not in clients:
            clients[cluster.key] = await KubernetesClient.connect(cluster)
            if len(clients) == 1:
                await close_at_loop_end(close_shared_clients)
        return clients[cluster.key]


async def close_shared_clients() -> None:
    """Close every shared client of the running loop (at triggerer shutdown, or a test's end)."""
    clients = _shared.pop(asyncio.get_running_loop(), {})
    for client in clients.values():
        await client.close()
