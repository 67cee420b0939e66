"""The usual provider pattern, for comparison: one trigger per operation, its own client, its own poll.

Each trigger here waits for one operation the way most providers' triggers do:

- :class:`NaiveVolumeSnapshotTrigger` as the cncf provider's ``AsyncKubernetesHook``: the
  kubeconfig loaded once per hook (trigger), a new ``kubernetes_asyncio`` ``ApiClient`` for every
  call, one GET of the VolumeSnapshot per poll;
- :class:`NaivePersistentVolumeClaimTrigger` the same way for a cloned PVC: one GET of the claim
  per poll until it is ``Bound``;
- :class:`NaiveSnapMirrorTrigger` and :class:`NaiveCloudSyncTrigger` as most REST providers: a new
  ``aiohttp`` session (so a new connection and TLS handshake) for every call, one GET per poll;
  the Cloud Sync one exchanges its refresh token once per trigger.

Nothing is shared between triggers: N waits make N requests per poll interval. They are real
Airflow triggers (``serialize`` and ``run``), driven like ours by :mod:`benchmarks.compare`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from airflow.triggers.base import BaseTrigger, TriggerEvent
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config

SNAPSHOT_GROUP, SNAPSHOT_VERSION = "snapshot.storage.k8s.io", "v1"


class _NaiveKubernetesTrigger(BaseTrigger):
    """Poll one object until :meth:`done` says so: the kubeconfig loaded once, a new API client per poll."""

    def __init__(self, kubeconfig: str, namespace: str, name: str, poll_interval: float) -> None:
        super().__init__()
        self.kubeconfig, self.namespace, self.name = kubeconfig, namespace, name
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Say how the triggerer rebuilds this trigger."""
        kwargs = {"kubeconfig": self.kubeconfig, "namespace": self.namespace, "name": self.name}
        return f"{__name__}.{type(self).__name__}", {**kwargs, "poll_interval": self.poll_interval}

    async def done(self, api: k8s_client.ApiClient) -> bool:
        """Read the object with ``api``; tell whether the wait is over."""
        raise NotImplementedError

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Read the object every ``poll_interval`` seconds until it is done."""
        configuration = k8s_client.Configuration()
        await k8s_config.load_kube_config(self.kubeconfig, client_configuration=configuration)
        while True:
            async with k8s_client.ApiClient(configuration) as api:
                finished = await self.done(api)
            if finished:
                yield TriggerEvent({"status": "success", "name": self.name})
                return
            await asyncio.sleep(self.poll_interval)


class NaiveVolumeSnapshotTrigger(_NaiveKubernetesTrigger):
    """Poll one VolumeSnapshot until ``status.readyToUse``, a new API client per poll."""

    async def done(self, api: k8s_client.ApiClient) -> bool:
        """GET the snapshot; tell whether it is ready to use."""
        snapshot = await k8s_client.CustomObjectsApi(api).get_namespaced_custom_object(
            SNAPSHOT_GROUP, SNAPSHOT_VERSION, self.namespace, "volumesnapshots", self.name
        )
        return (snapshot.get("status") or {}).get("readyToUse") is True


class NaivePersistentVolumeClaimTrigger(_NaiveKubernetesTrigger):
    """Poll one PersistentVolumeClaim until ``status.phase`` is ``Bound``, a new API client per poll."""

    async def done(self, api: k8s_client.ApiClient) -> bool:
        """GET the claim; tell whether it is Bound."""
        claim = await k8s_client.CoreV1Api(api).read_namespaced_persistent_volume_claim(
            self.name, self.namespace
        )
        return claim.status is not None and claim.status.phase == "Bound"


class NaiveSnapMirrorTrigger(BaseTrigger):
    """Poll one SnapMirror transfer until it ends, a new HTTP session per poll."""

    def __init__(
        self, url: str, user: str, password: str, ca_pem: str, relationship: str, transfer: str, poll: float
    ) -> None:
        super().__init__()
        self.url, self.user, self.password, self.ca_pem = url, user, password, ca_pem
        self.relationship, self.transfer, self.poll_interval = relationship, transfer, poll

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Say how the triggerer rebuilds this trigger."""
        kwargs = {"url": self.url, "user": self.user, "password": self.password, "ca_pem": self.ca_pem}
        ids = {"relationship": self.relationship, "transfer": self.transfer, "poll": self.poll_interval}
        return f"{__name__}.{type(self).__name__}", {**kwargs, **ids}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """GET the transfer every ``poll_interval`` seconds until it is no longer active."""
        context = ssl.create_default_context(cadata=self.ca_pem)
        auth = aiohttp.BasicAuth(self.user, self.password)
        path = f"/api/snapmirror/relationships/{self.relationship}/transfers/{self.transfer}"
        while True:
            async with (
                aiohttp.ClientSession(
                    self.url, auth=auth, connector=aiohttp.TCPConnector(ssl=context)
                ) as http,
                http.get(path, params={"fields": "state"}) as response,
            ):
                response.raise_for_status()
                state = (await response.json()).get("state")
            if state in ("success", "failed", "aborted", "hard_aborted"):
                yield TriggerEvent({"status": "success" if state == "success" else "failed", "state": state})
                return
            await asyncio.sleep(self.poll_interval)


class NaiveCloudSyncTrigger(BaseTrigger):
    """Poll one Cloud Sync relationship until its sync ends, a new HTTP session per poll."""

    def __init__(
        self,
        api_url: str,
        token_url: str,
        refresh_token: str,
        account: str,
        ca_pem: str,
        relationship: str,
        poll: float,
        client_id: str,
    ) -> None:
        super().__init__()
        self.api_url, self.token_url, self.refresh_token = api_url, token_url, refresh_token
        self.account, self.ca_pem, self.relationship, self.poll_interval = account, ca_pem, relationship, poll
        self.client_id = client_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Say how the triggerer rebuilds this trigger."""
        kwargs = {"api_url": self.api_url, "token_url": self.token_url, "refresh_token": self.refresh_token}
        more = {"account": self.account, "ca_pem": self.ca_pem, "relationship": self.relationship}
        more["client_id"] = self.client_id
        return f"{__name__}.{type(self).__name__}", {**kwargs, **more, "poll": self.poll_interval}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Get an access token, then GET the relationship every ``poll_interval`` s until DONE/FAILED."""
        context = ssl.create_default_context(cadata=self.ca_pem)
        grant = {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token,
            "client_id": self.client_id,
        }
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as http,
            http.post(self.token_url, json=grant) as response,
        ):
            response.raise_for_status()
            token = (await response.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}", "x-account-id": self.account}
        url = f"{self.api_url.rstrip('/')}/relationships-v2/{self.relationship}"
        while True:
            async with (
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as http,
                http.get(url, headers=headers) as response,
            ):
                response.raise_for_status()
                activity = (await response.json()).get("activity") or {}
            if activity.get("type") == "Sync" and activity.get("status") in ("DONE", "FAILED"):
                yield TriggerEvent({"status": "success" if activity["status"] == "DONE" else "failed"})
                return
            await asyncio.sleep(self.poll_interval)
