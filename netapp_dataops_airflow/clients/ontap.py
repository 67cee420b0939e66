"""Async ONTAP REST client for SnapMirror: cluster, relationships, transfers. No Airflow import.

It speaks the small protocol directly (``netapp-ontap`` is synchronous): basic auth, TLS verified
by default (system CAs or a CA given as PEM text; off only when asked), ONTAP's error envelope
parsed into :class:`~netapp_dataops_airflow.exceptions.OntapError` keeping the HTTP status, ONTAP
code and message. Connection failures, 429/5xx and ONTAP's "wait and retry" codes are retried.

Starting a transfer is only the start: a 201 means accepted. Callers poll the relationship
(``transfer.state``), preferably many at once with :meth:`OntapClient.list_relationships`
(``uuid=a|b|c``), which is how one triggerer polls every transfer of a cluster in one request.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from netapp_dataops_airflow.clients._http import (
    DEFAULT_TIMEOUT,
    HttpEndpoint,
    HttpResult,
    TlsSettings,
    basic_auth,
    default_transient_status,
)
from netapp_dataops_airflow.clients._json import dig as _dig
from netapp_dataops_airflow.clients._retry import RetryPolicy
from netapp_dataops_airflow.exceptions import InvalidInputError, OntapError, TransferInProgressError

RELATIONSHIPS = "/api/snapmirror/relationships"
ACTIVE_TRANSFER_STATES = frozenset({"queued", "transferring"})
FAILED_TRANSFER_STATES = frozenset({"failed", "aborted", "hard_aborted"})
TERMINAL_TRANSFER_STATES = FAILED_TRANSFER_STATES | {"success"}
# ONTAP asks callers to wait and retry on these (NetApp's docs; Ansible and Manila do so).
WAIT_AND_RETRY_CODES = frozenset({"6619720", "13303816", "13304159"})
# Update / initialize refused because a transfer runs; told apart by the message (Manila does).
TRANSFER_IN_PROGRESS_CODES = frozenset({"13303844", "13303812"})
TRANSFER_IN_PROGRESS_TEXT = "another transfer is in progress"
RELATIONSHIP_FIELDS = (
    "uuid,state,healthy,unhealthy_reason,lag_time,transfer,source.path,destination.path,"
    "source.svm.name,destination.svm.name,source.cluster.name,policy.name,policy.type"
)
TRANSFER_FIELDS = "uuid,state,bytes_transferred,end_time,total_duration,error_info,snapshot"
# uuid=a|b|c queries are kept short enough for any proxy's URL limit (50 x 37 chars).
BATCH_SIZE = 50
# Past this many batches, one listing of the cluster's relationships (paged by ONTAP) is cheaper, and
# its cost no longer grows with the number of relationships waited on.
MAX_BATCHES = 4
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PATH = re.compile(r"^[A-Za-z0-9_.\-]+:[^\s|*!<>]*$")
_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def check_uuid(value: str, what: str = "relationship") -> str:
    """Return ``value`` if it is a UUID; otherwise raise :class:`InvalidInputError`."""
    if not isinstance(value, str) or not _UUID.match(value):
        raise InvalidInputError(f"the {what} UUID {value!r} is not a UUID (expected 8-4-4-4-12 hex digits)")
    return value.lower()


def parse_time(value: Any) -> datetime.datetime | None:
    """Parse ONTAP's ISO 8601 timestamps (``Z``, ``+00:00`` or ``+0000``); ``None`` if absent."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_duration(value: Any) -> float | None:
    """Parse ONTAP's ISO 8601 durations (``PT28M41S``, ``P2DT1H0M0S``) into seconds; ``None`` if absent."""
    match = _DURATION.match(value) if isinstance(value, str) and value not in ("P", "PT") else None
    if match is None:
        return None
    parts = {name: float(number) for name, number in match.groupdict().items() if number is not None}
    return (
        parts.get("days", 0.0) * 86400
        + parts.get("hours", 0.0) * 3600
        + parts.get("minutes", 0.0) * 60
        + parts.get("seconds", 0.0)
    )


@dataclass(frozen=True)
class ClusterInfo:
    """``GET /api/cluster``: who answered."""

    name: str
    uuid: str | None
    version: str | None


@dataclass(frozen=True)
class Transfer:
    """A SnapMirror transfer, or a relationship's ``transfer`` summary (current or last one).

    ``uuid`` is only present while the transfer is active in a relationship summary.
    """

    state: str
    uuid: str | None = None
    bytes_transferred: int | None = None
    end_time: datetime.datetime | None = None
    duration_seconds: float | None = None
    error_code: str | None = None
    error_message: str | None = None
    snapshot: str | None = None

    @property
    def active(self) -> bool:
        """Queued or transferring."""
        return self.state in ACTIVE_TRANSFER_STATES

    @property
    def terminal(self) -> bool:
        """Succeeded, failed or aborted (unknown states count as not terminal)."""
        return self.state in TERMINAL_TRANSFER_STATES

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Transfer:
        """Read a transfer record; every field but ``state`` is optional, as across ONTAP releases."""
        error = record.get("error_info")
        error = error if isinstance(error, dict) else {}
        code = error.get("code")
        transferred = record.get("bytes_transferred")
        return cls(
            state=str(record.get("state", "unknown")),
            uuid=record.get("uuid"),
            bytes_transferred=int(transferred) if isinstance(transferred, (int, str)) else None,
            end_time=parse_time(record.get("end_time")),
            duration_seconds=parse_duration(record.get("total_duration")),
            error_code=str(code) if code is not None else None,
            error_message=error.get("message"),
            snapshot=record.get("snapshot"),
        )


@dataclass(frozen=True)
class Relationship:
    """A SnapMirror relationship as seen from its destination cluster."""

    uuid: str
    state: str | None
    healthy: bool | None
    unhealthy_reasons: tuple[str, ...]
    lag_time: str | None
    source_path: str | None
    destination_path: str | None
    policy_type: str | None
    transfer: Transfer | None
    record: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Relationship:
        """Read a relationship record, tolerating absent fields (old releases omit an idle ``transfer``)."""
        reasons = record.get("unhealthy_reason") or []
        transfer = record.get("transfer")
        return cls(
            uuid=str(record["uuid"]),
            state=record.get("state"),
            healthy=record.get("healthy"),
            unhealthy_reasons=tuple(str(r.get("message", r)) for r in reasons if isinstance(r, dict)),
            lag_time=record.get("lag_time"),
            source_path=_dig(record, "source", "path"),
            destination_path=_dig(record, "destination", "path"),
            policy_type=_dig(record, "policy", "type"),
            transfer=Transfer.from_record(transfer) if isinstance(transfer, dict) else None,
            record=record,
        )


def _error(result: HttpResult, what: str) -> OntapError:
    """Turn an error answer into an exception; the message never carries credentials."""
    envelope = _dig(result.json, "error")
    code = message = target = None
    if isinstance(envelope, dict):
        code = str(envelope["code"]) if envelope.get("code") is not None else None
        message, target = envelope.get("message"), envelope.get("target")
    if message is None:  # e.g. a proxy's HTML page, or a 401 without a body
        message = result.text.strip()[:200] or result.headers.get("Reason", "") or "no details"
    detail = f"HTTP {result.status}" + (f", ONTAP code {code}" if code else "")
    hint = ""
    if result.status == 401:
        hint = "; check the user name and password of the connection"
    elif result.status == 403:
        hint = "; the user lacks the ONTAP role this needs"
    text = f"{what} failed ({detail}): {message}{hint}"
    if code in TRANSFER_IN_PROGRESS_CODES and TRANSFER_IN_PROGRESS_TEXT in message.lower():
        return TransferInProgressError(text, status=result.status, code=code, target=target)
    return OntapError(text, status=result.status, code=code, target=target)


def _object(result: HttpResult, what: str) -> dict[str, Any]:
    """Return the JSON object of a successful answer; anything else (a proxy's page, a cut body) raises."""
    body = result.json
    if isinstance(body, dict):
        return body
    text = result.text.strip()
    shown = repr(text[:80]) if text else "an empty body"
    raise OntapError(
        f"{what}: ONTAP answered HTTP {result.status} with something other than a JSON object: {shown}",
        status=result.status,
    )


def _transient(result: HttpResult) -> bool:
    return default_transient_status(result) or str(_dig(result.json, "error", "code")) in WAIT_AND_RETRY_CODES


def _base_url(host: str) -> str:
    url = host if "://" in host else f"https://{host}"
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/"):
        raise InvalidInputError(f"the ONTAP host {host!r} must look like 'cluster.example.com[:port]'")
    return f"{parts.scheme}://{parts.netloc}"


class OntapClient:
    """SnapMirror operations on one ONTAP cluster (the destination of the relationships).

    :param host: the cluster management address, ``host[:port]`` or ``https://host[:port]``.
    :param username: an ONTAP user allowed to run SnapMirror transfers.
    :param password: its password (kept out of every message and repr).
    :param ca_pem: the CA certificate to trust, as PEM text; default: the system CAs.
    :param verify: ``False`` turns TLS verification off; only for test systems, and only if asked.
    :param check_hostname: ``False`` verifies the chain but not the name in the certificate.
    :param timeout: aiohttp timeouts (default: 6 s to connect, 45 s per read, like netapp-ontap).
    :param retry: the retry policy for transient failures.
    """

    def __init__(
        self,
        host: str,
        username: str,
        password: str,
        *,
        ca_pem: str | None = None,
        verify: bool = True,
        check_hostname: bool = True,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not username:
            raise InvalidInputError("an ONTAP user name is required")
        self._endpoint = HttpEndpoint(
            base_url=_base_url(host),
            tls=TlsSettings(verify=verify, ca_pem=ca_pem, check_hostname=check_hostname),
            auth_headers=basic_auth(username, password),
            timeout=timeout,
            retry=retry or RetryPolicy(),
            is_transient_result=_transient,
        )

    def __repr__(self) -> str:
        return f"OntapClient({self._endpoint.base_url!r})"

    @property
    def base_url(self) -> str:
        """The cluster's base URL."""
        return self._endpoint.base_url

    async def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        expect: Iterable[int] = (200,),
    ) -> HttpResult:
        result = await self._endpoint.request(method, path, params=params, body=body)
        if result.status not in tuple(expect):
            raise _error(result, what)
        return result

    async def _records(self, path: str, what: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every record of a collection, following ``_links.next`` across pages."""
        records: list[dict[str, Any]] = []
        next_params: dict[str, str] | None = params
        while next_params is not None:
            body = _object(await self._call("GET", path, what, params=next_params), what)
            records.extend(r for r in body.get("records", []) if isinstance(r, dict))
            href = _dig(body, "_links", "next", "href")
            next_params = dict(parse_qsl(urlsplit(href).query)) if isinstance(href, str) else None
        return records

    async def get_cluster(self) -> ClusterInfo:
        """Read the cluster's name and version (also a cheap credentials check)."""
        body = (await self._call("GET", "/api/cluster", "reading the cluster", params={"fields": "*"})).json
        body = body if isinstance(body, dict) else {}
        return ClusterInfo(
            name=str(body.get("name", "")), uuid=body.get("uuid"), version=_dig(body, "version", "full")
        )

    async def get_relationship(self, uuid: str, *, fields: str = RELATIONSHIP_FIELDS) -> Relationship:
        """Read one relationship by UUID."""
        uuid = check_uuid(uuid)
        what = f"reading SnapMirror relationship {uuid}"
        result = await self._call("GET", f"{RELATIONSHIPS}/{uuid}", what, params={"fields": fields})
        return Relationship.from_record(_object(result, what))

    async def list_relationships(
        self,
        *,
        uuids: Sequence[str] | None = None,
        destination_path: str | None = None,
        fields: str = RELATIONSHIP_FIELDS,
    ) -> list[Relationship]:
        """List relationships, all or filtered; ``uuids`` go out as batched ``uuid=a|b|c`` queries.

        More UUIDs than :data:`MAX_BATCHES` batches hold are read with one listing of all the
        cluster's relationships instead, filtered here.

        Unknown UUIDs are simply absent from the result (a query, not a lookup).
        """
        base: dict[str, str] = {"fields": fields}
        if destination_path is not None:
            if not _PATH.match(destination_path):
                raise InvalidInputError(
                    f"the destination path {destination_path!r} must look like 'svm:volume' or 'svm:'"
                )
            base["destination.path"] = destination_path
        what = "listing SnapMirror relationships"
        if uuids is None:
            return [Relationship.from_record(r) for r in await self._records(RELATIONSHIPS, what, base)]
        wanted = list(dict.fromkeys(check_uuid(u) for u in uuids))
        if len(wanted) > BATCH_SIZE * MAX_BATCHES:
            listed = await self._records(RELATIONSHIPS, what, base)
            chosen = set(wanted)
            return [Relationship.from_record(r) for r in listed if r.get("uuid") in chosen]
        found: list[Relationship] = []
        for start in range(0, len(wanted), BATCH_SIZE):
            batch = {**base, "uuid": "|".join(wanted[start : start + BATCH_SIZE])}
            found.extend(Relationship.from_record(r) for r in await self._records(RELATIONSHIPS, what, batch))
        return found

    async def find_relationship(self, destination_path: str) -> Relationship:
        """Find the one relationship whose destination is ``destination_path`` (``svm:volume``)."""
        matches = await self.list_relationships(destination_path=destination_path)
        if len(matches) != 1:
            raise OntapError(
                f"expected one SnapMirror relationship with destination {destination_path!r} on "
                f"{self.base_url}, found {len(matches)}",
                status=None,
                code=None,
            )
        return matches[0]

    async def start_transfer(
        self, relationship_uuid: str, *, source_snapshot: str | None = None, throttle: int | None = None
    ) -> str:
        """Start an update (or the initialize of an uninitialized relationship); return its UUID.

        ONTAP answers 201 as soon as the transfer is accepted; poll for completion.

        :raises TransferInProgressError: a transfer already runs on the relationship; read it with
            :meth:`get_relationship` (``transfer.uuid``) to adopt it instead of starting another.
        """
        uuid = check_uuid(relationship_uuid)
        body: dict[str, Any] = {}
        if source_snapshot is not None:
            body["source_snapshot"] = source_snapshot
        if throttle is not None:
            if throttle < 0:
                raise InvalidInputError("throttle must be 0 (unlimited) or a positive number of KB/s")
            body["throttle"] = throttle
        what = f"starting a transfer on SnapMirror relationship {uuid}"
        result = await self._call(
            "POST",
            f"{RELATIONSHIPS}/{uuid}/transfers",
            what,
            params={"return_records": "true"},
            body=body,
            expect=(201, 202),
        )
        transfer_uuid = _transfer_uuid(result)
        if transfer_uuid is None:
            raise OntapError(f"{what}: ONTAP accepted it but named no transfer", status=result.status)
        return transfer_uuid

    async def get_transfer(self, relationship_uuid: str, transfer_uuid: str) -> Transfer:
        """Read one transfer (ONTAP before 9.10 forgets finished ones: expect a 404 then)."""
        uuid, transfer = check_uuid(relationship_uuid), check_uuid(transfer_uuid, "transfer")
        what = f"reading transfer {transfer} of SnapMirror relationship {uuid}"
        path = f"{RELATIONSHIPS}/{uuid}/transfers/{transfer}"
        result = await self._call("GET", path, what, params={"fields": TRANSFER_FIELDS})
        return Transfer.from_record(_object(result, what))

    async def list_transfers(self, relationship_uuid: str) -> list[Transfer]:
        """List a relationship's active and recently finished transfers."""
        uuid = check_uuid(relationship_uuid)
        what = f"listing transfers of SnapMirror relationship {uuid}"
        records = await self._records(f"{RELATIONSHIPS}/{uuid}/transfers", what, {"fields": TRANSFER_FIELDS})
        return [Transfer.from_record(r) for r in records]

    async def abort_transfer(self, relationship_uuid: str, transfer_uuid: str, *, hard: bool = False) -> None:
        """Abort a running transfer; ``hard`` also discards its restart checkpoint."""
        uuid, transfer = check_uuid(relationship_uuid), check_uuid(transfer_uuid, "transfer")
        what = f"aborting transfer {transfer} of SnapMirror relationship {uuid}"
        body = {"state": "hard_aborted" if hard else "aborted"}
        await self._call(
            "PATCH", f"{RELATIONSHIPS}/{uuid}/transfers/{transfer}", what, body=body, expect=(200, 202)
        )


def _transfer_uuid(result: HttpResult) -> str | None:
    """Return the new transfer's UUID: the end of ``Location``, else the returned record's."""
    location = result.headers.get("Location", "")
    last = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
    if _UUID.match(last):
        return last.lower()
    records = _dig(result.json, "records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        value = records[0].get("uuid")
        return str(value) if value else None
    return None
