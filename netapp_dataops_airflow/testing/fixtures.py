"""The plugin's pytest fixtures: simulators, the metadata database, and connections for one test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from netapp_dataops_airflow.simulators.cloud_sync import CloudSyncSimulator
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator
from netapp_dataops_airflow.simulators.ontap import OntapSimulator
from netapp_dataops_airflow.simulators.xcp.host import SimulatedXcpHost
from netapp_dataops_airflow.testing.database import ensure_airflow_db

# --- simulators -----------------------------------------------------------------------------------


@pytest.fixture
def kubernetes_simulator() -> Iterator[KubernetesSimulator]:
    """Yield a fresh Kubernetes simulator (its own backend) served from a background thread."""
    with KubernetesSimulator() as simulator:
        yield simulator


@pytest.fixture
def kubeconfig_path(kubernetes_simulator: KubernetesSimulator, tmp_path: Path) -> Path:
    """Write a kubeconfig file for :func:`kubernetes_simulator` and return its path."""
    return kubernetes_simulator.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def ontap_simulator() -> Iterator[OntapSimulator]:
    """Yield a fresh simulated ONTAP cluster (its own backend) served over HTTPS from a background thread.

    Seed and steer it through ``ontap_simulator.backend``: ``add_relationship``,
    ``set_transfer_settings``, ``advance`` (the cluster's clock), ``inject_fault``, ``requests``.
    """
    with OntapSimulator() as simulator:
        yield simulator


@pytest.fixture
def ontap_connection(ontap_simulator: OntapSimulator, airflow_connection: Callable[..., str]) -> str:
    """Define ``ontap_default``, a ``netapp_ontap`` connection to :func:`ontap_simulator`; return its id.

    It trusts the simulator's CA (given as PEM text), as a connection to a real cluster would.
    """
    return airflow_connection(
        "ontap_default",
        "netapp_ontap",
        host=ontap_simulator.url,
        login=ontap_simulator.username,
        password=ontap_simulator.password,
        extra={"ca_certificate": ontap_simulator.ca_pem},
    )


@pytest.fixture
def cloud_sync_simulator() -> Iterator[CloudSyncSimulator]:
    """Yield a simulated Cloud Sync service with one account, served over HTTPS from a background thread.

    One server answers the token endpoint and the API; it accepts ``cloud_sync_simulator.refresh_token``.
    Seed and steer it through ``cloud_sync_simulator.backend``: ``add_relationship`` (NFS, SMB, S3, ...
    endpoints), ``set_sync_settings`` (how long syncs take, how they end), ``advance`` (the service's
    clock), ``revoke_refresh_token``, ``inject_fault``, ``requests_matching``.
    """
    with CloudSyncSimulator() as simulator:
        simulator.backend.add_account(name="Simulated")
        yield simulator


@pytest.fixture
def cloud_sync_connection(
    cloud_sync_simulator: CloudSyncSimulator, airflow_connection: Callable[..., str]
) -> str:
    """Define ``cloud_sync_default``, a ``netapp_cloud_sync`` connection to :func:`cloud_sync_simulator`.

    Returns its id. The password is the simulator's refresh token; the connection trusts the
    simulator's CA (given as PEM text) and finds the account itself, as one to the real service would.
    """
    return airflow_connection(
        "cloud_sync_default",
        "netapp_cloud_sync",
        password=cloud_sync_simulator.refresh_token,
        extra={
            "api_url": cloud_sync_simulator.api_url,
            "token_url": cloud_sync_simulator.token_url,
            "ca_certificate": cloud_sync_simulator.ca_pem,
        },
    )


@pytest.fixture
def xcp_simulator(tmp_path: Path) -> Iterator[SimulatedXcpHost]:
    """Yield a simulated XCP host: the ``xcp`` simulator behind an embedded SSH server on loopback.

    No sshd is needed. Lay out exports with ``xcp_simulator.export(server, "/export")`` (a directory
    standing for ``server:/export``); slow runs down or make them fail part-way with
    ``xcp_simulator.configure(bytes_per_second=..., fail_after_files=...)``.
    """
    with SimulatedXcpHost(tmp_path / "xcp-host", progress_interval=0.2) as host:
        yield host


@pytest.fixture
def xcp_connection(xcp_simulator: SimulatedXcpHost, airflow_connection: Callable[..., str]) -> str:
    """Define ``ssh_default``, an ``ssh`` connection to :func:`xcp_simulator`; return its id.

    ``ssh_default`` is the XCP tasks' default connection. It authenticates with a private key and
    pins the host's key, as a connection to a real XCP host should.
    """
    fields = xcp_simulator.connection()
    return airflow_connection(
        "ssh_default",
        fields["conn_type"],
        host=fields["host"],
        port=fields["port"],
        login=fields["login"],
        extra=fields["extra"],
    )


# --- Airflow: metadata database, connections ------------------------------------------------------


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Create or migrate Airflow's metadata database once per session; return Airflow's home.

    Fails, without touching anything, if Airflow would use ``~/airflow``: see the plugin's docstring.
    """
    return ensure_airflow_db()


@pytest.fixture
def airflow_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Return a function that defines an Airflow connection for this test only.

    The connection is an ``AIRFLOW_CONN_<ID>`` environment variable holding JSON, so tasks, the
    Execution API and triggers (``get_async_connection``) all see it; it is removed after the test.
    Call it as ``airflow_connection(conn_id, conn_type, host=..., login=..., password=...,
    schema=..., port=..., extra={...})``; it returns the conn_id.
    """

    def define(
        conn_id: str,
        conn_type: str,
        *,
        host: str | None = None,
        login: str | None = None,
        password: str | None = None,
        schema: str | None = None,
        port: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        fields = {"host": host, "login": login, "password": password, "schema": schema, "port": port}
        connection: dict[str, Any] = {"conn_type": conn_type}
        connection.update({name: value for name, value in fields.items() if value is not None})
        if extra:
            connection["extra"] = dict(extra)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
        return conn_id

    return define
