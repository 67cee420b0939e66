"""Airflow ``kubernetes`` connections (the cncf provider's format) turned into cluster configurations.

The connection type belongs to ``apache-airflow-providers-cncf-kubernetes``; this hook reads the same
fields, so an existing ``kubernetes_default`` works unchanged:

=====================  ==========================================================================
extra                  meaning
=====================  ==========================================================================
in_cluster             ``true``: the pod's service account (the task and the triggerer run in a pod)
kube_config_path       a kubeconfig file present on the workers and the triggerer
kube_config            the kubeconfig itself, as JSON (a JSON object or its text)
cluster_context        the kubeconfig context to use; default: its ``current-context``
namespace              the namespace when the task names none; default: ``default``
disable_verify_ssl     ``true`` skips checking the API server's certificate (throwaway clusters only)
=====================  ==========================================================================

Each may carry the legacy ``extra__kubernetes__`` prefix. The cncf provider's other extras
(``disable_tcp_keepalive`` and the ``xcom_sidecar_container_*`` fields, read by its pod operators)
are accepted and ignored, so a connection shared with ``KubernetesPodOperator`` works here too.

**The connection is strict**, because a mistake must not send the work to another cluster:

- Set at most one of ``in_cluster``, ``kube_config_path`` and ``kube_config``. With none of them the
  hook does what kubectl (and the cncf provider) does: the pod's service account inside a cluster,
  else ``$KUBECONFIG`` (its first file) or ``~/.kube/config``. That ambient fallback happens *only*
  then, or with ``in_cluster`` (which means the service account and nothing else).
- Any other extra is an error naming it (a misspelt ``kubeconfig_path`` would otherwise fall back
  to ``~/.kube/config``), and so is a field of the wrong type (a number as ``kube_config_path``) or
  an on/off field that is not clearly true or false (``"flase"``).
- ``host``, ``login``, ``password``, ``schema`` and ``port`` are not read (the cncf provider's form
  hides them); a connection that sets them is refused rather than silently served from the ambient
  kubeconfig. Put the cluster and its credentials in a kubeconfig.

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

from netapp_dataops_airflow.clients.kubernetes import ClusterConfig
from netapp_dataops_airflow.exceptions import InvalidInputError
from netapp_dataops_airflow.hooks.base import ConnectionFields, Extras, NetAppHook, shared_lookup

CONN_TYPE = "kubernetes"
#: The extras this hook reads; the cncf provider's connection form has exactly these fields.
CONFIG_FIELDS = frozenset(
    {"in_cluster", "kube_config_path", "kube_config", "cluster_context", "namespace", "disable_verify_ssl"}
)
#: The cncf provider's extras for its own operators: accepted and ignored.
IGNORED_FIELDS = frozenset(
    {
        "disable_tcp_keepalive",
        "xcom_sidecar_container_image",
        "xcom_sidecar_container_resources",
        "xcom_sidecar_container_security_context",
    }
)
# Connection fields the cncf provider hides and never reads.
_UNUSED_FIELDS = ("host", "schema", "login", "password", "port")
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
        name = f"connection {conn_id!r}"
        extra = Extras(conn_id, CONN_TYPE, extras, CONFIG_FIELDS | IGNORED_FIELDS)
        kube_config = extra.get("kube_config")
        if isinstance(kube_config, str):
            try:
                kube_config = json.loads(kube_config)
            except ValueError:
                raise InvalidInputError(
                    f"{name}: 'kube_config' is not valid JSON; paste the kubeconfig "
                    "converted to JSON (e.g. `kubectl config view --raw -o json`)"
                ) from None
        if kube_config is not None and not isinstance(kube_config, Mapping):
            raise InvalidInputError(f"{name}: 'kube_config' must be a JSON object")
        if kube_config is not None and not kube_config.get("clusters"):
            raise InvalidInputError(f"{name}: 'kube_config' defines no clusters")
        in_cluster = extra.flag("in_cluster", default=False)
        path = extra.text("kube_config_path") or None
        if sum((in_cluster, kube_config is not None, path is not None)) > 1:
            raise InvalidInputError(
                f"{name}: set only one of 'in_cluster', 'kube_config' and 'kube_config_path'"
            )
        return cls(
            conn_id=conn_id,
            in_cluster=in_cluster,
            kube_config=kube_config,
            kube_config_path=path,
            context=extra.text("cluster_context") or None,
            namespace=extra.text("namespace") or None,
            verify_ssl=not extra.flag("disable_verify_ssl", default=False),
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
        """:meth:`cluster_config` without blocking the event loop (a file is read in a thread).

        Triggers that start together share one read of the same file (:func:`shared_lookup`).
        """
        if self.kube_config is not None or (self.kube_config_path is None and self._use_service_account()):
            return self.cluster_config()
        key = ("kubeconfig", self.conn_id, str(self._kubeconfig_path()), self.context, self.verify_ssl)
        return await shared_lookup(key, functools.partial(asyncio.to_thread, self.cluster_config))

    def _config(self, kubeconfig: Mapping[str, Any]) -> ClusterConfig:
        return ClusterConfig(kubeconfig=kubeconfig, context=self.context, verify_ssl=self.verify_ssl)

    def _use_service_account(self) -> bool:
        return self.in_cluster or "KUBERNETES_SERVICE_HOST" in os.environ

    def _kubeconfig_path(self) -> Path:
        if self.kube_config_path is not None:
            return Path(self.kube_config_path).expanduser()
        from_env = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
        return Path(from_env).expanduser() if from_env else Path.home() / ".kube" / "config"


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


class K8sHook(NetAppHook[KubernetesConnection]):
    """Read a ``kubernetes`` connection into a :class:`ClusterConfig`.

    Named ``K8sHook`` so it never shadows the cncf provider's ``KubernetesHook``, whose connection
    type it reads. The module docstring says which fields it reads and when it falls back to the
    ambient configuration (the pod's service account, ``$KUBECONFIG``, ``~/.kube/config``).

    :param kubernetes_conn_id: the Airflow connection to use.
    """

    conn_name_attr = "kubernetes_conn_id"
    default_conn_name = "kubernetes_default"
    conn_type = CONN_TYPE
    hook_name = "Kubernetes (NetApp DataOps)"

    def __init__(self, kubernetes_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.kubernetes_conn_id = kubernetes_conn_id

    def settings(self, connection: ConnectionFields) -> KubernetesConnection:
        """Validate the connection: no fields the cncf provider ignores, then the extras."""
        unused = [name for name in _UNUSED_FIELDS if getattr(connection, name) not in (None, "")]
        if unused:
            fields = ", ".join(repr(name) for name in unused)
            raise InvalidInputError(
                f"connection {connection.conn_id!r}: {fields} {'is' if len(unused) == 1 else 'are'} not "
                "read from kubernetes connections; give the cluster and its credentials in a kubeconfig "
                "('kube_config' or 'kube_config_path'), or set 'in_cluster'"
            )
        return KubernetesConnection.from_extras(connection.conn_id, connection.extras)
