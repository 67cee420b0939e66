"""What an XCP task may run: validated argv, every element quoted, bad input named."""

from __future__ import annotations

import shlex

import pytest

from netapp_dataops_airflow.clients.xcp import check_run_root, run_dir
from netapp_dataops_airflow.clients.xcp_argv import XcpCommand, quoted
from netapp_dataops_airflow.clients.xcp_remote import launch_script, parse_status, status_script
from netapp_dataops_airflow.exceptions import InvalidInputError


def test_copy_argv_puts_options_first_and_paths_last() -> None:
    command = XcpCommand.parse(
        "copy",
        source="nfs1:/src/a",
        target="nfs2:/dst",
        index="idx1",
        parallel="8",
        exclude="fnm('*.tmp')",
        extra_args=["-bs", "128k"],
    )
    assert command.argv() == [
        "copy", "-newid", "idx1", "-parallel", "8", "-exclude", "fnm('*.tmp')", "-bs", "128k",
        "nfs1:/src/a", "nfs2:/dst",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("operation", "argv"),
    [("sync", ["sync", "-id", "idx1"]), ("resume", ["resume", "-id", "idx1"])],
)
def test_sync_and_resume_take_the_index_only(operation: str, argv: list[str]) -> None:
    assert XcpCommand.parse(operation, index="idx1").argv() == argv


def test_the_export_may_hold_a_colon_with_the_double_separator() -> None:
    command = XcpCommand.parse("verify", source="nfs1::/ex:port", target="nfs2:/dst")
    assert command.argv() == ["verify", "nfs1::/ex:port", "nfs2:/dst"]


BAD_PATHS = [
    "nfs1:/src;rm -rf /",
    "nfs1:/$(reboot)",
    "nfs1:/`id`",
    "nfs1:/it's",
    'nfs1:/"x"',
    "nfs1:/with space",
    "nfs1:/new\nline",
    "-rf:/x",
    "nfs1",
    "nfs1:relative",
    ":/export",
    "nfs1:/a/../../etc",
    "nfs1:/a|b",
    "nfs1:/a&b",
    "nfs1:/a>b",
    "",
]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_a_bad_path_is_an_error_naming_the_parameter(path: str) -> None:
    with pytest.raises(InvalidInputError, match="source must be an XCP NFS path") as caught:
        XcpCommand.parse("copy", source=path, target="nfs2:/dst", index="idx1")
    assert repr(path) in str(caught.value)


@pytest.mark.parametrize(
    ("path", "character"), [("nfs1:/a;b", "';'"), ("nfs1:/a b", "' '"), ("nfs1:/`x`", "'`'")]
)
def test_the_error_names_the_bad_character(path: str, character: str) -> None:
    with pytest.raises(InvalidInputError, match=f"{character} is not allowed"):
        XcpCommand.parse("verify", source=path, target="nfs2:/dst")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"operation": "delete"}, "operation must be one of copy, sync, resume, verify"),
        (
            {"operation": "copy", "source": "a:/b", "target": "c:/d", "index": "-x"},
            "index must be an XCP index",
        ),
        (
            {"operation": "copy", "source": "a:/b", "target": "c:/d", "index": "a;b"},
            "index must be an XCP index",
        ),
        ({"operation": "sync", "index": "x" * 181}, "index must be an XCP index"),
        ({"operation": "sync"}, "index must be an XCP index"),
        ({"operation": "sync", "index": "i", "source": "a:/b"}, "sync takes no source or target"),
        ({"operation": "verify", "source": "a:/b", "target": "c:/d", "index": "i"}, "verify takes no index"),
        (
            {"operation": "resume", "index": "i", "parallel": 0},
            "parallel must be a whole number between 1 and 61",
        ),
        ({"operation": "resume", "index": "i", "parallel": True}, "parallel must be"),
        ({"operation": "resume", "index": "i", "exclude": "x"}, "resume takes no exclude"),
        ({"operation": "sync", "index": "i", "exclude": "a\nb"}, "exclude must be an XCP filter"),
        ({"operation": "sync", "index": "i", "extra_args": "-bs 64k"}, "extra_args must be a list"),
        ({"operation": "sync", "index": "i", "extra_args": ["-bs", "a\nb"]}, r"extra_args\[1\] must be"),
        ({"operation": "sync", "index": "i", "extra_args": ["-id", "other"]}, r"extra_args\[0\] is -id"),
        ({"operation": "sync", "index": "i", "extra_args": [3]}, r"extra_args\[0\] must be"),
    ],
)
def test_bad_parameters_are_errors_naming_them(kwargs: dict[str, object], message: str) -> None:
    operation = kwargs.pop("operation")
    with pytest.raises(InvalidInputError, match=message):
        XcpCommand.parse(operation, **kwargs)  # type: ignore[arg-type]


def test_unknown_options_pass_only_through_extra_args_each_quoted() -> None:
    command = XcpCommand.parse("sync", index="i", extra_args=["-match", "size > 1024 and name != 'x;y'"])
    line = quoted(["xcp", *command.argv()])
    assert shlex.split(line) == ["xcp", "sync", "-id", "i", "-match", "size > 1024 and name != 'x;y'"]


@pytest.mark.parametrize("root", ["/tmp/a b", "a;b", "../up", "$HOME/x", "", None])
def test_a_bad_run_root_is_refused(root: object) -> None:
    with pytest.raises(InvalidInputError, match="run_root must be"):
        check_run_root(root)


@pytest.mark.parametrize("run_id", ["-x", "a/b", "a b", ""])
def test_a_bad_run_id_is_refused(run_id: str) -> None:
    with pytest.raises(InvalidInputError, match="run_id must be"):
        run_dir("/runs", run_id)


def test_the_launch_script_quotes_every_value() -> None:
    script = launch_script("/runs", "r1", ["xcp", "copy", "-exclude", "fnm('*.tmp')", "a:/b", "c:/d"], "copy")
    assert "'fnm('\"'\"'*.tmp'\"'\"')'" in script
    assert "setsid sh -c" in script


def test_status_lines_are_read_back_per_run() -> None:
    import base64

    tail = base64.b64encode(b"STATUS : PASSED\n").decode()
    found = parse_status(
        f"0 exited 42 0 {tail}\n1 running 43 - -\n2 missing - - -\nnoise\n", ["/a", "/b", "/c"]
    )
    assert found["/a"].exit_code == 0
    assert found["/a"].stderr_tail == "STATUS : PASSED\n"
    assert found["/a"].over
    assert found["/b"].state == "running"
    assert not found["/b"].over
    assert found["/c"].pid is None


def test_status_and_kill_scripts_quote_run_directories() -> None:
    from netapp_dataops_airflow.clients.xcp_remote import kill_script

    script = status_script(["/runs/a b", "/runs/c"], running_tail=1, ended_tail=2)
    assert "for run in '/runs/a b' /runs/c; do" in script
    assert "run='/runs/x;y'" in kill_script("/runs/x;y", 1)
