import pytest

from netapp_dataops_airflow.simulators.kubernetes.errors import ApiError
from netapp_dataops_airflow.simulators.kubernetes.patching import (
    apply_patch,
    decode_apply,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)


def test_json_patch_operations() -> None:
    doc = {"a": {"b": 1}, "list": [1, 2]}
    result = json_patch(
        doc,
        [
            {"op": "add", "path": "/a/c", "value": 2},
            {"op": "replace", "path": "/a/b", "value": 10},
            {"op": "add", "path": "/list/-", "value": 3},
            {"op": "add", "path": "/list/0", "value": 0},
            {"op": "remove", "path": "/list/1"},
            {"op": "copy", "from": "/a", "path": "/copied"},
            {"op": "move", "from": "/copied/c", "path": "/moved"},
            {"op": "test", "path": "/moved", "value": 2},
            {"op": "add", "path": "/slash~1key", "value": True},
        ],
    )
    assert result == {
        "a": {"b": 10, "c": 2},
        "list": [0, 2, 3],
        "copied": {"b": 10},
        "moved": 2,
        "slash/key": True,
    }
    assert doc == {"a": {"b": 1}, "list": [1, 2]}  # the input is untouched


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "replace", "path": "/missing", "value": 1}],
        [{"op": "remove", "path": "/a/x"}],
        [{"op": "test", "path": "/a", "value": 2}],
        [{"op": "add", "path": "/nope/deeper", "value": 1}],
    ],
)
def test_json_patch_failing_operation_is_422(ops: list[dict[str, object]]) -> None:
    with pytest.raises(ApiError) as caught:
        json_patch({"a": 1}, ops)
    assert caught.value.code == 422


def test_json_patch_that_is_an_object_is_400() -> None:
    with pytest.raises(ApiError) as caught:
        json_patch({}, {"metadata": {}})
    assert caught.value.code == 400


def test_merge_patch_rfc7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "list": [1]}
    assert merge_patch(target, {"a": "z", "c": {"f": None}, "list": [2]}) == {
        "a": "z",
        "c": {"d": "e"},
        "list": [2],
    }


def test_strategic_merge_merges_finalizers_and_keyed_lists() -> None:
    target = {
        "metadata": {"finalizers": ["a"], "ownerReferences": [{"uid": "1", "name": "x"}]},
        "status": {"conditions": [{"type": "Ready", "status": "False"}]},
    }
    patch = {
        "$setElementOrder/finalizers": ["a", "b"],
        "metadata": {"finalizers": ["b"], "ownerReferences": [{"uid": "2", "name": "y"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    result = strategic_merge_patch(target, patch)
    assert result["metadata"]["finalizers"] == ["a", "b"]
    assert [o["uid"] for o in result["metadata"]["ownerReferences"]] == ["1", "2"]
    assert result["status"]["conditions"] == [{"type": "Ready", "status": "True"}]
    assert "$setElementOrder/finalizers" not in result


def test_strategic_merge_delete_directives() -> None:
    target = {"metadata": {"finalizers": ["a", "b"]}, "spec": {"volumes": [{"name": "v1"}, {"name": "v2"}]}}
    patch = {
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]},
        "spec": {"volumes": [{"name": "v1", "$patch": "delete"}]},
    }
    result = strategic_merge_patch(target, patch)
    assert result == {"metadata": {"finalizers": ["b"]}, "spec": {"volumes": [{"name": "v2"}]}}


def test_apply_accepts_yaml_and_merges() -> None:
    config = decode_apply(b"metadata:\n  labels:\n    a: b\n")
    assert apply_patch({"metadata": {"name": "x"}}, config) == {
        "metadata": {"name": "x", "labels": {"a": "b"}}
    }


def test_apply_body_must_be_an_object() -> None:
    with pytest.raises(ApiError) as caught:
        decode_apply(b"- 1\n")
    assert caught.value.code == 400
