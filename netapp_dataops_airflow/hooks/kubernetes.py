"""Airflow ``kubernetes`` connections (the cncf provider's format) turned into cluster configurations.

The connection type belongs to ``apache-airflow-providers-cncf-kubernetes``; this hook reads the same
fields, so an existing ``kubernetes_default`` works unchanged: ``in_cluster``, ``kube_config_path``,
``kube_config`` (the kubeconfig as JSON), ``cluster_context``, ``namespace`` and ``disable_verify_ssl``
(each also accepted with the legacy ``extra__kubernetes__`` prefix). With none of them set it does what
kubectl does: the pod's service account inside a cluster, else ``$KUBECONFIG`` or ``~/.kube/config``.

On the worker the connection is read synchronously; in the triggerer it is read with Airflow's async
connection API and files are read in a thread, so the triggerer's event loop never blocks.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.sdk import BaseHook

from netapp_dataops_airflow.clients.kubernetes import ClusterConfig
from netapp_dataops_airflow.exceptions import InvalidInputError

_LEGACY_PREFIX = "extra__kubernetes__"
# libyaml's loader when PyYAML was built with it: several times faster than the pure-Python one.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class KubernetesConnection:
    """The fields of a ``kubernetes`` connection that matter here, validated."""

    conn_id: str
    in_cluster: bool
    kube_config: Mapping[str, Any] | None = field(repr=False)  # holds tokens and keys
    kube_config_path: str | None
    context: str | None
    namespace: str | None
    verify_ssl: bool

    @classmethod
    def from_extras(cls, conn_id: str, extras: Mapping[str, Any]) -> KubernetesConnection:
        """Validate a connection's extras; errors name the connection and field, never a value."""

        def extra(name: str) -> Any:
            value = extras.get(name)
            return extras.get(_LEGACY_PREFIX + name) if value in (None, "") else value

        kube_config = extra("kube_config")
        if isinstance(kube_config, str):
            try:
                kube_config = json.loads(kube_config)
            except ValueError:
                raise InvalidInputError(
                    f"connection {conn_id!r}: 'kube_config' is not valid JSON; paste the kubeconfig "
                    "converted to JSON (e.g. `kubectl config view --raw -o json`)"
                ) from None
        if kube_config is not None and not isinstance(kube_config, Mapping):
            raise InvalidInputError(f"connection {conn_id!r}: 'kube_config' must be a JSON object")
        in_cluster = _flag(extra("in_cluster"))
        path = extra("kube_config_path") or None
        if sum((in_cluster, kube_config is not None, path is not None)) > 1:
            raise InvalidInputError(
                f"connection {conn_id!r}: set only one of 'in_cluster', 'kube_config' and 'kube_config_path'"
            )
        return cls(
            conn_id=conn_id,
            in_cluster=in_cluster,
            kube_config=kube_config,
            kube_config_path=path,
            context=extra("cluster_context") or None,
            namespace=extra("namespace") or None,
            verify_ssl=not _flag(extra("disable_verify_ssl")),
        )

    def cluster_config(self) -> ClusterConfig:
        """Resolve the cluster configuration, reading a kubeconfig file if the connection names one.

        Blocking (it may read a file): in an event loop use :meth:`acluster_config`.
        """
        if self.kube_config is not None:
            return self._config(kubeconfig=self.kube_config)
        if self.kube_config_path is None and self._use_service_account():
            return ClusterConfig(in_cluster=True, verify_ssl=self.verify_ssl)
        return self._config(kubeconfig=_read_kubeconfig(self.conn_id, self._kubeconfig_path()))

    async def acluster_config(self) -> ClusterConfig:
        """:meth:`cluster_config` without blocking the event loop."""
        return await asyncio.to_thread(self.cluster_config)

    def _config(self, kubeconfig: Mapping[str, Any]) -> ClusterConfig:
        return ClusterConfig(kubeconfig=kubeconfig, context=self.context, verify_ssl=self.verify_ssl)

    def _use_service_account(self) -> bool:
        return self.in_cluster or "KUBERNETES_SERVICE_HOST" in os.environ

    def _kubeconfig_path(self) -> Path:
        if self.kube_config_path is not None:
            return Path(self.kube_config_path).expanduser()
        from_env = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
        return Path(from_env).expanduser() if from_env else Path.home() / ".kube" / "config"


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _read_kubeconfig(conn_id: str, path: Path) -> Mapping[str, Any]:
    try:
        # A copy: kubernetes_asyncio may write refreshed tokens into the dict it is given.
        loaded = copy.deepcopy(_parse_kubeconfig(str(path), path.stat().st_mtime_ns))
    except OSError as exc:
        raise InvalidInputError(
            f"connection {conn_id!r}: cannot read the kubeconfig {str(path)!r} ({exc.strerror}); "
            "set 'kube_config_path' to a file that exists on the workers and the triggerer"
        ) from None
    except yaml.YAMLError:
        raise InvalidInputError(
            f"connection {conn_id!r}: the kubeconfig {str(path)!r} is not valid YAML"
        ) from None
    if not isinstance(loaded, Mapping) or not loaded.get("clusters"):
        raise InvalidInputError(f"connection {conn_id!r}: the kubeconfig {str(path)!r} defines no clusters")
    return loaded


@functools.lru_cache(maxsize=32)
def _parse_kubeconfig(path: str, mtime_ns: int) -> Any:
    """Parse a kubeconfig file once per version of it.

    A triggerer starting a thousand waits would otherwise parse the same file a thousand times (about
    half a millisecond each with the pure-Python loader), in threads that compete with its loop.
    """
    return yaml.load(Path(path).read_text(), Loader=_SafeLoader)


class K8sHook(BaseHook):
    """Read a ``kubernetes`` connection into a :class:`ClusterConfig`.

    Named ``K8sHook`` so it never shadows the cncf provider's ``KubernetesHook``, whose connection
    type it reads.

    :param kubernetes_conn_id: the Airflow connection to use.
    """

    conn_name_attr = "kubernetes_conn_id"
    default_conn_name = "kubernetes_default"
    conn_type = "kubernetes"
    hook_name = "Kubernetes (NetApp DataOps)"

    def __init__(self, kubernetes_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.kubernetes_conn_id = kubernetes_conn_id

    def get_connection_settings(self) -> KubernetesConnection:
        """Read and validate the connection (on a worker)."""
        conn = self.get_connection(self.kubernetes_conn_id)
        return KubernetesConnection.from_extras(self.kubernetes_conn_id, conn.extra_dejson)

    async def aget_connection_settings(self) -> KubernetesConnection:
        """Read and validate the connection without blocking the event loop (in a trigger)."""
        conn = await get_async_connection(self.kubernetes_conn_id, hook=self)
        extras = await get_async_extra_dejson(conn)
        return KubernetesConnection.from_extras(self.kubernetes_conn_id, extras)
