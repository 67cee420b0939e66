"""XcpOperator and XcpRunTrigger against OpenSSH's sshd and the simulated xcp.

The operator runs as a worker runs it (synchronously, its client on a fresh loop) with Airflow's
context stood in by a dict and a memory ``task_state_store``; the trigger runs in the test's loop.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import structlog.testing
from airflow.sdk.exceptions import TaskDeferred

from netapp_dataops_airflow.exceptions import (
    DeadlineExceededError,
    HostBusyError,
    InvalidInputError,
    NetAppDataOpsError,
    OperationFailedError,
)
from netapp_dataops_airflow.operators.xcp import STATE_KEY, XcpOperator
from netapp_dataops_airflow.triggers.xcp import XcpRunTrigger
from tests.helpers.airflow import MemoryStateStore, task_context
from tests.helpers.waiting import poll
from tests.helpers.xcp import CONN_ID, XcpHost, process_group_alive, tree


def seed(host: XcpHost, size: int = 300_000) -> Path:
    source = host.export("nfs1", "/src")
    (source / "dir").mkdir(parents=True, exist_ok=True)
    (source / "a.txt").write_text("alpha")
    (source / "dir" / "b.bin").write_bytes(os.urandom(size))
    host.export("nfs2", "/dst")
    return source


def operator(host: XcpHost, **options: Any) -> XcpOperator:
    options.setdefault("operation", "copy")
    if options["operation"] in ("copy", "verify"):
        options.setdefault("source", "nfs1:/src")
        options.setdefault("target", "nfs2:/dst")
    options.setdefault("run_root", str(host.runs))
    options.setdefault("poll_interval", 1)
    return XcpOperator(task_id="migrate", ssh_conn_id=CONN_ID, kill_grace=2, **options)


def start(op: XcpOperator, context: dict[str, Any]) -> Any:
    """Run ``execute``: it defers (``None``), or returns the result of a run that ended before."""
    try:
        return op.execute(context)
    except TaskDeferred:
        return None


def defer(op: XcpOperator, context: dict[str, Any]) -> XcpRunTrigger:
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context)
    trigger = deferred.value.trigger
    assert isinstance(trigger, XcpRunTrigger)
    return trigger


async def only_event(trigger: XcpRunTrigger) -> dict[str, Any]:
    events = [event async for event in trigger.run()]
    assert len(events) == 1
    payload = events[0].payload
    assert isinstance(payload, dict)
    return payload


def xcp_pids(host: XcpHost) -> list[int]:
    return [int(p.read_text()) for p in host.runs.glob("*/pid")]


async def test_copy_defers_and_the_trigger_reports_the_summary(xcp_host: XcpHost) -> None:
    source = seed(xcp_host)
    xcp_host.configure(bytes_per_second=100_000)  # three seconds: polls see it running
    store = MemoryStateStore()
    context = task_context(store, task_id="migrate")
    op = operator(xcp_host)
    trigger = defer(op, context)
    assert store.values[STATE_KEY]["run_id"] == trigger.run_id
    kwargs = json.dumps(trigger.serialize()[1])
    assert xcp_host.sshd.user_key not in kwargs
    with structlog.testing.capture_logs() as logs:
        event = await only_event(trigger)
    assert event["status"] == "success", event["message"]
    result = op.execute_complete(context, event)
    assert result["exit_code"] == 0
    assert result["status"] == "PASSED"
    assert result["index_name"].startswith("af-dag.migrate-")
    assert result["argv"][:3] == ["copy", "-newid", result["index_name"]]
    assert result["counters"]["copied"] == 3
    assert result["job_id"].startswith("Job_")
    assert Path(result["log_path"]).exists()
    assert tree(source) == tree(xcp_host.export("nfs2", "/dst"))
    assert any("scanned" in str(entry.get("event", "")) for entry in logs), "no progress line in the task log"
    assert store.values[STATE_KEY]["completed"] is True


async def test_a_retry_adopts_the_running_run(xcp_host: XcpHost) -> None:
    seed(xcp_host)
    xcp_host.configure(bytes_per_second=100_000)
    store = MemoryStateStore()
    first = defer(operator(xcp_host), task_context(store, task_id="migrate"))
    pids = xcp_pids(xcp_host)
    second = defer(operator(xcp_host), task_context(store, task_id="migrate", try_number=2))
    assert second.run_id == first.run_id
    assert xcp_pids(xcp_host) == pids  # no second xcp started
    event = await only_event(second)
    assert event["status"] == "success", event["message"]


async def test_a_reported_run_makes_the_next_try_start_a_new_one(xcp_host: XcpHost) -> None:
    seed(xcp_host)
    xcp_host.configure(bytes_per_second=400_000)
    store = MemoryStateStore()
    context = task_context(store, task_id="migrate")
    op = operator(xcp_host)
    first = defer(op, context)
    op.execute_complete(context, await only_event(first))
    second = defer(operator(xcp_host), task_context(store, task_id="migrate", try_number=2))
    assert second.run_id == first.run_id + "-g2"
    assert second.argv[2].endswith("-g2")  # a new index name: the first one is taken
    assert (await only_event(second))["status"] == "success"


async def test_a_trigger_rebuilt_from_its_kwargs_mid_run_resumes(xcp_host: XcpHost) -> None:
    seed(xcp_host)
    xcp_host.configure(bytes_per_second=150_000)
    trigger = defer(operator(xcp_host), task_context(MemoryStateStore(), task_id="migrate"))
    classpath, kwargs = trigger.serialize()
    assert classpath == "netapp_dataops_airflow.triggers.xcp.XcpRunTrigger"
    rebuilt = XcpRunTrigger(**json.loads(json.dumps(kwargs)))
    event = await only_event(rebuilt)
    assert event["status"] == "success", event["message"]
    assert event["run_id"] == trigger.run_id


async def test_a_failed_copy_is_a_failure_with_xcps_words_then_resume_finishes_it(xcp_host: XcpHost) -> None:
    source = seed(xcp_host)
    (source / "0.bin").write_bytes(os.urandom(100_000))  # copied first, in about a second, then the failure
    xcp_host.configure(fail_after_files=1, bytes_per_second=100_000)
    context = task_context(MemoryStateStore(), task_id="migrate")
    op = operator(xcp_host, index="idx1")
    event = await only_event(defer(op, context))
    assert event["status"] == "failed"
    assert "Could not connect to node" in event["message"]
    assert "STATUS : FAILED" in event["message"]
    with pytest.raises(OperationFailedError, match="exit status 1"):
        op.execute_complete(context, event)
    xcp_host.configure(fail_after_files=None, bytes_per_second=0)
    resume = operator(xcp_host, operation="resume", index="idx1")
    resume.task_id = "resume"
    resume_context = task_context(MemoryStateStore(), task_id="resume")
    if start(resume, resume_context) is None:
        trigger = defer(resume, resume_context)  # deferred: the same run, adopted, followed to its end
        assert (await only_event(trigger))["status"] == "success"
    assert tree(source) == tree(xcp_host.export("nfs2", "/dst"))


async def test_on_kill_stops_the_remote_process_group(xcp_host: XcpHost) -> None:
    seed(xcp_host)
    xcp_host.configure(bytes_per_second=1_000)
    trigger = defer(operator(xcp_host), task_context(MemoryStateStore(), task_id="migrate"))
    [pgid] = xcp_pids(xcp_host)
    assert process_group_alive(pgid)
    await trigger.on_kill()  # no task instance: a caller outside a triggerer means it
    poll(lambda: not process_group_alive(pgid), bool, "process group gone")


def test_the_deadline_kills_the_run_and_fails_the_task(xcp_host: XcpHost) -> None:
    seed(xcp_host)
    xcp_host.configure(bytes_per_second=1_000)
    context = task_context(MemoryStateStore(), task_id="migrate")
    op = operator(xcp_host, deadline=30)
    trigger = defer(op, context)
    [pgid] = xcp_pids(xcp_host)
    event = trigger.event("timeout", "xcp run did not finish by its deadline")
    with pytest.raises(DeadlineExceededError):
        op.execute_complete(context, event)
    poll(lambda: not process_group_alive(pgid), bool, "process group gone")


async def test_the_trigger_times_out_at_its_deadline(xcp_host: XcpHost) -> None:
    seed(xcp_host)
    xcp_host.configure(bytes_per_second=1_000)
    trigger = defer(operator(xcp_host), task_context(MemoryStateStore(), task_id="migrate"))
    trigger.deadline = time.time() + 1.5
    event = await only_event(trigger)
    assert event["status"] == "timeout"
    await trigger.cancel()


BAD_INPUT = [
    ({"source": "nfs1:/src;touch /tmp/pwned"}, "';' is not allowed"),
    ({"source": "nfs1:/$(touch /tmp/pwned)"}, "'\\$' is not allowed"),
    ({"source": "nfs1:/`touch /tmp/pwned`"}, "'`' is not allowed"),
    ({"source": "nfs1:/it's"}, '"\'" is not allowed'),
    ({"target": "nfs2:/a b"}, "' ' is not allowed"),
    ({"target": "nfs2:/a\nb"}, "'\\\\n' is not allowed"),
    ({"source": "-rf"}, "source must be an XCP NFS path"),
    ({"source": "nfs1"}, "source must be an XCP NFS path"),
    ({"index": "--help"}, "index must be an XCP index name"),
    ({"index": "a;b"}, "index must be an XCP index name"),
    ({"parallel": "8; reboot"}, "parallel must be"),
    ({"extra_args": "-bs 64k"}, "extra_args must be a list"),
    ({"operation": "delete"}, "operation must be one of"),
    ({"xcp_path": "xcp; reboot"}, "xcp_path must be a plain path"),
    ({"run_root": "/tmp/$(id)"}, "run_root must be"),
    ({"poll_interval": 0.1}, "poll_interval must be"),
]


@pytest.mark.parametrize(("options", "message"), BAD_INPUT)
def test_bad_input_is_a_clear_error_and_nothing_runs(
    xcp_host: XcpHost, options: dict[str, Any], message: str
) -> None:
    seed(xcp_host)
    store = MemoryStateStore()
    with pytest.raises(InvalidInputError, match=message):
        operator(xcp_host, **options).execute(task_context(store, task_id="migrate"))
    assert not xcp_host.runs.exists()
    assert not Path(xcp_host.config.xcp_home, "xcplogs").exists()
    assert not Path("/tmp/pwned").exists()
    assert store.values == {}


def test_a_second_sync_is_refused_while_one_runs(xcp_host: XcpHost) -> None:
    seed(xcp_host)
    store = MemoryStateStore()
    start(operator(xcp_host, index="idx1"), task_context(store, task_id="migrate"))
    poll(lambda: any(xcp_host.runs.glob("*/exit_code")), bool, "copy ended")
    (xcp_host.export("nfs1", "/src") / "more.bin").write_bytes(os.urandom(100_000))
    xcp_host.configure(bytes_per_second=5_000)
    sync = operator(xcp_host, operation="sync", index="idx1")
    sync.task_id = "sync1"
    with pytest.raises(TaskDeferred):
        sync.execute(task_context(MemoryStateStore(), task_id="sync1"))
    second = operator(xcp_host, operation="sync", index="idx1")
    second.task_id = "sync2"
    with pytest.raises(HostBusyError, match=r"another xcp sync .* is running"):
        second.execute(task_context(MemoryStateStore(), task_id="sync2"))
    for pid in xcp_pids(xcp_host):
        if process_group_alive(pid):
            os.killpg(pid, 9)


async def test_a_second_sync_can_wait_for_the_first_then_run(xcp_host: XcpHost) -> None:
    source = seed(xcp_host)
    start(operator(xcp_host, index="idx1"), task_context(MemoryStateStore(), task_id="migrate"))
    poll(lambda: any(xcp_host.runs.glob("*/exit_code")), bool, "copy ended")
    (source / "more.bin").write_bytes(os.urandom(100_000))
    xcp_host.configure(bytes_per_second=50_000)  # the first sync takes two seconds
    first = operator(xcp_host, operation="sync", index="idx1")
    first.task_id = "sync1"
    start(first, task_context(MemoryStateStore(), task_id="sync1"))
    second = operator(xcp_host, operation="sync", index="idx1", on_sync_busy="wait")
    second.task_id = "sync2"
    context = task_context(MemoryStateStore(), task_id="sync2")
    with pytest.raises(TaskDeferred) as deferred:
        second.execute(context)
    assert deferred.value.method_name == "execute_after_wait"
    watcher = deferred.value.trigger
    assert isinstance(watcher, XcpRunTrigger)
    assert watcher.run_id.startswith("xcp-dag.sync1-")
    assert not watcher.cancel_on_kill  # the other task's run: never stopped from here
    other = await only_event(watcher)
    assert other["status"] == "success"
    result, trigger = start_or_trigger(lambda: second.execute_after_wait(context, other))
    if trigger is not None:  # still running when the operator looked: follow it
        result = second.execute_complete(context, await only_event(trigger))
    assert result["status"] == "PASSED"
    assert result["argv"] == ["sync", "-id", "idx1"]
    assert result["run_id"].startswith("xcp-dag.sync2-")
    assert tree(source) == tree(xcp_host.export("nfs2", "/dst"))


def start_or_trigger(call: Any) -> tuple[Any, XcpRunTrigger | None]:
    """Return ``(result, None)`` when ``call`` returns, ``(None, trigger)`` when it defers."""
    try:
        return call(), None
    except TaskDeferred as deferred:
        return None, deferred.trigger


def test_waiting_for_a_busy_host_past_the_deadline_fails_the_task(xcp_host: XcpHost) -> None:
    op = operator(xcp_host, operation="sync", index="idx1", on_sync_busy="wait")
    with pytest.raises(DeadlineExceededError, match="while waiting for another sync"):
        op.execute_after_wait(task_context(MemoryStateStore(), task_id="migrate"), {"status": "timeout"})
    with pytest.raises(NetAppDataOpsError, match="waiting for another sync to end failed"):
        op.execute_after_wait(task_context(MemoryStateStore(), task_id="migrate"), {"status": "error"})


async def test_refused_credentials_end_the_wait_after_reading_the_connection_twice(
    xcp_host: XcpHost, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.helpers.xcp import keygen

    stranger, _ = keygen(tmp_path / "stranger")
    trigger = XcpRunTrigger(CONN_ID, str(xcp_host.runs), "some-run", ["copy"], 1)
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", xcp_host.connection_env(private_key=stranger))
    with structlog.testing.capture_logs() as logs:
        event = await only_event(trigger)
    assert event["status"] == "error"
    assert "rejected (SSH authentication) twice" in event["message"]
    assert "refused the credentials" in event["message"]
    assert any("reading the connection again" in str(entry.get("event")) for entry in logs)
    assert stranger.splitlines()[1] not in json.dumps(event)


async def test_a_host_key_that_does_not_match_is_an_error_event(
    xcp_host: XcpHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", xcp_host.connection_env(host_key=other))
    event = await only_event(XcpRunTrigger(CONN_ID, str(xcp_host.runs), "some-run", ["copy"], 1))
    assert event["status"] == "error"
    assert "host key could not be verified" in event["message"]
    assert f"connection '{CONN_ID}'" in event["message"]
