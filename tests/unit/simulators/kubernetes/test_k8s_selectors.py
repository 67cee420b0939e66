import pytest

from netapp_dataops_airflow.simulators.kubernetes import kinds
from netapp_dataops_airflow.simulators.kubernetes.errors import ApiError
from netapp_dataops_airflow.simulators.kubernetes.selectors import parse_field_selector, parse_label_selector

LABELS = {"app": "web", "tier": "db", "env": "prod"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("missing!=x", True),
        ("app", True),
        ("!app", False),
        ("!missing", True),
        ("env in (prod, staging)", True),
        ("env notin (prod,staging)", False),
        ("missing notin (a)", True),
        ("app=web,tier=db", True),
        ("app=web,tier=cache", False),
        ("env in (prod),app", True),
    ],
)
def test_label_selector_grammar(selector: str, expected: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is expected


def test_label_selector_malformed_is_bad_request() -> None:
    with pytest.raises(ApiError) as caught:
        parse_label_selector("a=b=c")
    assert caught.value.code == 400


def test_field_selector_on_events() -> None:
    selector = parse_field_selector(
        "involvedObject.name=pvc1,type!=Warning,source=snapshot-controller", kinds.EVENTS
    )
    event = {
        "involvedObject": {"name": "pvc1"},
        "type": "Normal",
        "source": {"component": "snapshot-controller"},
    }
    assert selector.matches(event)
    assert not selector.matches({**event, "type": "Warning"})


def test_field_selector_names() -> None:
    selector = parse_field_selector("metadata.name=snap1", kinds.SNAPSHOTS)
    assert selector.names() == {"snap1"}
    assert selector.matches({"metadata": {"name": "snap1"}})


def test_unsupported_field_label_is_bad_request() -> None:
    with pytest.raises(ApiError) as caught:
        parse_field_selector("spec.source.persistentVolumeClaimName=x", kinds.SNAPSHOTS)
    assert caught.value.code == 400
    assert caught.value.message == "field label not supported: spec.source.persistentVolumeClaimName"
