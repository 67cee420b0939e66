"""``@task.netapp_xcp``: an argv list, an operation or a dict becomes the operator's parameters."""

from __future__ import annotations

from typing import Any

import pytest

from netapp_dataops_airflow.decorators.xcp import XcpDecoratedOperator, spec_from_argv
from netapp_dataops_airflow.exceptions import InvalidInputError


@pytest.mark.parametrize(
    ("argv", "spec"),
    [
        (["copy", "a:/s", "b:/d"], {"operation": "copy", "source": "a:/s", "target": "b:/d"}),
        (
            ["copy", "-newid", "n1", "-parallel", "8", "-exclude", "fnm('*.o')", "a:/s", "b:/d"],
            {
                "operation": "copy", "index": "n1", "parallel": "8", "exclude": "fnm('*.o')",
                "source": "a:/s", "target": "b:/d",
            },
        ),
        (["sync", "-id", "n1"], {"operation": "sync", "index": "n1"}),
        (["verify", "-nodata", "a:/s", "b:/d"], {"operation": "verify", "source": "a:/s", "target": "b:/d",
                                                  "extra_args": ["-nodata"]}),
    ],
)  # fmt: skip
def test_argv_lists_map_onto_parameters(argv: list[str], spec: dict[str, Any]) -> None:
    assert spec_from_argv(argv) == spec


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "non-empty list of strings"),
        (["copy", 3], "non-empty list of strings"),
        (["sync", "-id"], "option -id needs a value"),
        (["copy", "a:/s"], "expected a source and a target"),
    ],
)
def test_bad_argv_lists_are_errors(argv: list[Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        spec_from_argv(argv)


def test_connection_and_cancel_on_kill_are_no_spec_keys() -> None:
    assert "ssh_conn_id" not in XcpDecoratedOperator.spec_fields
    assert "cancel_on_kill" not in XcpDecoratedOperator.spec_fields
    assert {"operation", "source", "target", "index", "extra_args", "run_root"} <= set(
        XcpDecoratedOperator.spec_fields
    )
