"""The embedded asyncssh server (for the demo and users' tests) serves the XCP client as sshd does."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from netapp_dataops_airflow.clients.xcp import SshTarget, launch, shared_host, watch_run
from netapp_dataops_airflow.clients.xcp_argv import XcpCommand
from netapp_dataops_airflow.clients.xcp_remote import RunStatus
from netapp_dataops_airflow.clients.xcp_summary import parse_summary, succeeded
from netapp_dataops_airflow.exceptions import SshError
from netapp_dataops_airflow.hooks.base import ConnectionFields
from netapp_dataops_airflow.hooks.xcp import target_from_connection
from netapp_dataops_airflow.simulators.xcp.host import SimulatedXcpHost
from netapp_dataops_airflow.simulators.xcp.ssh_server import EmbeddedSshServer


def target_of(host: SimulatedXcpHost) -> SshTarget:
    connection = host.connection()
    return target_from_connection(
        ConnectionFields(
            conn_id="xcp_sim",
            conn_type="ssh",
            host=connection["host"],
            port=connection["port"],
            login=connection["login"],
            password=None,
            schema=None,
            extras=connection["extra"],
        )
    )


async def test_many_runs_cost_one_connection_and_one_status_command_per_poll(
    embedded_xcp_host: SimulatedXcpHost,
) -> None:
    source = embedded_xcp_host.export("nfs1", "/src")
    (source / "f.bin").write_bytes(os.urandom(100_000))
    embedded_xcp_host.configure(bytes_per_second=50_000)
    ssh = target_of(embedded_xcp_host)
    runs = []
    async with shared_host(ssh) as host:
        for number in range(8):
            embedded_xcp_host.export("nfs2", f"/dst{number}")
            argv = XcpCommand.parse(
                "copy", source="nfs1:/src", target=f"nfs2:/dst{number}", index=f"i{number}"
            )
            launched = await launch(
                host, str(embedded_xcp_host.runs), f"r{number}", "xcp", argv.argv(), "copy"
            )
            runs.append(launched.run_dir)
        launches = embedded_xcp_host.server.commands

        async def wait(run: str) -> RunStatus:
            async with watch_run(ssh, run, 1.0) as watch:
                while True:
                    update = await watch.next()
                    if isinstance(update, RunStatus) and update.over:
                        return update

        results = await asyncio.gather(*(wait(run) for run in runs))
        polls = host.poller.polls
    assert all(succeeded(r.exit_code, parse_summary(r.stderr_tail)) for r in results)
    assert embedded_xcp_host.server.connections == 1
    assert embedded_xcp_host.server.commands - launches == polls  # seen by the server, not the client


async def test_password_authentication(tmp_path: Path) -> None:
    server = EmbeddedSshServer(user="xcpuser", home=tmp_path, password="s3cret-Pa55")
    await server.start()
    try:
        good = SshTarget(
            "c", "127.0.0.1", server.port, "xcpuser", password="s3cret-Pa55", host_key=server.host_key
        )
        async with shared_host(good) as host:
            answer = await host.run("echo hello from $USER")
        assert str(answer.stdout).strip() == "hello from xcpuser"
        bad = SshTarget("c", "127.0.0.1", server.port, "xcpuser", password="wrong", host_key=server.host_key)
        async with shared_host(bad) as host:
            with pytest.raises(SshError, match="refused the credentials") as caught:
                await host.run("true")
        assert caught.value.refusal == "SSH authentication"
        assert "wrong" not in str(caught.value)
    finally:
        await server.stop()


def test_the_plugins_xcp_connection_reaches_the_simulated_host_as_ssh_default(
    xcp_simulator: SimulatedXcpHost, xcp_connection: str
) -> None:
    from netapp_dataops_airflow.hooks.xcp import XcpHook

    assert xcp_connection == "ssh_default" == XcpHook.default_conn_name
    settings = XcpHook().get_connection_settings()
    assert (settings.host, settings.port) == (xcp_simulator.server.host, xcp_simulator.server.port)
