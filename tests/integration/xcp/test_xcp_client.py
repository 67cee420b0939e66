"""The XCP client against OpenSSH's sshd and the simulated xcp: launch, watch, adopt, kill, parse."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from netapp_dataops_airflow.clients.xcp import SshTarget, kill, launch, shared_host, watch_run
from netapp_dataops_airflow.clients.xcp_argv import XcpCommand
from netapp_dataops_airflow.clients.xcp_remote import RunStatus
from netapp_dataops_airflow.clients.xcp_summary import parse_summary, succeeded
from netapp_dataops_airflow.exceptions import HostBusyError, InvalidInputError, SshError
from tests.helpers.waiting import poll
from tests.helpers.xcp import XcpHost, process_group_alive, tree


def target(host: XcpHost, **changes: object) -> SshTarget:
    fields: dict[str, object] = {
        "conn_id": "xcp_sim",
        "host": "127.0.0.1",
        "port": host.sshd.port,
        "username": host.sshd.user,
        "private_key": host.sshd.user_key,
        "host_key": host.sshd.host_key,
        **changes,
    }
    return SshTarget(**fields)  # type: ignore[arg-type]


def seed(host: XcpHost) -> Path:
    source = host.export("nfs1", "/src")
    (source / "dir" / "sub").mkdir(parents=True, exist_ok=True)
    (source / "a.txt").write_text("alpha")
    (source / "dir" / "b.bin").write_bytes(os.urandom(300_000))
    (source / "dir" / "sub" / "c.txt").write_text("gamma")
    host.export("nfs2", "/dst")
    return source


async def until_over(ssh: SshTarget, run_dir: str) -> RunStatus:
    async with watch_run(ssh, run_dir, 1.0) as watch:
        while True:
            update = await watch.next()
            if isinstance(update, RunStatus) and update.over:
                return update


async def test_copy_then_sync_over_ssh_copies_the_tree_byte_for_byte(xcp_host: XcpHost) -> None:
    source = seed(xcp_host)
    ssh = target(xcp_host)
    copy = XcpCommand.parse("copy", source="nfs1:/src", target="nfs2:/dst", index="idx1")
    async with shared_host(ssh) as host:
        started = await launch(host, str(xcp_host.runs), "run-copy", "xcp", copy.argv(), "copy")
    assert started.started
    status = await until_over(ssh, started.run_dir)
    summary = parse_summary(status.stderr_tail)
    assert status.exit_code == 0
    assert succeeded(status.exit_code, summary), status.stderr_tail
    assert summary.index_name == "idx1"
    assert summary.counters["copied"] == 5
    assert tree(source) == tree(xcp_host.export("nfs2", "/dst"))

    (source / "a.txt").write_text("alpha, changed")
    (source / "dir" / "sub" / "c.txt").unlink()
    (source / "new.txt").write_text("new")
    sync = XcpCommand.parse("sync", index="idx1")
    async with shared_host(ssh) as host:
        started = await launch(host, str(xcp_host.runs), "run-sync", "xcp", sync.argv(), "sync")
    status = await until_over(ssh, started.run_dir)
    summary = parse_summary(status.stderr_tail)
    assert succeeded(status.exit_code, summary), status.stderr_tail
    assert summary.counters["modification"] == 1
    assert summary.counters["new_item"] == 1
    assert summary.counters["delete_item"] == 1
    assert tree(source) == tree(xcp_host.export("nfs2", "/dst"))


async def test_a_second_launch_of_the_same_run_adopts_it(xcp_host: XcpHost) -> None:
    seed(xcp_host)
    xcp_host.configure(bytes_per_second=200_000)
    ssh = target(xcp_host)
    argv = XcpCommand.parse("copy", source="nfs1:/src", target="nfs2:/dst", index="idx1").argv()
    async with shared_host(ssh) as host:
        first = await launch(host, str(xcp_host.runs), "run-1", "xcp", argv, "copy")
        second = await launch(host, str(xcp_host.runs), "run-1", "xcp", argv, "copy")
    assert first.started
    assert not second.started
    assert second.pid == first.pid
    status = await until_over(ssh, first.run_dir)
    assert succeeded(status.exit_code, parse_summary(status.stderr_tail))
    # one xcp ran: a second copy with the same -newid would have failed on the index name
    assert len(list(Path(xcp_host.config.xcp_home, "xcplogs").iterdir())) == 1


async def test_a_run_directory_holding_another_command_is_refused(xcp_host: XcpHost) -> None:
    seed(xcp_host)
    ssh = target(xcp_host)
    argv = XcpCommand.parse("copy", source="nfs1:/src", target="nfs2:/dst", index="idx1").argv()
    other = XcpCommand.parse("copy", source="nfs1:/src", target="nfs2:/dst", index="idx2").argv()
    async with shared_host(ssh) as host:
        first = await launch(host, str(xcp_host.runs), "run-1", "xcp", argv, "copy")
        with pytest.raises(InvalidInputError, match="holds another command"):
            await launch(host, str(xcp_host.runs), "run-1", "xcp", other, "copy")
    await until_over(ssh, first.run_dir)


async def test_kill_stops_the_whole_process_group(xcp_host: XcpHost) -> None:
    seed(xcp_host)
    xcp_host.configure(bytes_per_second=1_000)  # 300 kB: five minutes
    ssh = target(xcp_host)
    argv = XcpCommand.parse("copy", source="nfs1:/src", target="nfs2:/dst", index="idx1").argv()
    async with shared_host(ssh) as host:
        started = await launch(host, str(xcp_host.runs), "run-k", "xcp", argv, "copy")
        assert started.pid is not None
        assert process_group_alive(started.pid)
        outcome = await kill(host, started.run_dir, grace=5)
    assert "stopped with TERM" in outcome
    poll(lambda: not process_group_alive(started.pid or 0), bool, "process group gone")
    status = await until_over(ssh, started.run_dir)
    assert status.exit_code == 143  # xcp died of TERM; the run's shell recorded it
    assert not succeeded(status.exit_code, parse_summary(status.stderr_tail))


async def test_kill_escalates_to_kill_when_term_is_ignored(xcp_host: XcpHost) -> None:
    ssh = target(xcp_host)
    # A stand-in for an xcp stuck in uninterruptible work: it ignores TERM.
    stubborn = xcp_host.sshd.bin_dir / "stubborn"
    stubborn.write_text("#!/bin/sh\ntrap '' TERM\ntouch ready\nwhile :; do sleep 0.1; done\n")
    stubborn.chmod(0o755)
    async with shared_host(ssh) as host:
        started = await launch(host, str(xcp_host.runs), "run-s", str(stubborn), ["scan", "x:/y"], "scan")
        assert started.pid is not None
        poll(lambda: Path(started.run_dir, "ready").exists(), bool, "TERM ignored")
        outcome = await kill(host, started.run_dir, grace=0.5)
    assert "killed with KILL" in outcome
    poll(lambda: not process_group_alive(started.pid or 0), bool, "process group gone")


async def test_the_run_survives_its_ssh_connection_dropping(xcp_host: XcpHost) -> None:
    source = seed(xcp_host)
    xcp_host.configure(bytes_per_second=150_000)  # two seconds
    ssh = target(xcp_host)
    argv = XcpCommand.parse("copy", source="nfs1:/src", target="nfs2:/dst", index="idx1").argv()
    async with shared_host(ssh) as host:
        started = await launch(host, str(xcp_host.runs), "run-d", "xcp", argv, "copy")
        assert host._connection is not None
        host._connection[0].abort()  # the TCP connection dies under the client, mid-run
        assert started.pid is not None
        assert process_group_alive(started.pid)  # the run did not go down with it
        async with watch_run(ssh, started.run_dir, 1.0) as watch:
            while True:
                update = await watch.next()
                if isinstance(update, RunStatus) and update.over:
                    break
        assert watch.host is host
        assert host.connections == 2  # the first one, and the one the poll opened after the drop
    assert succeeded(update.exit_code, parse_summary(update.stderr_tail))
    assert tree(source) == tree(xcp_host.export("nfs2", "/dst"))


async def test_a_copy_that_fails_part_way_is_finished_by_resume(xcp_host: XcpHost) -> None:
    source = seed(xcp_host)
    xcp_host.configure(fail_after_files=1)
    ssh = target(xcp_host)
    copy = XcpCommand.parse("copy", source="nfs1:/src", target="nfs2:/dst", index="idx1").argv()
    async with shared_host(ssh) as host:
        started = await launch(host, str(xcp_host.runs), "run-f", "xcp", copy, "copy")
    status = await until_over(ssh, started.run_dir)
    summary = parse_summary(status.stderr_tail)
    assert status.exit_code == 1
    assert summary.status == "FAILED"
    assert any("Could not connect to node" in error for error in summary.errors)
    xcp_host.configure(fail_after_files=None)
    resume = XcpCommand.parse("resume", index="idx1").argv()
    async with shared_host(ssh) as host:
        started = await launch(host, str(xcp_host.runs), "run-r", "xcp", resume, "resume")
    status = await until_over(ssh, started.run_dir)
    assert succeeded(status.exit_code, parse_summary(status.stderr_tail))
    assert tree(source) == tree(xcp_host.export("nfs2", "/dst"))


async def test_a_second_sync_on_the_host_is_refused_while_one_runs(xcp_host: XcpHost) -> None:
    seed(xcp_host)
    ssh = target(xcp_host)
    copy = XcpCommand.parse("copy", source="nfs1:/src", target="nfs2:/dst", index="idx1").argv()
    async with shared_host(ssh) as host:
        started = await launch(host, str(xcp_host.runs), "run-c", "xcp", copy, "copy")
    await until_over(ssh, started.run_dir)
    (xcp_host.export("nfs1", "/src") / "more.bin").write_bytes(os.urandom(200_000))
    xcp_host.configure(bytes_per_second=20_000)
    sync = XcpCommand.parse("sync", index="idx1").argv()
    async with shared_host(ssh) as host:
        first = await launch(host, str(xcp_host.runs), "sync-1", "xcp", sync, "sync")
        with pytest.raises(HostBusyError, match=r"another xcp sync \(run sync-1\) is running"):
            await launch(host, str(xcp_host.runs), "sync-2", "xcp", sync, "sync")
        await kill(host, first.run_dir, grace=1)
    assert not (xcp_host.runs / "sync-2").exists()


async def test_a_wrong_host_key_is_refused(xcp_host: XcpHost) -> None:
    other_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    async with shared_host(target(xcp_host, host_key=other_key)) as host:
        with pytest.raises(SshError, match="host key could not be verified") as caught:
            await host.run("true")
    assert caught.value.reason == "host_key"
    assert xcp_host.sshd.user_key not in str(caught.value)


async def test_without_host_key_the_users_known_hosts_decide(
    xcp_host: XcpHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # an empty ~/.ssh: the key is unknown
    async with shared_host(target(xcp_host, host_key=None)) as host:
        with pytest.raises(SshError, match="host key could not be verified"):
            await host.run("true")
    async with shared_host(target(xcp_host, host_key=None, verify_host_key=False)) as host:
        answer = await host.run("echo ok")
    assert str(answer.stdout).strip() == "ok"


async def test_a_refused_key_is_an_ssh_authentication_refusal(xcp_host: XcpHost, tmp_path: Path) -> None:
    from tests.helpers.xcp import keygen

    stranger, _ = keygen(tmp_path / "stranger")
    async with shared_host(target(xcp_host, private_key=stranger)) as host:
        with pytest.raises(SshError, match="refused the credentials") as caught:
            await host.run("true")
    assert caught.value.refusal == "SSH authentication"
    assert stranger not in str(caught.value)


async def test_one_connection_and_one_status_command_per_poll_for_many_runs(xcp_host: XcpHost) -> None:
    seed(xcp_host)
    xcp_host.configure(bytes_per_second=100_000)
    ssh = target(xcp_host)
    runs = []
    async with shared_host(ssh) as host:
        for number in range(5):
            xcp_host.export("nfs2", f"/dst{number}")
            argv = XcpCommand.parse(
                "copy", source="nfs1:/src", target=f"nfs2:/dst{number}", index=f"idx{number}"
            ).argv()
            runs.append(
                (await launch(host, str(xcp_host.runs), f"run-{number}", "xcp", argv, "copy")).run_dir
            )
        launches = host.commands

        async def wait(run: str) -> RunStatus:
            async with watch_run(ssh, run, 1.0) as watch:
                while True:
                    update = await watch.next()
                    if isinstance(update, RunStatus) and update.over:
                        return update

        results = await asyncio.gather(*(wait(run) for run in runs))
        assert all(succeeded(r.exit_code, parse_summary(r.stderr_tail)) for r in results)
        assert host.connections == 1
        assert host.commands - launches == host.poller.polls


async def test_a_key_file_is_read_when_connecting(xcp_host: XcpHost, tmp_path: Path) -> None:
    key_file = tmp_path / "id_ed25519"
    key_file.write_text(xcp_host.sshd.user_key)
    key_file.chmod(0o600)
    async with shared_host(target(xcp_host, private_key=None, key_file=str(key_file))) as host:
        assert str((await host.run("echo ok")).stdout).strip() == "ok"
    async with shared_host(target(xcp_host, private_key=None, key_file=str(tmp_path / "absent"))) as host:
        with pytest.raises(SshError, match="'key_file' cannot be read"):
            await host.run("true")


async def test_a_poll_reads_only_the_end_of_a_running_runs_log(xcp_host: XcpHost) -> None:
    chatty = xcp_host.sshd.bin_dir / "chatty"
    chatty.write_text("#!/bin/sh\nhead -c 5000 /dev/zero | tr '\\0' x >&2\necho >&2\ntouch ready\nsleep 30\n")
    chatty.chmod(0o755)
    async with shared_host(target(xcp_host)) as host:
        started = await launch(host, str(xcp_host.runs), "run-c", str(chatty), ["copy"], "copy")
        poll(lambda: Path(started.run_dir, "ready").exists(), bool, "log written")
        running = (await host.statuses([started.run_dir]))[started.run_dir]
        await kill(host, started.run_dir, grace=1)
        poll(lambda: Path(started.run_dir, "exit_code").exists(), bool, "exit code written")
        ended = (await host.statuses([started.run_dir]))[started.run_dir]
    assert running.state == "running"
    assert len(running.stderr_tail) == 1024
    assert ended.over
    assert ended.stderr_tail.startswith("x" * 5000)  # all of it: less than the ended tail


async def test_a_run_whose_process_is_a_zombie_has_ended(xcp_host: XcpHost) -> None:
    import subprocess

    child = subprocess.Popen(["true"])  # not waited for: a zombie until reaped below
    try:
        poll(lambda: Path(f"/proc/{child.pid}/stat").read_text().split()[2] == "Z", bool, "zombie")
        run = xcp_host.runs / "zombie"
        run.mkdir(parents=True)
        (run / "pid").write_text(f"{child.pid}\n")
        async with shared_host(target(xcp_host)) as host:
            status = (await host.statuses([str(run)]))[str(run)]
        assert status.state == "lost"
        assert status.over
    finally:
        child.wait()
