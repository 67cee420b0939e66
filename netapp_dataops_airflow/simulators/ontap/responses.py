"""The ONTAP REST wire format: read requests, call the backend, answer in ``application/hal+json``.

Only translation lives here; rules live in :mod:`.models`. Errors raised as
:class:`~.errors.OntapApiError` become ONTAP error envelopes in :mod:`.app`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from netapp_dataops_airflow.simulators.ontap import errors, query, records
from netapp_dataops_airflow.simulators.ontap.models import OntapBackend

HAL_JSON = "application/hal+json"
TRANSFER_POST_FIELDS = frozenset(
    {"source_snapshot", "throttle", "storage_efficiency_enabled", "files", "on_demand_attrs", "options"}
)
LIST_DESTINATIONS_ONLY = "list_destinations_only"


def hal(body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """Answer with JSON in ONTAP's content type."""
    return web.json_response(dict(body), status=status, headers=headers, content_type=HAL_JSON)


async def read_body(request: web.Request, allowed: frozenset[str]) -> dict[str, Any]:
    """Read the JSON object in a request body (empty allowed); reject unknown fields."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise errors.invalid_value("body", "the request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise errors.invalid_value("body", "expected a JSON object.")
    for name in body:
        if name not in allowed:
            raise errors.unexpected_argument(name)
    return body


def instance(request: web.Request, record: dict[str, Any], known: frozenset[str], key: str) -> web.Response:
    """Answer a single-object GET, honouring ``fields``; any other parameter is unexpected."""
    for name in request.query:
        if name not in ("fields", "return_timeout"):
            raise errors.unexpected_argument(name)
    query.parse_return_timeout(request.query)
    return hal(query.select_fields(record, query.parse_fields(request.query, known), (key,)))


class OntapResponses:
    """Request handlers bound to one backend."""

    def __init__(self, backend: OntapBackend) -> None:
        self.backend = backend

    def _collection(
        self,
        request: web.Request,
        rendered: list[dict[str, Any]],
        known: frozenset[str],
        key: str = "uuid",
        extra: tuple[str, ...] = (),
    ) -> web.Response:
        parsed = query.parse_collection_query(request.query, known, key, extra)
        page_size = self.backend.page_size
        if page_size is not None and (parsed.max_records is None or parsed.max_records > page_size):
            parsed = dataclasses.replace(parsed, max_records=page_size)
        return hal(query.collection_body(rendered, parsed, key=key, path=request.path, params=request.query))

    def _relationship_records(self) -> list[dict[str, Any]]:
        backend = self.backend
        now = backend.clock.now()
        return [records.relationship_record(r, backend.cluster, now) for r in backend.list_relationships()]

    async def get_cluster(self, request: web.Request) -> web.Response:
        """``GET /api/cluster``."""
        record = records.cluster_record(self.backend.cluster)
        return instance(request, record, frozenset(record), "name")

    async def list_svms(self, request: web.Request) -> web.Response:
        """``GET /api/svm/svms``."""
        rendered = [records.svm_record(svm) for svm in self.backend.list_svms()]
        return self._collection(request, rendered, records.SVM_FIELDS)

    async def list_relationships(self, request: web.Request) -> web.Response:
        """``GET /api/snapmirror/relationships``: every relationship has its destination here."""
        if LIST_DESTINATIONS_ONLY in request.query:
            query.parse_bool(LIST_DESTINATIONS_ONLY, request.query[LIST_DESTINATIONS_ONLY])
        rendered = self._relationship_records()
        return self._collection(
            request, rendered, records.RELATIONSHIP_FIELDS, extra=(LIST_DESTINATIONS_ONLY,)
        )

    async def get_relationship(self, request: web.Request) -> web.Response:
        """``GET /api/snapmirror/relationships/{uuid}``."""
        relationship = self.backend.get_relationship(request.match_info["uuid"])
        record = records.relationship_record(relationship, self.backend.cluster, self.backend.clock.now())
        return instance(request, record, records.RELATIONSHIP_FIELDS, "uuid")

    async def patch_relationship(self, request: web.Request) -> web.Response:
        """``PATCH /api/snapmirror/relationships/{uuid}``: a state change, run as a job (202)."""
        query.parse_return_timeout(request.query)
        body = await read_body(request, frozenset({"state"}))
        if not isinstance(body.get("state"), str):
            raise errors.invalid_value("state", "a state is required.")
        job = self.backend.modify_relationship(request.match_info["uuid"], body["state"])
        return hal({"job": records.job_link(job)}, status=202)

    async def post_transfer(self, request: web.Request) -> web.Response:
        """``POST .../{uuid}/transfers``: 201 with a Location; no job (NetApp documents none)."""
        for name in request.query:
            if name not in ("return_records", "return_timeout"):
                raise errors.unexpected_argument(name)
        query.parse_return_timeout(request.query)
        return_records = query.parse_bool("return_records", request.query.get("return_records", "false"))
        body = await read_body(request, TRANSFER_POST_FIELDS)
        throttle = body.get("throttle")
        if throttle is not None and (
            not isinstance(throttle, int) or isinstance(throttle, bool) or throttle < 0
        ):
            raise errors.invalid_value("throttle", "must be a non-negative integer (KB/s).")
        source_snapshot = body.get("source_snapshot")
        if source_snapshot is not None and not isinstance(source_snapshot, str):
            raise errors.invalid_value("source_snapshot", "must be a string.")
        if "files" in body:
            raise errors.OntapApiError(
                400, errors.INVALID_ARGUMENTS, '"files" is only supported for restore relationships.', "files"
            )
        uuid = request.match_info["uuid"]
        transfer = self.backend.start_transfer(uuid, source_snapshot=source_snapshot, throttle=throttle)
        location = f"{records.RELATIONSHIPS}/{uuid}/transfers/{transfer.uuid}"
        answer: dict[str, Any] = {}
        if return_records:
            relationship = self.backend.get_relationship(uuid)
            answer = {"num_records": 1, "records": [records.transfer_record(transfer, relationship)]}
        return hal(answer, status=201, headers={"Location": location})

    async def list_transfers(self, request: web.Request) -> web.Response:
        """``GET .../{uuid}/transfers``: active and recently finished transfers."""
        uuid = request.match_info["uuid"]
        relationship = self.backend.get_relationship(uuid)
        rendered = [records.transfer_record(t, relationship) for t in self.backend.list_transfers(uuid)]
        return self._collection(request, rendered, records.TRANSFER_FIELDS)

    async def get_transfer(self, request: web.Request) -> web.Response:
        """``GET .../{uuid}/transfers/{transfer}``."""
        uuid, transfer_uuid = request.match_info["uuid"], request.match_info["transfer"]
        transfer = self.backend.get_transfer(uuid, transfer_uuid)
        record = records.transfer_record(transfer, self.backend.get_relationship(uuid))
        return instance(request, record, records.TRANSFER_FIELDS, "uuid")

    async def patch_transfer(self, request: web.Request) -> web.Response:
        """``PATCH .../{uuid}/transfers/{transfer}`` with ``state=aborted|hard_aborted``: 200."""
        query.parse_return_timeout(request.query)
        body = await read_body(request, frozenset({"state"}))
        state = body.get("state")
        if not isinstance(state, str):
            raise errors.invalid_value("state", 'must be "aborted" or "hard_aborted".')
        self.backend.abort_transfer(request.match_info["uuid"], request.match_info["transfer"], state)
        return hal({})

    async def get_job(self, request: web.Request) -> web.Response:
        """``GET /api/cluster/jobs/{uuid}``."""
        record = records.job_record(self.backend.get_job(request.match_info["uuid"]))
        return instance(request, record, frozenset(record) | {"end_time", "error", "svm", "node"}, "uuid")

    def routes(self) -> list[web.RouteDef]:
        """Return the ONTAP API routes."""
        relationship = "/api/snapmirror/relationships/{uuid}"
        transfer = relationship + "/transfers/{transfer}"
        return [
            web.get("/api/cluster", self.get_cluster),
            web.get("/api/cluster/jobs/{uuid}", self.get_job),
            web.get("/api/svm/svms", self.list_svms),
            web.get("/api/snapmirror/relationships", self.list_relationships),
            web.get(relationship, self.get_relationship),
            web.patch(relationship, self.patch_relationship),
            web.post(relationship + "/transfers", self.post_transfer),
            web.get(relationship + "/transfers", self.list_transfers),
            web.get(transfer, self.get_transfer),
            web.patch(transfer, self.patch_transfer),
        ]
