"""The control API under ``/_simulator/``: what tests and demos use to steer the simulated cluster.

It needs no credentials and is never hit by injected faults. Every endpoint maps to one backend
method, so a test in another process can do what an in-process test does in Python:

==========================================  ===========================================================
``POST /_simulator/reset``                  forget everything
``POST /_simulator/cluster``                ``{"name"?, "version"?}``
``POST /_simulator/svms``                   ``{"name", "cluster"?, "uuid"?}``
``POST /_simulator/relationships``          keyword arguments of ``OntapBackend.add_relationship``
``PUT /_simulator/transfer-settings``       ``{"duration"?, "queue_seconds"?, "outcome"?}``
``PUT /_simulator/job-seconds``             ``{"seconds"}``
``PUT /_simulator/page-size``               ``{"records"}``: page collections (``null``: don't)
``POST /_simulator/advance``                ``{"seconds"}``: move the simulated clock on
``POST /_simulator/faults``                 ``{"kind", "method"?, "path"?, "times"?, "body"?, ...}``
``DELETE /_simulator/faults``               drop pending faults
``GET /_simulator/state``                   every object as the API renders it, plus settings and faults
``GET /_simulator/requests``                the API requests received, oldest first (``"GET /api/..."``)
==========================================  ===========================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from netapp_dataops_airflow.simulators._control import PREFIX, call, plain
from netapp_dataops_airflow.simulators.ontap import records
from netapp_dataops_airflow.simulators.ontap.models import OntapBackend


def state_of(backend: OntapBackend) -> dict[str, Any]:
    """Everything the simulated cluster holds, rendered as its API would, for inspection."""
    with backend.lock:
        return _state(backend)


def _state(backend: OntapBackend) -> dict[str, Any]:
    now = backend.clock.now()
    relationships = backend.list_relationships()
    return {
        "cluster": records.cluster_record(backend.cluster),
        "svms": [records.svm_record(svm) for svm in backend.svms.values()],
        "relationships": [records.relationship_record(r, backend.cluster, now) for r in relationships],
        "transfers": [
            records.transfer_record(transfer, relationship)
            for relationship in relationships
            for transfer in relationship.transfers.values()
        ],
        "jobs": [records.job_record(job) for job in backend.jobs.values()],
        "transfer_settings": plain(backend.transfer_settings),
        "job_seconds": backend.job_seconds,
        "faults": plain(backend.faults.pending()),
    }


def _relationship(backend: OntapBackend) -> Callable[..., dict[str, Any]]:
    def add(**options: Any) -> dict[str, Any]:
        relationship = backend.add_relationship(**options)
        return records.relationship_record(relationship, backend.cluster, backend.clock.now())

    return add


def control_routes(backend: OntapBackend) -> list[web.RouteDef]:
    """Return the ``/_simulator/`` routes for ``backend``."""

    async def state(request: web.Request) -> web.Response:
        return web.json_response(state_of(backend))

    async def requests(request: web.Request) -> web.Response:
        return web.json_response(backend.requests_matching())

    return [
        web.post(f"{PREFIX}/reset", call(backend.reset)),
        web.post(f"{PREFIX}/cluster", call(lambda **kw: records.cluster_record(backend.set_cluster(**kw)))),
        web.post(f"{PREFIX}/svms", call(lambda **kw: records.svm_record(backend.add_svm(**kw)))),
        web.post(f"{PREFIX}/relationships", call(_relationship(backend))),
        web.put(f"{PREFIX}/transfer-settings", call(backend.set_transfer_settings)),
        web.put(f"{PREFIX}/job-seconds", call(backend.set_job_seconds)),
        web.put(f"{PREFIX}/page-size", call(backend.set_page_size)),
        web.post(f"{PREFIX}/advance", call(backend.advance)),
        web.post(f"{PREFIX}/faults", call(backend.inject_fault)),
        web.delete(f"{PREFIX}/faults", call(backend.faults.clear)),
        web.get(f"{PREFIX}/state", state),
        web.get(f"{PREFIX}/requests", requests),
    ]
