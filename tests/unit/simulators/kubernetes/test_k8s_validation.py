import pytest

from netapp_dataops_airflow.simulators.kubernetes import kinds
from netapp_dataops_airflow.simulators.kubernetes.errors import ApiError
from netapp_dataops_airflow.simulators.kubernetes.validation import validate
from tests.helpers.kubernetes import claim_body, snapshot_body


def invalid(kind: kinds.Kind, obj: dict[str, object], old: dict[str, object] | None = None) -> ApiError:
    with pytest.raises(ApiError) as caught:
        validate(kind, obj, old)
    assert caught.value.code == 422
    assert caught.value.reason == "Invalid"
    return caught.value


def test_subdomain_name_message_is_the_apiservers() -> None:
    error = invalid(kinds.PVCS, claim_body("Bad_Name"))
    assert error.message == (
        'PersistentVolumeClaim "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase '
        "RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
        "must start and "
        "end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    )
    assert error.details is not None
    assert error.details["causes"][0]["field"] == "metadata.name"
    assert error.details["kind"] == "PersistentVolumeClaim"


def test_dotted_names_are_valid_subdomains_but_not_namespace_labels() -> None:
    validate(kinds.PVCS, claim_body("ntap-dsutil.for-clone.20261124211350"))
    error = invalid(kinds.NAMESPACES, {"metadata": {"name": "a.b"}})
    assert "RFC 1123 label" in error.message


def test_name_length_limits() -> None:
    assert "no more than 253 characters" in invalid(kinds.PVCS, claim_body("a" * 254)).message


def test_labels_and_annotations_syntax() -> None:
    error = invalid(kinds.PVCS, claim_body("x", labels={"bad key": "v", "k": "bad value"}))
    fields = [c["field"] for c in error.details["causes"]]  # type: ignore[index]
    assert fields == ["metadata.labels", "metadata.labels"]
    error = invalid(kinds.PVCS, claim_body("x", annotations={"-bad": "v"}))
    assert "metadata.annotations" in error.message


def test_pvc_required_fields() -> None:
    error = invalid(kinds.PVCS, {"metadata": {"name": "x"}, "spec": {}})
    reasons = {(c["field"], c["reason"]) for c in error.details["causes"]}  # type: ignore[index]
    assert reasons == {
        ("spec.accessModes", "FieldValueRequired"),
        ("spec.resources[storage]", "FieldValueRequired"),
    }


def test_pvc_spec_is_immutable_except_requests_of_bound_claims() -> None:
    old = {**claim_body("data"), "status": {"phase": "Bound"}}
    error = invalid(kinds.PVCS, claim_body("data", access_modes=["ReadWriteMany"]), old)
    assert "spec is immutable after creation" in error.message
    validate(kinds.PVCS, claim_body("data", resources={"requests": {"storage": "2Gi"}}), old)
    validate(kinds.PVCS, claim_body("data", volumeName="pvc-1"), old)  # the binder fills volumeName once


def test_volume_snapshot_cel_rules() -> None:
    error = invalid(kinds.SNAPSHOTS, {"metadata": {"name": "s"}, "spec": {"source": {}}})
    assert error.message == (
        'VolumeSnapshot.snapshot.storage.k8s.io "s" is invalid: spec.source: Invalid value: '
        '"object": exactly '
        "one of volumeSnapshotContentName and persistentVolumeClaimName must be set"
    )
    assert "spec: Required value" in invalid(kinds.SNAPSHOTS, {"metadata": {"name": "s"}}).message
    empty_class = snapshot_body("s", "p", snapshot_class="")
    assert "must not be the empty string" in invalid(kinds.SNAPSHOTS, empty_class).message
    old, new = snapshot_body("s", "p"), snapshot_body("s", "q")
    assert "persistentVolumeClaimName is immutable" in invalid(kinds.SNAPSHOTS, new, old).message


def test_content_and_class_required_fields() -> None:
    error = invalid(kinds.CONTENTS, {"metadata": {"name": "c"}, "spec": {"deletionPolicy": "Keep"}})
    fields = {c["field"] for c in error.details["causes"]}  # type: ignore[index]
    assert fields == {"spec.driver", "spec.source", "spec.volumeSnapshotRef", "spec.deletionPolicy"}
    error = invalid(kinds.SNAPSHOT_CLASSES, {"metadata": {"name": "c"}})
    assert {c["field"] for c in error.details["causes"]} == {"driver", "deletionPolicy"}  # type: ignore[index]
