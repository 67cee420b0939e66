"""The XCP simulator's commands, run in-process on real directories (no SSH)."""

from __future__ import annotations

import filecmp
import os
import re
from pathlib import Path

import pytest

from netapp_dataops_airflow.simulators.xcp import XcpConfig
from netapp_dataops_airflow.simulators.xcp.main import main
from netapp_dataops_airflow.simulators.xcp.report import duration, size


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> XcpConfig:
    config = XcpConfig(
        root=str(tmp_path / "root"),
        catalog=str(tmp_path / "catalog"),
        xcp_home=str(tmp_path / "home"),
        progress_interval=3600,
    )
    monkeypatch.setenv("XCP_SIM_CONFIG", str(config.save(tmp_path / "xcp.json")))
    source = tmp_path / "root" / "nfs1" / "src"
    (source / "a" / "b").mkdir(parents=True)
    (source / "top.txt").write_text("top")
    (source / "a" / "data.bin").write_bytes(os.urandom(100_000))
    (source / "a" / "b" / "deep.txt").write_text("deep")
    (tmp_path / "root" / "nfs2" / "dst").mkdir(parents=True)
    return config


def same_tree(left: Path, right: Path) -> bool:
    comparison = filecmp.dircmp(left, right)
    if comparison.left_only or comparison.right_only or comparison.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, comparison.common_files, shallow=False)
    return not mismatch and not errors and all(same_tree(left / d, right / d) for d in comparison.common_dirs)


def summary(text: str) -> dict[str, str]:
    return dict(
        re.findall(r"^(Stats|Speed|Total Time|Migration ID|Job ID|Log Path|STATUS) ?: (.*)$", text, re.M)
    )


def test_copy_copies_the_tree_and_prints_the_summary_block(
    host: XcpConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["copy", "-newid", "idx1", "nfs1:/src", "nfs2:/dst"]) == 0
    err = capsys.readouterr().err
    fields = summary(err)
    assert fields["STATUS"] == "PASSED"
    assert fields["Stats"] == "6 scanned, 0 matched, 5 copied, 0 error"
    assert fields["Migration ID"] == "idx1"
    assert re.fullmatch(r"Job_\d{4}-\d\d-\d\d_\d\d\.\d\d\.\d\d\.\d{6}_copy", fields["Job ID"])
    assert Path(fields["Log Path"]).read_text().count(" - INFO - ") >= 1
    assert "Xcp command : xcp copy -newid idx1 nfs1:/src nfs2:/dst" in err
    assert same_tree(Path(host.root, "nfs1/src"), Path(host.root, "nfs2/dst"))
    assert (Path(host.catalog) / "catalog" / "indexes" / "idx1" / "index.json").exists()


def test_sync_copies_changes_and_removes_what_was_removed(
    host: XcpConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    source = Path(host.root, "nfs1/src")
    assert main(["copy", "-newid", "idx1", "nfs1:/src", "nfs2:/dst"]) == 0
    (source / "top.txt").write_text("changed, and longer")
    (source / "new.txt").write_text("new")
    (source / "a" / "b" / "deep.txt").unlink()
    capsys.readouterr()
    assert main(["sync", "-id", "idx1"]) == 0
    fields = summary(capsys.readouterr().err)
    assert fields["Stats"] == "6 scanned, 2 copied, 1 modification, 1 new item, 1 delete item, 0 error"
    assert same_tree(source, Path(host.root, "nfs2/dst"))


def test_sync_dry_run_changes_nothing(host: XcpConfig, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["copy", "-newid", "idx1", "nfs1:/src", "nfs2:/dst"]) == 0
    Path(host.root, "nfs1/src/new.txt").write_text("new")
    assert main(["sync", "dry-run", "-id", "idx1"]) == 0
    assert "1 new item" in capsys.readouterr().err
    assert not Path(host.root, "nfs2/dst/new.txt").exists()


def test_a_copy_failing_part_way_is_finished_by_resume(
    host: XcpConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = XcpConfig(**{**host.__dict__, "fail_after_files": 1})
    monkeypatch.setenv("XCP_SIM_CONFIG", str(failing.save(tmp_path / "failing.json")))
    assert main(["copy", "-newid", "idx1", "nfs1:/src", "nfs2:/dst"]) == 1
    err = capsys.readouterr().err
    assert summary(err)["STATUS"] == "FAILED"
    assert "xcp: ERROR: batch 1: Could not connect to node" in err
    assert not same_tree(Path(host.root, "nfs1/src"), Path(host.root, "nfs2/dst"))
    assert main(["resume", "-id", "idx1"]) == 0
    fields = summary(capsys.readouterr().err)
    assert fields["STATUS"] == "PASSED"
    assert "scanned*" in fields["Stats"]
    assert same_tree(Path(host.root, "nfs1/src"), Path(host.root, "nfs2/dst"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["copy", "nfs1:/missing", "nfs2:/dst"], "nfs1:/missing: nfs3 error 2: no such file or directory"),
        (["copy", "nfs1-no-colon", "nfs2:/dst"], "xcp:ERROR: invalid path 'nfs1-no-colon'"),
        (["resume", "-id", "unknown"], "xcp: ERROR: Empty or invalid index"),
        (["sync", "-id", "unknown"], "xcp: ERROR: Empty or invalid index"),
        (["sync"], "xcp: ERROR: sync: -id <name> is required"),
        (["copy", "-l", "nfs1:/src", "nfs2:/dst"], "xcp: ERROR: copy: unknown option '-l'"),
        (["copy", "-parallel", "0", "nfs1:/src", "nfs2:/dst"], "-parallel must be a number from 1 to 61"),
        (["frobnicate"], "unknown command 'frobnicate'"),
    ],
)
def test_errors_are_printed_as_xcp_prints_them(
    host: XcpConfig, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    assert message in capsys.readouterr().err
    assert not any(Path(host.root, "nfs2/dst").iterdir())


def test_an_index_name_in_use_is_refused(host: XcpConfig, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["copy", "-newid", "idx1", "nfs1:/src", "nfs2:/dst"]) == 0
    assert main(["copy", "-newid", "idx1", "nfs1:/src", "nfs2:/dst"]) == 1
    assert "index 'idx1' already exists" in capsys.readouterr().err


def test_copy_without_newid_names_the_index_and_warns(
    host: XcpConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["copy", "nfs1:/src", "nfs2:/dst"]) == 0
    err = capsys.readouterr().err
    name = re.search(r"creating one with name: (XCP_copy_\S+)", err)
    assert name is not None
    assert summary(err)["Migration ID"] == name.group(1)


def test_verify_fails_on_a_different_file(host: XcpConfig, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["copy", "-newid", "idx1", "nfs1:/src", "nfs2:/dst"]) == 0
    Path(host.root, "nfs2/dst/top.txt").write_text("tampered")
    assert main(["verify", "nfs1:/src", "nfs2:/dst"]) == 1
    fields = summary(capsys.readouterr().err)
    assert fields["STATUS"] == "FAILED"
    assert "1 different item" in fields["Stats"]


def test_not_root_is_refused_when_configured(
    host: XcpConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    strict = XcpConfig(**{**host.__dict__, "require_root": True})
    monkeypatch.setenv("XCP_SIM_CONFIG", str(strict.save(tmp_path / "strict.json")))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # the OS's answer, not the project's code
    assert main(["scan", "nfs1:/src"]) == 1
    assert "xcp: ERROR: must run as root" in capsys.readouterr().err


def test_scan_lists_on_stdout(host: XcpConfig, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "nfs1:/src"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "nfs1:/src/a/b/deep.txt" in out
    assert len(out) == 5


def test_catalog_path_environment_overrides_the_configuration(
    host: XcpConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XCP_CATALOG_PATH", str(tmp_path / "elsewhere"))
    assert main(["copy", "-newid", "idx9", "nfs1:/src", "nfs2:/dst"]) == 0
    assert (tmp_path / "elsewhere" / "catalog" / "indexes" / "idx9").is_dir()


@pytest.mark.parametrize(
    ("value", "text"), [(512, "512"), (1536, "1.5 KiB"), (2.36 * 2**30, "2.36 GiB"), (150 * 2**20, "150 MiB")]
)
def test_sizes_in_binary_units(value: float, text: str) -> None:
    assert size(value) == text


@pytest.mark.parametrize(("seconds", "text"), [(5, "5s"), (121, "2m1s"), (3725, "1h2m5s")])
def test_durations(seconds: float, text: str) -> None:
    assert duration(seconds) == text
