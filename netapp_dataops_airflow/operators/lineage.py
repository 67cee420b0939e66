"""Where an operation's data lives and what changed, as Airflow asset events and OpenLineage facets.

Each operator says, from its result, which datasets it read and wrote (:class:`Lineage`); this
module turns that into asset events on the task's :class:`~airflow.sdk.AssetAlias` outlets (on the
worker, when the task finishes) and into an ``OperatorLineage`` for the OpenLineage provider.
Dataset names follow OpenLineage's convention (namespace ``scheme://authority``, name the path) and
an asset's URI is the two joined, so both views name the same thing the same way. docs/lineage.md
describes the schemes for users.

OpenLineage is optional (the ``openlineage`` extra): it is imported only when the provider asks
for facets, which it does only when it is installed.
"""

from __future__ import annotations

import functools
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

ALIAS_PREFIX = "netapp-dataops"
FACET_NAME = "netapp_dataops"
PROJECT_URL = "https://github.com/NetApp/netapp-dataops-airflow"
#: The run facet's JSON schema, shipped next to this module.
FACET_SCHEMA_URL = (
    f"{PROJECT_URL}/raw/main/netapp_dataops_airflow/operators/NetAppDataOpsRunFacet.json"
    "#/$defs/NetAppDataOpsRunFacet"
)


@dataclass(frozen=True)
class Dataset:
    """A dataset as OpenLineage names it; :attr:`uri` is the Airflow asset's URI."""

    namespace: str  # scheme://authority
    name: str  # the path, without a leading slash

    @property
    def uri(self) -> str:
        """``namespace/name``: what Airflow's asset URI rules keep as it is."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Lineage:
    """What one finished operation read and wrote, and its facts (the task's result).

    :param changed: the datasets whose data the operation changed or captured: each gets an asset
        event carrying ``facts``.
    """

    operation: str
    inputs: Sequence[Dataset]
    outputs: Sequence[Dataset]
    changed: Sequence[Dataset]
    facts: Mapping[str, Any] = field(default_factory=dict)

    def extra(self) -> dict[str, Any]:
        """Return the asset event's ``extra``: the operation and its facts (plain JSON, as the XCom)."""
        return {"operation": self.operation, **self.facts}


def kubernetes_namespace(server: str | None) -> str:
    """Name a cluster ``kubernetes://host:port`` by its API server URL (``None``: in-cluster)."""
    if not server:
        return "kubernetes://kubernetes.default.svc:443"
    parts = urllib.parse.urlsplit(server if "://" in server else f"https://{server}")
    port = parts.port or (80 if parts.scheme == "http" else 443)
    return f"kubernetes://{(parts.hostname or 'unknown').lower()}:{port}"


def kubernetes_dataset(cluster: str, namespace: str, plural: str, name: str) -> Dataset:
    """Name a namespaced object: ``kubernetes://host:port`` and ``<namespace>/<plural>/<name>``."""
    return Dataset(cluster, f"{namespace}/{plural}/{name}")


def ontap_dataset(host: str, path: str | None) -> Dataset | None:
    """Name a volume ``svm:volume`` on a cluster: ``ontap://host[:port]`` and ``<svm>/<volume>``.

    ``host`` is the connection's address (a URL or ``host[:port]``); port 443 is left out.
    """
    if not path or ":" not in path:
        return None
    svm, _, volume = path.partition(":")
    parts = urllib.parse.urlsplit(host if "://" in host else f"https://{host}")
    port = f":{parts.port}" if parts.port not in (None, 443) else ""
    return Dataset(f"ontap://{(parts.hostname or host).lower()}{port}", f"{svm}/{volume}")


def endpoint_dataset(protocol: str | None, host: str | None, path: str | None) -> Dataset | None:
    """Name a storage endpoint (Cloud Sync, XCP): ``<protocol>://host`` and the path without its slash."""
    if not protocol or not host:
        return None
    return Dataset(f"{protocol.lower()}://{host}", (path or "").strip("/"))


def nfs_dataset(location: str | None) -> Dataset | None:
    """Name an NFS path as XCP takes it, ``server:/export/path``: ``nfs://server`` and ``export/path``."""
    if not location or ":" not in location:
        return None
    server, _, path = location.partition(":")
    return endpoint_dataset("nfs", server, path)


def alias_name(dag_id: str | None, task_id: str) -> str:
    """Name the default outlet: one alias per task, so the UI draws each task's own assets."""
    return f"{ALIAS_PREFIX}:{dag_id}.{task_id}" if dag_id else f"{ALIAS_PREFIX}:{task_id}"


def emit_asset_events(outlets: Sequence[Any], context: Context, lineage: Lineage) -> int:
    """Add an asset event per changed dataset to each :class:`AssetAlias` outlet; return how many.

    An :class:`Asset` outlet with the same URI as a changed dataset gets the facts as its extra
    (Airflow records an event for it anyway).
    """
    from airflow.sdk import Asset, AssetAlias

    events = context["outlet_events"]
    extra = lineage.extra()
    added = 0
    for outlet in outlets:
        if isinstance(outlet, AssetAlias):
            for dataset in lineage.changed:
                events[outlet].add(Asset(uri=dataset.uri), extra=extra)
                added += 1
        elif isinstance(outlet, Asset) and any(outlet.uri == d.uri for d in lineage.changed):
            events[outlet].extra.update(extra)
            added += 1
    return added


def operator_lineage(lineage: Lineage | None) -> OperatorLineage[Any, Any]:
    """Build the OpenLineage provider's ``OperatorLineage``: datasets, and the facts as a run facet."""
    from airflow.providers.common.compat.openlineage.facet import Dataset as OLDataset
    from airflow.providers.openlineage.extractors import OperatorLineage

    if lineage is None:
        return OperatorLineage()
    return OperatorLineage(
        inputs=[OLDataset(namespace=d.namespace, name=d.name) for d in lineage.inputs],
        outputs=[OLDataset(namespace=d.namespace, name=d.name) for d in lineage.outputs],
        run_facets={FACET_NAME: run_facet_class()(operation=lineage.operation, facts=dict(lineage.facts))},
    )


def _version() -> str:
    try:
        return version("netapp-dataops-airflow")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


@functools.cache
def run_facet_class() -> type[Any]:
    """Define the run facet on first use: its base class comes from OpenLineage, an optional extra."""
    from attrs import define
    from openlineage.client.facet_v2 import RunFacet

    producer = f"{PROJECT_URL}/tree/{_version()}"

    @define
    class NetAppDataOpsRunFacet(RunFacet):
        """What a NetApp DataOps task did: the operation and its facts (the task's result).

        :param operation: ``volume_snapshot``, ``volume_clone``, ``snapmirror_update``,
            ``cloud_sync``, ``xcp_copy`` or ``xcp_verify``.
        :param facts: the task's result, e.g. the snapshot's name, handle, restore size and
            ``derived_from``, or a transfer's bytes and end time.
        """

        operation: str
        facts: dict[str, Any]

        def __attrs_post_init__(self) -> None:
            self._producer = self._producer or producer  # the base class fills in only an empty one
            super().__attrs_post_init__()

        @staticmethod
        def _get_schema() -> str:
            return FACET_SCHEMA_URL

    return NetAppDataOpsRunFacet
