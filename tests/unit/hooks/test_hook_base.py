"""What both hooks share: real Airflow connections read on a worker and in a trigger, checked alike."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from netapp_dataops_airflow.exceptions import InvalidInputError
from netapp_dataops_airflow.hooks.base import NetAppHook
from netapp_dataops_airflow.hooks.kubernetes import K8sHook
from netapp_dataops_airflow.hooks.ontap import OntapHook

SECRET = "Sh4red-Secret-value"
KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "sim", "cluster": {"server": "https://127.0.0.1:6443"}}],
    "users": [{"name": "u", "user": {"token": SECRET}}],
    "contexts": [{"name": "ctx", "context": {"cluster": "sim", "user": "u"}}],
    "current-context": "ctx",
}
# A valid connection of each type; a test changes one thing about it.
VALID: dict[str, dict[str, Any]] = {
    "netapp_ontap": {
        "conn_type": "netapp_ontap",
        "host": "cluster.example.com",
        "login": "admin",
        "password": SECRET,
        "extra": {"verify_ssl": "true"},
    },
    "kubernetes": {"conn_type": "kubernetes", "extra": {"kube_config": KUBECONFIG, "in_cluster": False}},
}
# The on/off extra of each type that a misspelling must not flip.
FLAG = {"netapp_ontap": "verify_ssl", "kubernetes": "in_cluster"}
HOOKS: dict[str, Callable[[str], NetAppHook[Any]]] = {"netapp_ontap": OntapHook, "kubernetes": K8sHook}
ARG = {"netapp_ontap": "ontap_conn_id", "kubernetes": "kubernetes_conn_id"}

both_types = pytest.mark.parametrize("conn_type", sorted(HOOKS))


def with_extra(conn_type: str, **extra: Any) -> dict[str, Any]:
    connection = json.loads(json.dumps(VALID[conn_type]))
    connection["extra"].update(extra)
    return connection


async def refused(hook: NetAppHook[Any], match: str) -> str:
    """Both ways of reading must refuse the same way; return the message."""
    with pytest.raises(InvalidInputError, match=match) as on_worker:
        hook.get_connection_settings()
    with pytest.raises(InvalidInputError, match=match) as in_trigger:
        await hook.aget_connection_settings()
    assert str(on_worker.value) == str(in_trigger.value)
    assert SECRET not in str(on_worker.value)
    return str(on_worker.value)


@both_types
async def test_a_valid_connection_is_read_alike_on_workers_and_in_triggers(
    airflow_connection: Callable[..., str], conn_type: str
) -> None:
    airflow_connection("conn_a", **VALID[conn_type])
    hook = HOOKS[conn_type]("conn_a")
    assert hook.get_connection_settings() == await hook.aget_connection_settings()


@both_types
async def test_an_undefined_connection_is_named(conn_type: str) -> None:
    message = await refused(HOOKS[conn_type]("nowhere_conn"), "connection 'nowhere_conn' is not defined")
    assert f"create a {conn_type} connection" in message


@pytest.mark.parametrize(
    ("conn_type", "other"),
    [("kubernetes", "netapp_ontap"), ("netapp_ontap", "kubernetes"), ("kubernetes", "http")],
)
async def test_a_connection_of_another_type_is_refused(
    airflow_connection: Callable[..., str], conn_type: str, other: str
) -> None:
    airflow_connection("conn_b", **VALID.get(other, {"conn_type": other}))
    message = await refused(HOOKS[conn_type]("conn_b"), f"connection 'conn_b' is of type '{other}'")
    assert f"but {ARG[conn_type]} needs a '{conn_type}' connection" in message


@both_types
async def test_unknown_extras_are_named_with_the_known_ones(
    airflow_connection: Callable[..., str], conn_type: str
) -> None:
    misspelt = {"kubernetes": "kubeconfig_path", "netapp_ontap": "verfy_ssl"}[conn_type]
    airflow_connection("conn_c", **with_extra(conn_type, **{misspelt: "false", "colour": "crimson-value"}))
    message = await refused(HOOKS[conn_type]("conn_c"), "connection 'conn_c': unknown extra fields")
    assert f"'{misspelt}' (did you mean" in message
    assert "'colour'" in message
    assert FLAG[conn_type] in message.partition("connections know")[2]
    assert "crimson-value" not in message  # values may be secrets


@both_types
async def test_a_misspelt_flag_value_is_an_error(
    airflow_connection: Callable[..., str], conn_type: str
) -> None:
    airflow_connection("conn_d", **with_extra(conn_type, **{FLAG[conn_type]: "flase"}))
    await refused(
        HOOKS[conn_type]("conn_d"), f"connection 'conn_d': '{FLAG[conn_type]}' must be true or false"
    )


@both_types
async def test_legacy_prefixed_extras_are_read(
    airflow_connection: Callable[..., str], conn_type: str
) -> None:
    connection = VALID[conn_type] | {
        "extra": {f"extra__{conn_type}__{key}": value for key, value in VALID[conn_type]["extra"].items()}
    }
    airflow_connection("conn_e", **connection)
    airflow_connection("conn_f", **VALID[conn_type])
    legacy = await HOOKS[conn_type]("conn_e").aget_connection_settings()
    plain = await HOOKS[conn_type]("conn_f").aget_connection_settings()
    assert {k: v for k, v in vars(legacy).items() if k != "conn_id"} == {
        k: v for k, v in vars(plain).items() if k != "conn_id"
    }


@both_types
async def test_a_plain_extra_wins_over_its_legacy_twin(
    airflow_connection: Callable[..., str], conn_type: str
) -> None:
    flag = FLAG[conn_type]
    airflow_connection(
        "conn_g", **with_extra(conn_type, **{flag: "", f"extra__{conn_type}__{flag}": "flase"})
    )
    await refused(HOOKS[conn_type]("conn_g"), f"'{flag}' must be true or false")  # empty: the legacy one
    airflow_connection("conn_h", **with_extra(conn_type, **{f"extra__{conn_type}__{flag}": "flase"}))
    assert HOOKS[conn_type]("conn_h").get_connection_settings() is not None  # the plain one is set


@both_types
async def test_an_extra_that_is_not_a_json_object_is_an_error(
    monkeypatch: pytest.MonkeyPatch, conn_type: str
) -> None:
    # Extras airflow_connection cannot write: the variable is set by hand.
    monkeypatch.setenv("AIRFLOW_CONN_CONN_I", json.dumps(VALID[conn_type] | {"extra": "{not json"}))
    await refused(HOOKS[conn_type]("conn_i"), "connection 'conn_i': 'extra' is not valid JSON")
    monkeypatch.setenv("AIRFLOW_CONN_CONN_J", json.dumps(VALID[conn_type] | {"extra": [1, 2]}))
    await refused(HOOKS[conn_type]("conn_j"), "connection 'conn_j': 'extra' must be a JSON object")


def test_the_kubernetes_hook_knows_every_extra_of_the_cncf_connection_type() -> None:
    from airflow.providers.cncf.kubernetes.get_provider_info import get_provider_info as cncf_info

    from netapp_dataops_airflow.hooks.kubernetes import CONFIG_FIELDS, IGNORED_FIELDS

    [entry] = [e for e in cncf_info()["connection-types"] if e["connection-type"] == "kubernetes"]
    assert set(entry["conn-fields"]) == CONFIG_FIELDS | IGNORED_FIELDS


async def test_the_cncf_providers_other_extras_are_accepted_and_ignored(
    airflow_connection: Callable[..., str], tmp_path: Path
) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(KUBECONFIG))
    extra = {
        "kube_config_path": str(path),
        "disable_tcp_keepalive": True,
        "xcom_sidecar_container_image": "alpine:3",
        "xcom_sidecar_container_resources": '{"requests": {"cpu": "1m"}}',
        "extra__kubernetes__xcom_sidecar_container_security_context": "{}",
    }
    airflow_connection("conn_k", "kubernetes", extra=extra)
    settings = await K8sHook("conn_k").aget_connection_settings()
    assert (await settings.acluster_config()).kubeconfig == KUBECONFIG


@both_types
async def test_waits_starting_together_share_one_connection_lookup(
    airflow_connection: Callable[..., str], conn_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import netapp_dataops_airflow.hooks.base as base

    lookups: list[str] = []
    real = base.get_async_connection

    async def counted(conn_id: str, **kwargs: Any) -> Any:  # Airflow's side, counted
        lookups.append(conn_id)
        return await real(conn_id, **kwargs)

    monkeypatch.setattr(base, "get_async_connection", counted)
    airflow_connection("conn_a", **VALID[conn_type])
    airflow_connection("conn_b", **VALID[conn_type])
    read = [HOOKS[conn_type](name).aget_connection_settings() for name in ("conn_a",) * 20 + ("conn_b",) * 5]
    settings = await asyncio.gather(*read)
    assert sorted(lookups) == ["conn_a", "conn_b"]
    assert len({id(s) for s in settings[:20]}) == 1
    # Nothing is cached: a lookup after those ended reads the connection again.
    await HOOKS[conn_type]("conn_a").aget_connection_settings()
    assert sorted(lookups) == ["conn_a", "conn_a", "conn_b"]


async def test_a_failed_lookup_fails_every_wait_that_shared_it() -> None:
    results = await asyncio.gather(
        *(K8sHook("no_such_connection").aget_connection_settings() for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(result, InvalidInputError) for result in results), results
    assert all("'no_such_connection' is not defined" in str(result) for result in results)
