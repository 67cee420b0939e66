"""Wait in the triggerer for a detached xcp run to end.

:class:`XcpRunTrigger` follows one run directory on the XCP host. Every wait on a host shares one
SSH connection and one status command per poll (:func:`~netapp_dataops_airflow.clients.xcp.watch_run`);
the run's latest progress line goes to the task's log when it changes. The run ends when its exit
status is written (or its process is gone without one: killed, or the host rebooted); success
needs exit status 0 **and** ``STATUS : PASSED``.
"""

from __future__ import annotations

from typing import Any

from netapp_dataops_airflow.clients._poller import PollTrouble, check_poll_interval
from netapp_dataops_airflow.clients._values import number
from netapp_dataops_airflow.clients.xcp import (
    KILL_GRACE,
    MIN_POLL_INTERVAL,
    kill,
    run_dir,
    shared_host,
    watch_run,
)
from netapp_dataops_airflow.clients.xcp_remote import RunStatus
from netapp_dataops_airflow.clients.xcp_summary import failure_reason, last_progress, parse_summary, succeeded
from netapp_dataops_airflow.exceptions import NetAppDataOpsError
from netapp_dataops_airflow.hooks.xcp import XcpHook
from netapp_dataops_airflow.triggers.base import Event, NetAppTrigger

DEFAULT_POLL_INTERVAL = 30.0


def run_result(run_id: str, directory: str, host: str, argv: list[str], status: RunStatus) -> dict[str, Any]:
    """Describe an ended run in plain JSON (the task's XCom)."""
    summary = parse_summary(status.stderr_tail)
    return {
        "run_id": run_id,
        "run_dir": directory,
        "host": host,
        "argv": list(argv),
        "exit_code": status.exit_code,
        "succeeded": succeeded(status.exit_code, summary),
        **summary.as_dict(),
    }


def outcome(trigger: NetAppTrigger, result: dict[str, Any], status: RunStatus) -> Event:
    """Turn an ended run into the success or failure event."""
    summary = parse_summary(status.stderr_tail)
    what = f"xcp {' '.join(result['argv'][:1])} (run {result['run_id']} on {result['host']})"
    if result["succeeded"]:
        counters = ", ".join(f"{value} {name.replace('_', ' ')}" for name, value in summary.counters.items())
        return trigger.success(f"{what} passed: {counters or 'no counters printed'}", result)
    return trigger.failure(f"{what} failed: {failure_reason(status.exit_code, summary)}", result)


class XcpRunTrigger(NetAppTrigger):
    """Wait for an xcp run on an XCP host to end.

    Yields one event: ``success`` (exit 0 and ``STATUS : PASSED``) or ``failed`` (anything else,
    with XCP's error lines), both with the parsed summary as the result; ``timeout`` at the
    deadline; ``error`` when the wait cannot go on (refused credentials, a host key that does not
    match, the run directory gone). A dropped connection is opened again at the next poll.

    :param ssh_conn_id: the ``ssh`` connection of the XCP host.
    :param run_root: the directory of run directories on the host.
    :param run_id: the run's directory name.
    :param argv: the xcp arguments of the run (for the result).
    :param poll_interval: seconds between polls; waits on one host share the shortest.
    :param kill_grace: seconds between TERM and KILL when the run is killed.
    """

    def __init__(
        self,
        ssh_conn_id: str,
        run_root: str,
        run_id: str,
        argv: list[str],
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        kill_grace: float = KILL_GRACE,
        *,
        deadline: float | None = None,
        cancel_on_kill: bool = True,
    ) -> None:
        super().__init__(deadline=deadline, cancel_on_kill=cancel_on_kill)
        self.ssh_conn_id = ssh_conn_id
        self.run_root = run_root
        self.run_id = run_id
        self.run_dir = run_dir(run_root, run_id)
        self.argv = list(argv)
        self.poll_interval = check_poll_interval(poll_interval, MIN_POLL_INTERVAL)
        self.kill_grace = number(kill_grace, "kill_grace", minimum=0, maximum=3600, unit="seconds")
        self._progress: str | None = None

    def ids(self) -> dict[str, Any]:
        """Return the run id and directory, repeated in every event."""
        return {"run_id": self.run_id, "run_dir": self.run_dir}

    def describe(self) -> str:
        """Name the run for log lines and messages."""
        return f"xcp run {self.run_id}"

    def connection_id(self) -> str:
        """Return the ``ssh`` connection, named in error messages."""
        return self.ssh_conn_id

    async def wait(self) -> Event:
        """Follow the run through the host's shared poll until it ends."""
        target = await XcpHook(self.ssh_conn_id).aget_connection_settings()
        async with watch_run(target, self.run_dir, self.poll_interval) as watch:
            while True:
                update = await watch.next()
                if isinstance(update, PollTrouble):
                    self.log.warning("%s", update.message)
                    continue
                if update.state == "missing":
                    raise NetAppDataOpsError(
                        f"{self.describe()}: its run directory {self.run_dir} is gone from {target.host}"
                    )
                if update.over:
                    result = run_result(self.run_id, self.run_dir, target.host, self.argv, update)
                    return outcome(self, result, update)
                progress = last_progress(update.stderr_tail)
                if progress is not None and progress != self._progress:
                    self.log.info("xcp %s: %s", self.run_id, progress)
                    self._progress = progress

    async def cancel(self) -> None:
        """TERM the run's process group, then KILL it after ``kill_grace`` (an ended run is left alone)."""
        target = await XcpHook(self.ssh_conn_id).aget_connection_settings()
        async with shared_host(target) as host:
            self.log.info("%s", await kill(host, self.run_dir, self.kill_grace))
