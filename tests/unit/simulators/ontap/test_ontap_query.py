"""ONTAP's query language and record rendering, on plain dicts."""

from __future__ import annotations

import pytest

from netapp_dataops_airflow.simulators._faults import Fault, FaultPlan
from netapp_dataops_airflow.simulators.ontap import OntapApiError, query, records

RECORD = {
    "uuid": "u1",
    "state": "snapmirrored",
    "healthy": False,
    "total_transfer_bytes": 500,
    "destination": {"path": "dst:vol1", "svm": {"name": "dst", "uuid": "s1"}},
    "unhealthy_reason": [{"code": "1", "message": "a"}, {"code": "2", "message": "b"}],
    "_links": {"self": {"href": "/x"}},
}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"uuid": "u1"}, True),
        ({"uuid": "u0|u1|u2"}, True),
        ({"uuid": "u0|u2"}, False),
        ({"destination.path": "dst:vol1"}, True),
        ({"destination.path": "DST:*"}, True),
        ({"state": "!broken_off"}, True),
        ({"state": "!snapmirrored"}, False),
        ({"healthy": "false"}, True),
        ({"total_transfer_bytes": ">100"}, True),
        ({"total_transfer_bytes": "<=100"}, False),
        ({"unhealthy_reason.code": "2"}, True),
        ({"uuid": "u1", "state": "paused"}, False),
    ],
)
def test_filters(filters: dict[str, str], expected: bool) -> None:
    assert query.matches(RECORD, filters) is expected


def test_dotted_fields_keep_their_nesting_and_the_key() -> None:
    fields = ("destination.path", "unhealthy_reason.message", "unhealthy_reason.code")
    assert query.select_fields(RECORD, fields, ("uuid",)) == {
        "uuid": "u1",
        "destination": {"path": "dst:vol1"},
        "unhealthy_reason": [{"code": "1", "message": "a"}, {"code": "2", "message": "b"}],
        "_links": {"self": {"href": "/x"}},
    }
    assert query.select_fields(RECORD, ("*",), ("uuid",)) is RECORD
    assert query.select_fields(RECORD, ("lag_time",), ("uuid",)) == {"uuid": "u1", "_links": RECORD["_links"]}


def test_paging_follows_key_order_with_a_next_link() -> None:
    rendered = [{"uuid": f"u{i}", "_links": {}} for i in (3, 1, 2)]
    params = {"max_records": "2", "fields": "uuid"}
    parsed = query.parse_collection_query(params, frozenset({"uuid"}), "uuid")
    first = query.collection_body(rendered, parsed, key="uuid", path="/api/x", params=params)
    assert [r["uuid"] for r in first["records"]] == ["u1", "u2"]
    assert first["_links"]["next"]["href"] == "/api/x?max_records=2&fields=uuid&start.uuid=u3"
    params = {**params, "start.uuid": "u3"}
    parsed = query.parse_collection_query(params, frozenset({"uuid"}), "uuid")
    last = query.collection_body(rendered, parsed, key="uuid", path="/api/x", params=params)
    assert [r["uuid"] for r in last["records"]] == ["u3"]
    assert "next" not in last["_links"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"bogus": "1"}, "262179"),
        ({"order_by": "uuid"}, "262179"),
        ({"return_timeout": "121"}, "2"),
        ({"max_records": "0"}, "2"),
        ({"return_records": "maybe"}, "2"),
        ({"fields": "nonsense"}, "2"),
    ],
)
def test_bad_queries_are_rejected_as_ontap_does(params: dict[str, str], code: str) -> None:
    with pytest.raises(OntapApiError) as rejected:
        query.parse_collection_query(params, records.RELATIONSHIP_FIELDS, "uuid")
    assert (rejected.value.status, rejected.value.code) == (400, code)


def test_return_records_false_gives_only_the_count() -> None:
    parsed = query.parse_collection_query({"return_records": "false"}, frozenset({"uuid"}), "uuid")
    body = query.collection_body([{"uuid": "a"}], parsed, key="uuid", path="/p", params={})
    assert body["num_records"] == 1
    assert "records" not in body


@pytest.mark.parametrize(("seconds", "text"), [(0, "PT0H0M0S"), (30942, "PT8H35M42S"), (90000, "P1DT1H0M0S")])
def test_iso_durations(seconds: float, text: str) -> None:
    assert records.iso_duration(seconds) == text


def test_faults_fire_the_given_number_of_times_on_matching_requests() -> None:
    plan = FaultPlan()
    plan.add(Fault("drop", method="get", path="/api/cluster", times=2))
    plan.add(Fault("stall", times=-1, seconds=1))
    assert plan.take("POST", "/api/cluster").kind == "stall"  # type: ignore[union-attr]
    assert plan.take("GET", "/api/cluster/jobs/x").kind == "drop"  # type: ignore[union-attr]
    assert plan.take("GET", "/api/cluster").kind == "drop"  # type: ignore[union-attr]
    assert plan.take("GET", "/api/cluster").kind == "stall"  # type: ignore[union-attr]
    assert [f.kind for f in plan.pending()] == ["stall"]
    with pytest.raises(ValueError, match="kind"):
        Fault("explode")
