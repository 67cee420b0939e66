"""Run ``xcp copy|sync|resume|verify`` detached on an XCP host over SSH and defer until it ends.

The DataOps Toolkit's XCP example runs xcp through an SSH session that holds a worker slot for the
whole copy, and the copy dies with the session. Here:

1. The operation, paths, index, options and connection are checked before anything runs; the argv
   is built from them and every element is shell-quoted (:mod:`~netapp_dataops_airflow.clients.xcp_argv`).
2. The run gets a deterministic id from the task instance (dag, run, task, map index) and a
   generation: the generation is stored in ``task_state_store`` *before* the launch, so a try that
   dies after starting xcp is followed by one that finds the same run directory and adopts the run
   instead of starting a second one. Once a try has reported the run's end (success or failure),
   the next try (a retry, a clear) starts a new generation.
3. ``copy`` always passes ``-newid``: the index is named after the task instance unless given, so
   a later ``sync`` can use it; the result says which.
4. The run starts detached under ``setsid`` in its run directory and the task defers to
   :class:`~netapp_dataops_airflow.triggers.xcp.XcpRunTrigger`; a run that ended before that is
   reported without deferring.

At the deadline, or when the task is marked failed while it waits (``cancel_on_kill``), the run's
process group gets TERM, then KILL after ``kill_grace`` seconds; a run that passed meanwhile is the
result. Two ``sync`` runs are never started at once on a host (XCP does not support it): the
second fails saying which run holds the host, or with ``on_sync_busy="wait"`` waits for that run
in the triggerer (watching it, never stopping it) and then starts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from airflow.sdk import Context

from netapp_dataops_airflow.clients._blocking import run_blocking
from netapp_dataops_airflow.clients._poller import check_poll_interval
from netapp_dataops_airflow.clients._values import number
from netapp_dataops_airflow.clients.xcp import (
    DEFAULT_RUN_ROOT,
    KILL_GRACE,
    MIN_POLL_INTERVAL,
    SshTarget,
    check_run_root,
    kill,
    launch,
    run_dir,
    shared_host,
)
from netapp_dataops_airflow.clients.xcp_argv import XcpCommand, check_index_name
from netapp_dataops_airflow.clients.xcp_remote import RunStatus
from netapp_dataops_airflow.exceptions import (
    DeadlineExceededError,
    HostBusyError,
    InvalidInputError,
    NetAppDataOpsError,
    OperationFailedError,
)
from netapp_dataops_airflow.hooks.xcp import XcpHook
from netapp_dataops_airflow.operators import lineage
from netapp_dataops_airflow.operators.base import NetAppOperator
from netapp_dataops_airflow.triggers.xcp import DEFAULT_POLL_INTERVAL, XcpRunTrigger, outcome, run_result

STATE_KEY = "xcp_run"
_XCP_PATH = re.compile(r"[A-Za-z0-9._+@,=%~/-]+", re.ASCII)
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


def task_identity(context: Context) -> tuple[str, str, str, int]:
    """Return (dag id, run id, task id, map index) of the running task instance."""
    ti = context["ti"]
    map_index = getattr(ti, "map_index", None)
    return str(ti.dag_id), str(ti.run_id), str(ti.task_id), -1 if map_index is None else int(map_index)


def derived_name(identity: tuple[str, str, str, int], prefix: str, generation: int) -> str:
    """Return a name for the task instance's run or index: readable, unique by a hash, ``[A-Za-z0-9_.-]``."""
    dag_id, run_id, task_id, map_index = identity
    digest = hashlib.sha256(f"{dag_id}\0{run_id}\0{task_id}\0{map_index}".encode()).hexdigest()[:12]
    slug = _SLUG.sub("-", f"{dag_id}.{task_id}")[:80].strip("-._")
    suffix = f"-g{generation}" if generation > 1 else ""
    return f"{prefix}-{slug}-{digest}{suffix}"


class XcpOperator(NetAppOperator):
    """Run an xcp command detached on an XCP host, then wait for it in the triggerer.

    :param operation: ``copy``, ``sync``, ``resume`` or ``verify``.
    :param source: ``server:/export[/path]`` (copy, verify).
    :param target: ``server:/export[/path]`` (copy, verify).
    :param index: the catalog index: for copy the ``-newid`` (default: named after the task
        instance), for sync and resume the ``-id`` (required).
    :param parallel: xcp's ``-parallel`` (1 to 61).
    :param exclude: xcp's ``-exclude`` filter, e.g. ``"fnm('*.tmp')"``.
    :param extra_args: further xcp arguments, passed as given (each shell-quoted); options the
        operator does not know go only here.
    :param ssh_conn_id: the ``ssh`` connection of the XCP host.
    :param xcp_path: the xcp executable on the host (``xcp`` on the login ``PATH`` by default).
    :param run_root: where run directories live on the host (relative: under the login's home).
    :param poll_interval: seconds between status polls (at least 1); waits on one host share one.
    :param kill_grace: seconds between TERM and KILL when the run is stopped.
    :param on_sync_busy: when another ``sync`` runs on the host: ``"fail"`` the task at once, or
        ``"wait"`` for that run to end in the triggerer (the other run is only watched, never
        stopped), then start this one.
    """

    template_fields: Sequence[str] = (
        "operation",
        "source",
        "target",
        "index",
        "parallel",
        "exclude",
        "extra_args",
        "ssh_conn_id",
    )

    def __init__(
        self,
        *,
        operation: str,
        source: str | None = None,
        target: str | None = None,
        index: str | None = None,
        parallel: int | None = None,
        exclude: str | None = None,
        extra_args: Sequence[str] | None = None,
        ssh_conn_id: str = XcpHook.default_conn_name,
        xcp_path: str = "xcp",
        run_root: str = DEFAULT_RUN_ROOT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        kill_grace: float = KILL_GRACE,
        on_sync_busy: str = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.operation = operation
        self.source = source
        self.target = target
        self.index = index
        self.parallel = parallel
        self.exclude = exclude
        self.extra_args = extra_args
        self.ssh_conn_id = ssh_conn_id
        self.xcp_path = xcp_path
        self.run_root = run_root
        self.poll_interval = poll_interval
        self.kill_grace = kill_grace
        self.on_sync_busy = on_sync_busy

    def _command(self, identity: tuple[str, str, str, int], generation: int) -> XcpCommand:
        index = self.index
        if self.operation == "copy" and index is None:
            index = derived_name(identity, "af", generation)
        return XcpCommand.parse(
            self.operation,
            source=self.source,
            target=self.target,
            index=index,
            parallel=self.parallel,
            exclude=self.exclude,
            extra_args=self.extra_args,
        )

    def execute(self, context: Context) -> Any:
        """Validate, launch (or adopt) the run, remember it, then return or defer."""
        identity = task_identity(context)
        store = context.get("task_state_store")
        stored = store.get(STATE_KEY) if store is not None else None
        generation = 1
        earlier = stored.get("generation") if isinstance(stored, Mapping) else None
        if isinstance(earlier, int) and isinstance(stored, Mapping):
            generation = earlier + (1 if stored.get("completed") else 0)
        if self.index is not None:
            check_index_name(self.index)
        command = self._command(identity, generation)
        if not isinstance(self.xcp_path, str) or not _XCP_PATH.fullmatch(self.xcp_path):
            raise InvalidInputError(
                f"xcp_path must be a plain path such as /usr/local/bin/xcp, got {self.xcp_path!r}"
            )
        if self.on_sync_busy not in ("fail", "wait"):
            raise InvalidInputError(f"on_sync_busy must be 'fail' or 'wait', got {self.on_sync_busy!r}")
        run_root = check_run_root(self.run_root)
        poll_interval = check_poll_interval(self.poll_interval, MIN_POLL_INTERVAL)
        kill_grace = number(self.kill_grace, "kill_grace", minimum=0, maximum=3600, unit="seconds")
        target = XcpHook(self.ssh_conn_id).get_connection_settings()
        run_id = derived_name(identity, "xcp", generation)
        argv = command.argv()
        trigger = XcpRunTrigger(
            self.ssh_conn_id,
            run_root,
            run_id,
            argv,
            poll_interval,
            kill_grace,
            deadline=self.absolute_deadline(),
            cancel_on_kill=self.cancel_on_kill,
        )
        self.check_trigger(trigger)
        if store is not None:  # before the launch: a try that dies after it finds the same run
            store.set(STATE_KEY, {"run_id": run_id, "generation": generation, "completed": False})

        async def start() -> tuple[bool, RunStatus | None]:
            async with shared_host(target) as host:
                launched = await launch(host, run_root, run_id, self.xcp_path, argv, command.operation)
                status = (await host.statuses([launched.run_dir])).get(launched.run_dir)
            return launched.started, status

        try:
            started, status = run_blocking(start)
        except HostBusyError as busy:
            if self.on_sync_busy != "wait":
                raise
            self._wait_for(busy, trigger)
        verb = "Started" if started else "Adopted the already running"
        self.log.info("%s xcp run %s on %s: xcp %s", verb, run_id, target.host, " ".join(argv))
        if status is not None and status.over:
            return self._report(context, trigger, target, status)
        self.defer_to(trigger)

    def _wait_for(self, busy: HostBusyError, own: XcpRunTrigger) -> NoReturn:
        """Defer until the sync that holds the host ends; :meth:`execute_after_wait` then starts ours."""
        self.log.info("%s; waiting for it to end before starting this sync", busy)
        other = XcpRunTrigger(
            self.ssh_conn_id,
            own.run_root,
            busy.run_id,
            [],
            own.poll_interval,
            own.kill_grace,
            deadline=own.deadline,
            cancel_on_kill=False,  # someone else's run: watched, never stopped
        )
        self.defer(trigger=self.check_trigger(other), method_name="execute_after_wait", timeout=None)

    def execute_after_wait(self, context: Context, event: Mapping[str, Any] | None = None) -> Any:
        """Start this run now that the sync that held the host has ended (however it ended)."""
        status = event.get("status") if isinstance(event, Mapping) else None
        message = str(event.get("message", "")) if isinstance(event, Mapping) else ""
        if status == "timeout":
            raise DeadlineExceededError(
                f"the deadline passed while waiting for another sync to end: {message}"
            )
        if status == "error":
            raise NetAppDataOpsError(f"waiting for another sync to end failed: {message}")
        return self.execute(context)

    def _report(self, context: Context, trigger: XcpRunTrigger, target: SshTarget, status: RunStatus) -> Any:
        """Report a run that ended before the task deferred, as the trigger would."""
        result = run_result(trigger.run_id, trigger.run_dir, target.host, trigger.argv, status)
        return self.execute_complete(context, outcome(trigger, result, status))

    def execute_complete(self, context: Context, event: Mapping[str, Any] | None = None) -> Any:
        """Return the run's result or raise; an ended run counts as reported (the next try starts anew)."""
        try:
            result = super().execute_complete(context, event)
        except OperationFailedError:
            self._mark_completed(context)
            raise
        if isinstance(event, Mapping) and event.get("status") == "success":
            self._mark_completed(context)
        return self.report(context, result)

    def lineage_of(self, result: Mapping[str, Any]) -> lineage.Lineage | None:
        """Say that a copy reads its source and writes its target, and that a verify reads both.

        ``sync`` and ``resume`` name only the index (XCP keeps the paths in its catalog), so they
        tell nothing.
        """
        argv = [str(word) for word in result.get("argv") or []]
        if not argv or argv[0] not in ("copy", "verify") or len(argv) < 3:
            return None
        source, target = lineage.nfs_dataset(argv[-2]), lineage.nfs_dataset(argv[-1])
        if source is None or target is None:
            return None
        if argv[0] == "verify":
            return lineage.Lineage("xcp_verify", [source, target], [], [], result)
        return lineage.Lineage("xcp_copy", [source], [target], [target], result)

    def on_deadline(self, context: Context, event: Mapping[str, Any]) -> Any:
        """Stop the run (TERM, then KILL), then read it: a run that passed meanwhile is the result."""
        run_id = event.get("run_id")
        if not isinstance(run_id, str):
            return None
        directory = run_dir(check_run_root(self.run_root), run_id)
        target = XcpHook(self.ssh_conn_id).get_connection_settings()
        grace = number(self.kill_grace, "kill_grace", minimum=0, maximum=3600, unit="seconds")

        async def settle() -> tuple[str | None, RunStatus | None]:
            async with shared_host(target) as host:
                note = await kill(host, directory, grace) if self.cancel_on_kill else None
                return note, (await host.statuses([directory])).get(directory)

        note, status = run_blocking(settle)
        if note is not None:
            self.log.info("%s after the deadline", note)
        if status is None or not status.over:
            return None
        self._mark_completed(context)
        result = run_result(run_id, directory, target.host, list(self.argv_of(event)), status)
        return result if result["succeeded"] else None

    @staticmethod
    def argv_of(event: Mapping[str, Any]) -> list[str]:
        """Return the argv the event's result names (empty when the event has none)."""
        result = event.get("result")
        argv = result.get("argv") if isinstance(result, Mapping) else None
        return [str(word) for word in argv] if isinstance(argv, list) else []

    def _mark_completed(self, context: Context) -> None:
        store = context.get("task_state_store")
        stored = store.get(STATE_KEY) if store is not None else None
        if store is not None and isinstance(stored, Mapping):
            store.set(STATE_KEY, {**stored, "completed": True})
