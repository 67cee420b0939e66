"""The PostgreSQL and Redis the deployment runs on: started on free ports, usable, stopped by pid."""

from __future__ import annotations

import socket
from pathlib import Path

import psycopg2

from netapp_dataops_airflow.testing.services import POSTGRES_USER, start_postgres, start_redis


def test_postgres_serves_the_airflow_database_and_stops(deployment_dir: Path) -> None:
    with start_postgres(deployment_dir / "postgres-alone") as postgres:
        url = postgres.url.replace("postgresql+psycopg2://", "postgresql://")
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT current_database(), current_user")
            assert cursor.fetchone() == ("airflow", POSTGRES_USER)
    assert postgres.process.returncode == 0  # a fast shutdown, not a kill


def test_redis_answers_and_stops(deployment_dir: Path) -> None:
    with (
        start_redis(deployment_dir / "redis-alone") as redis,
        socket.create_connection(("127.0.0.1", redis.port), 5) as client,
    ):
        client.sendall(b"PING\r\n")
        assert client.recv(64) == b"+PONG\r\n"
    assert redis.process.returncode == 0
