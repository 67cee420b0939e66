"""k8s/rbac.yaml is exactly enough: the tasks succeed with its rules as a ServiceAccount, and fail
with the library's clear 403 error when any one rule is missing.

The manifests are applied to the simulator over HTTP by its admin, the service account's token is
minted as ``kubectl create token`` does, and the DAGs run (``dag.test()``) with a connection that
holds only that token: every request of the tasks and triggers is decided by the simulator's RBAC.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from airflow.sdk import DAG

from netapp_dataops_airflow.clients.kubernetes import KubernetesClient, Resource
from netapp_dataops_airflow.example_dags.ai_training_run import ai_training_run
from netapp_dataops_airflow.example_dags.clone_volume import clone_volume
from netapp_dataops_airflow.operators.kubernetes import CloneVolumeOperator, VolumeSnapshotOperator
from netapp_dataops_airflow.simulators.kubernetes import KubernetesSimulator, bound_claim, kinds
from netapp_dataops_airflow.simulators.kubernetes.kubeconfig import write_kubeconfig
from netapp_dataops_airflow.testing import DagRunResult, run_dag
from tests.helpers.connections import kubernetes_fields
from tests.helpers.example_dags import polling_every_second
from tests.helpers.kubernetes import cluster_config

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(180)]

MANIFEST = Path(__file__).parents[3] / "k8s" / "rbac.yaml"
NAMESPACE = "airflow"
WORKER = "airflow-worker"
USER = f"system:serviceaccount:{NAMESPACE}:{WORKER}"
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
JSON = dict[str, Any]
# Slow enough that the clone is still Pending after half its grace period: its trigger lists Events.
BINDING_SECONDS = 2.5
GRACE_SECONDS = 2.0


def manifests() -> list[JSON]:
    return [doc for doc in yaml.safe_load_all(MANIFEST.read_text()) if doc]


def rule_ids() -> Iterator[tuple[str, int, JSON]]:
    """Every rule of the manifest: ``(role kind, index, rule)``."""
    for doc in manifests():
        if doc["kind"] in ("Role", "ClusterRole"):
            for index, rule in enumerate(doc["rules"]):
                yield doc["kind"], index, rule


def without_rule(role_kind: str, index: int) -> list[JSON]:
    docs = copy.deepcopy(manifests())
    for doc in docs:
        if doc["kind"] == role_kind:
            del doc["rules"][index]
    return docs


def apply(sim: KubernetesSimulator, docs: list[JSON], tmp_path: Path) -> None:
    """Create the objects through the API as the simulator's admin (``kubectl apply`` of new objects)."""

    async def create_all() -> None:
        client = await KubernetesClient.connect(cluster_config(sim, tmp_path / "admin-kubeconfig"))
        try:
            for doc in docs:
                kind = kinds.by_kind(doc["apiVersion"], doc["kind"])
                assert kind is not None, doc["kind"]
                resource = Resource(kind.group, kind.version, kind.plural, kind.kind, kind.namespaced)
                await client.create(resource, doc, doc["metadata"].get("namespace"))
        finally:
            await client.close()

    asyncio.run(create_all())


@pytest.fixture
def cluster(kubernetes_simulator: KubernetesSimulator) -> KubernetesSimulator:
    """The simulator with a Bound claim ``data`` in namespace ``airflow`` and a slow provisioner."""
    kubernetes_simulator.backend.seed(*bound_claim("data", NAMESPACE))
    kubernetes_simulator.backend.timing.update(binding=BINDING_SECONDS)
    return kubernetes_simulator


@pytest.fixture
def as_worker(
    cluster: KubernetesSimulator, tmp_path: Path, airflow_connection: Callable[..., str]
) -> Callable[[list[JSON]], None]:
    """Apply these manifests, mint the worker's token, and make it the ``kubernetes_default`` connection."""

    def setup(docs: list[JSON]) -> None:
        apply(cluster, docs, tmp_path)
        token = cluster.service_account_token(NAMESPACE, WORKER)
        # A kubeconfig file, which the pod operator's hook reads as well as this library's.
        kubeconfig = write_kubeconfig(
            tmp_path / "worker-kubeconfig", cluster.url, token=token, ca_pem=cluster.ca_pem
        )
        airflow_connection("kubernetes_default", **kubernetes_fields(kubeconfig))

    return setup


def snapshot_and_clone() -> DagRunResult:
    with DAG("least_privilege", schedule=None, start_date=START) as dag:
        snapshot = VolumeSnapshotOperator(
            task_id="snapshot", namespace=NAMESPACE, pvc="data", snapshot="data-snap"
        )
        clone = CloneVolumeOperator(
            task_id="clone",
            namespace=NAMESPACE,
            source_snapshot="data-snap",
            new_pvc="workspace",
            failure_grace_period=GRACE_SECONDS,
        )
        snapshot >> clone
    return run_dag(dag)


def test_the_manifest_is_enough_for_snapshot_and_clone(as_worker: Callable[[list[JSON]], None]) -> None:
    as_worker(manifests())
    result = snapshot_and_clone()
    assert result.task_states == {"snapshot": "success", "clone": "success"}, result.log_text
    assert result.xcom("snapshot")["ready_to_use"] is True
    assert result.xcom("clone")["phase"] == "Bound"
    assert "Forbidden" not in result.log_text  # a uuid may well contain "403"


# What fails first without each rule the library needs: the request, and how the task ends.
LIBRARY_RULES = {
    ("Role", "persistentvolumeclaims"): ("get", "persistentvolumeclaims", "", NAMESPACE, "failed"),
    ("Role", "volumesnapshots"): (
        "create",
        "volumesnapshots",
        "snapshot.storage.k8s.io",
        NAMESPACE,
        "failed",
    ),
    # Reading why a slow clone is still Pending is best effort: a warning, and the clone goes on.
    ("Role", "events"): ("list", "events", "", NAMESPACE, "success"),
    ("ClusterRole", "storageclasses"): ("get", "storageclasses", "storage.k8s.io", None, "failed"),
    ("ClusterRole", "volumesnapshotclasses"): (
        "list",
        "volumesnapshotclasses",
        "snapshot.storage.k8s.io",
        None,
        "failed",
    ),
    # The snapshot handle in the result is best effort too: a warning, and a result without it.
    ("ClusterRole", "volumesnapshotcontents"): (
        "get",
        "volumesnapshotcontents",
        "snapshot.storage.k8s.io",
        None,
        "success",
    ),
    ("ClusterRole", "persistentvolumes"): ("get", "persistentvolumes", "", None, "failed"),
}
POD_RULES = ("pods", "pods/log", "pods/exec")


def test_every_rule_of_the_manifest_is_accounted_for() -> None:
    named = {(kind, rule["resources"][0]) for kind, _, rule in rule_ids()}
    assert all(len(rule["resources"]) == 1 for _, _, rule in rule_ids())
    assert named == set(LIBRARY_RULES) | {("Role", resource) for resource in POD_RULES}


@pytest.mark.parametrize(
    ("role_kind", "index"),
    [
        pytest.param(kind, index, id=f"{kind}-{rule['resources'][0]}")
        for kind, index, rule in rule_ids()
        if rule["resources"][0] not in POD_RULES
    ],
)
def test_without_any_one_rule_the_library_says_which_permission_is_missing(
    as_worker: Callable[[list[JSON]], None], role_kind: str, index: int
) -> None:
    removed = manifests_rule(role_kind, index)
    verb, resource, group, namespace, task_end = LIBRARY_RULES[(role_kind, removed["resources"][0])]
    as_worker(without_rule(role_kind, index))
    result = snapshot_and_clone()
    where = f'in namespace "{namespace}"' if namespace else "at the cluster scope"
    group_text = f'API group "{group}"' if group else 'the core API group ""'
    rule = f'{{apiGroups: ["{group}"], resources: ["{resource}"], verbs: ["{verb}"]}}'
    role = (
        f'a Role bound to "{USER}" by a RoleBinding in namespace "{namespace}"'
        if namespace
        else f'a ClusterRole bound to "{USER}" by a ClusterRoleBinding'
    )
    expected = (
        f'permission denied (403 Forbidden): "{USER}" may not {verb} {resource} ({group_text}) {where}. '
        f"To fix it, add the rule {rule} to {role}; k8s/rbac.yaml in the netapp_dataops_airflow repository "
        "lists every rule the library needs"
    )
    assert expected in result.log_text, result.log_text
    assert "Traceback" not in _error_lines(result), "the library's error, not a stack trace"
    if task_end == "failed":
        assert result.state == "failed"
        assert "failed" in result.task_states.values()
    else:
        assert result.task_states == {"snapshot": "success", "clone": "success"}


def manifests_rule(role_kind: str, index: int) -> JSON:
    return next(rule for kind, i, rule in rule_ids() if (kind, i) == (role_kind, index))


def _error_lines(result: DagRunResult) -> str:
    return "\n".join(str(line) for line in result.logs if "permission denied" in str(line))


# The deferrable KubernetesPodOperator's calls (provider cncf.kubernetes), one request each.
POD_REQUESTS: dict[str, list[tuple[str, str, str]]] = {
    "pods": [
        ("POST", "pods", "create"),
        ("GET", "pods/p", "get"),
        ("GET", "pods?labelSelector=try_number%3D1", "list"),
        ("GET", "pods?watch=1&timeoutSeconds=1", "watch"),
        ("PATCH", "pods/p", "patch"),
        ("DELETE", "pods/p", "delete"),
    ],
    "pods/log": [("GET", "pods/p/log?container=base", "get")],
    "pods/exec": [
        ("POST", "pods/p/exec?container=airflow-xcom-sidecar", "create"),
        ("GET", "pods/p/exec?container=airflow-xcom-sidecar", "get"),
    ],
}


POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "namespace": NAMESPACE},
    "spec": {"containers": [{"name": "base", "image": "busybox"}]},
}


async def pod_answers(docs: list[JSON], resource: str) -> list[tuple[str, int, str]]:
    """Make the pod operator's requests for ``resource`` as the worker, with these manifests applied."""
    async with KubernetesSimulator() as sim, aiohttp.ClientSession(sim.url) as http:
        sim.backend.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}, POD)
        for doc in docs:
            kind = kinds.by_kind(doc["apiVersion"], doc["kind"])
            assert kind is not None
            sim.backend.create(kind, doc["metadata"].get("namespace"), doc)
        headers = {"Authorization": f"Bearer {sim.service_account_token(NAMESPACE, WORKER)}"}
        answers = []
        for method, path, verb in POD_REQUESTS[resource]:
            body: JSON | None = (
                {"metadata": {"labels": {"already_checked": "True"}}} if method == "PATCH" else None
            )
            body = {**POD, "metadata": {"name": "p2"}} if method == "POST" and resource == "pods" else body
            extra = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
            url = f"/api/v1/namespaces/{NAMESPACE}/{path}"
            async with http.request(method, url, json=body, headers=headers | extra) as response:
                answers.append((verb, response.status, await response.text()))
        return answers


@pytest.mark.parametrize("resource", POD_RULES)
async def test_the_pod_rules_grant_what_the_pod_operator_asks(resource: str) -> None:
    index = next(i for kind, i, rule in rule_ids() if kind == "Role" and rule["resources"] == [resource])
    for verb, status, text in await pod_answers(manifests(), resource):
        assert status != 403, (resource, verb, text)
    for verb, status, text in await pod_answers(without_rule("Role", index), resource):
        assert status == 403, (resource, verb, text)
        assert json.loads(text)["message"].endswith(
            f'User "{USER}" cannot {verb} resource "{resource}" in API group "" '
            f'in the namespace "{NAMESPACE}"'
        )


# The shipped Kubernetes examples, run with the worker's token and nothing more.


def test_the_clone_volume_example_runs_with_the_manifest(as_worker: Callable[[list[JSON]], None]) -> None:
    as_worker(manifests())
    result = run_dag(
        clone_volume(),
        run_conf={"clone_from": "pvc", "source_pvc": "data", "new_pvc": "data-clone", "namespace": NAMESPACE},
    )
    assert result.task_states == {"clone": "success", "report": "success"}, result.log_text
    assert (result.xcom("clone")["name"], result.xcom("clone")["phase"]) == ("data-clone", "Bound")
    assert "Forbidden" not in result.log_text  # a uuid may well contain "403"


def test_the_clone_volume_example_without_the_claims_rule_names_it(
    as_worker: Callable[[list[JSON]], None],
) -> None:
    index = next(i for kind, i, rule in rule_ids() if rule["resources"] == ["persistentvolumeclaims"])
    as_worker(without_rule("Role", index))
    result = run_dag(
        clone_volume(), run_conf={"clone_from": "pvc", "source_pvc": "data", "namespace": NAMESPACE}
    )
    assert result.task_states == {"clone": "failed", "report": "upstream_failed"}
    assert (
        f'"{USER}" may not get persistentvolumeclaims (the core API group "") in namespace "{NAMESPACE}". '
        'To fix it, add the rule {apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["get"]}'
    ) in result.log_text


@pytest.fixture
def training_cluster(cluster: KubernetesSimulator) -> KubernetesSimulator:
    """The example's two PVCs in ``airflow``; pods that run for a moment."""
    cluster.backend.seed(*bound_claim("models", NAMESPACE))
    cluster.backend.pods.defaults.update(duration_seconds=0.3)
    return cluster


TRAINING_CONF = {"namespace": NAMESPACE, "dataset_pvc": "data", "model_pvc": "models"}
TRAINING_TASKS = ("data_prep", "dataset_snapshot", "train", "model_snapshot", "validate")


def test_the_ai_training_run_example_runs_with_the_manifest(
    training_cluster: KubernetesSimulator, as_worker: Callable[[list[JSON]], None]
) -> None:
    # Deferrable pods and snapshots alike, every request as the worker's service account.
    as_worker(manifests())
    result = run_dag(polling_every_second(ai_training_run()), run_conf=TRAINING_CONF)
    assert result.task_states == dict.fromkeys(TRAINING_TASKS, "success"), result.log_text
    assert result.xcom("model_snapshot")["ready_to_use"] is True
    assert "No training command entered" in result.log_text  # pods/log: the pod's log in the task's
    assert "Forbidden" not in result.log_text  # a uuid may well contain "403"


def test_the_ai_training_run_example_without_the_pods_rule_stops_at_its_first_pod(
    training_cluster: KubernetesSimulator, as_worker: Callable[[list[JSON]], None]
) -> None:
    index = next(i for kind, i, rule in rule_ids() if rule["resources"] == ["pods"])
    as_worker(without_rule("Role", index))
    result = run_dag(polling_every_second(ai_training_run()), run_conf=TRAINING_CONF)
    assert result.task_states["data_prep"] == "failed"
    # The pod operator (not this library) shows the API server's Status: its first request, a list.
    refused = f'pods is forbidden: User "{USER}" cannot list resource "pods" in API group "" '
    refused += f'in the namespace "{NAMESPACE}"'
    assert f'"message":{json.dumps(refused)}' in result.log_text


def without_verb(role_kind: str, resource: str, verb: str) -> list[JSON]:
    docs = copy.deepcopy(manifests())
    for doc in docs:
        for rule in doc.get("rules", []) if doc["kind"] == role_kind else []:
            if rule["resources"] == [resource]:
                rule["verbs"].remove(verb)
    return docs


@pytest.mark.parametrize("delete_allowed", [True, False])
def test_delete_is_for_the_clone_a_missed_deadline_leaves_behind(
    cluster: KubernetesSimulator, as_worker: Callable[[list[JSON]], None], delete_allowed: bool
) -> None:
    cluster.backend.timing.update(binding=60)  # the clone stays Pending past its deadline
    as_worker(manifests() if delete_allowed else without_verb("Role", "persistentvolumeclaims", "delete"))
    with DAG("least_privilege_deadline", schedule=None, start_date=START) as dag:
        CloneVolumeOperator(
            task_id="clone", namespace=NAMESPACE, source_pvc="data", new_pvc="late-clone", deadline=1
        )
    result = run_dag(dag)
    assert result.task_states == {"clone": "failed"}
    left = cluster.backend.find(kinds.PVCS, NAMESPACE, "late-clone")
    if delete_allowed:
        assert left is None or left["metadata"].get("deletionTimestamp"), result.log_text
        assert "Forbidden" not in result.log_text  # a uuid may well contain "403"
    else:
        assert left is not None
        assert (
            f'"{USER}" may not delete persistentvolumeclaims (the core API group "") in namespace '
            f'"{NAMESPACE}". To fix it, add the rule '
            '{apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["delete"]}'
        ) in result.log_text
