"""The library seen in a real browser: headless Chromium on a local Airflow's UI.

Starts the simulators and a local Airflow as the demo does, runs ``ai_training_run`` and the Cloud
Sync and SnapMirror examples through the REST API with the demo's code, and checks what a user
sees (and photographs it): the training run's grid while a task is deferred and when all are done,
the add-connection forms of the two connection types this provider registers, and the assets the
run's snapshots recorded. A page showing an error, or missing a field or a label, fails the test.

Screenshots go to ``$NETAPP_DATAOPS_SCREENSHOTS`` (``nox -s ui`` sets ``docs/images``), else to
pytest's temporary directory. Needs Chromium (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import os
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import yaml

from netapp_dataops_airflow.demo.api import AirflowApi
from netapp_dataops_airflow.demo.deployment import LocalAirflow
from netapp_dataops_airflow.demo.processes import stop_groups, sweep
from netapp_dataops_airflow.demo.run import DemoOptions, deployment_for, run_dags, start_simulators
from netapp_dataops_airflow.demo.timeline import Timeline
from tests.helpers.browser import Chromium

pytestmark = [pytest.mark.demo, pytest.mark.timeout(1500)]

PAGE_TIMEOUT = 180.0
"""Seconds a page may take to show what it should: generous, for a loaded 2-core machine."""
RUN_TIMEOUT = 900.0
TRAINING_TASKS = ("data_prep", "dataset_snapshot", "train", "model_snapshot", "validate")
DAG_IDS = ("ai_training_run", "replicate_data_cloud_sync", "replicate_data_snapmirror")
HELD_POD_SECONDS = 75.0
"""How long the first pod (``data_prep``) runs: the time the test has to see its task deferred."""
ERROR_TEXTS = (
    "Something went wrong",
    "An unexpected error occurred",
    "Unexpected Application Error",
    "Page Not Found",
    "Not Found",
    "Internal Server Error",
    "Unauthorized",
    "Forbidden",
    "Failed to ",
    "Error",
)
"""Text Airflow's UI (and React Router's fallback) shows when a page or a request failed."""
HTTP_STATUS_LINE = re.compile(r"^\s*[45]\d\d\s*$", re.MULTILINE)
"""A line that is an HTTP error status alone, as Airflow's error pages show it ("404")."""


@dataclass
class Deployment:
    """The running Airflow, a client of its API, and what the simulators told."""

    airflow: LocalAirflow
    api: AirflowApi
    connections: dict[str, Any]

    @property
    def url(self) -> str:
        return self.airflow.api_url

    def new_api(self) -> AirflowApi:
        """A client of its own, for another thread (an HTTP client is not shared between threads)."""
        return AirflowApi(self.url, self.airflow.username, self.airflow.password)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """The simulators and a local Airflow (LocalExecutor, SQLite), started and stopped as the demo does."""
    workdir = tmp_path_factory.mktemp("ui")
    marker = f"ui-test-{os.getpid()}"
    simulators, connections = start_simulators(workdir, marker)
    airflow = LocalAirflow(deployment_for(workdir, DemoOptions(), connections), marker=marker)
    try:
        airflow.start()
        with AirflowApi(airflow.api_url, airflow.username, airflow.password) as api:
            api.wait_for_dags(set(DAG_IDS), timeout=PAGE_TIMEOUT)
            yield Deployment(airflow, api, connections)
    finally:
        airflow.stop()
        stop_groups([simulators], grace=10)
        sweep(marker)


@pytest.fixture(scope="module")
def page(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """A headless Chromium logged in as the deployment's admin.

    The simple auth manager's login page posts the credentials to ``/auth/token`` and keeps the
    token in the ``_token`` cookie, which the UI and its API calls then send: the test sets the
    same cookie with a token from the same endpoint.
    """
    with Chromium(tmp_path_factory.mktemp("chromium")) as browser:
        browser.set_cookie("_token", deployment.api.token(), url=deployment.url)
        yield browser


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go."""
    chosen = os.environ.get("NETAPP_DATAOPS_SCREENSHOTS")
    return Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")


def assert_no_error(page: Chromium, where: str) -> str:
    """Fail if the page shows an error (text, an error alert, an uncaught exception); return its text."""
    text = page.text()
    shown = [phrase for phrase in ERROR_TEXTS if phrase in text]
    status = HTTP_STATUS_LINE.findall(text)
    alerts = page.evaluate(
        "[...document.querySelectorAll('[role=alert][data-status=error]')].map(e => e.innerText)"
    )
    problems = {
        "phrases": shown,
        "status lines": status,
        "error alerts": alerts,
        "exceptions": page.exceptions,
    }
    found = {kind: seen for kind, seen in problems.items() if seen}
    assert not found, f"{where} shows an error: {found}; its text:\n{text[:3000]}"
    return text


def pod_defaults(connections: dict[str, Any], **settings: float) -> dict[str, Any]:
    """Change (or with no ``settings``, read) the Kubernetes simulator's pod defaults (its control API)."""
    kubeconfig = yaml.safe_load(
        Path(connections["kubernetes_default"]["extra"]["kube_config_path"]).read_text()
    )
    cluster = kubeconfig["clusters"][0]["cluster"]
    trust = ssl.create_default_context(cafile=cluster["certificate-authority"])
    answer = httpx.post(f"{cluster['server']}/_simulator/pods", json=settings, verify=trust, timeout=30)
    answer.raise_for_status()
    return dict(answer.json())


class Runs(threading.Thread):
    """The demo's ``run_dags`` (trigger, then follow every task until all runs end) in the background."""

    def __init__(self, api: AirflowApi, dag_ids: tuple[str, ...]) -> None:
        super().__init__(daemon=True)
        self.api = api
        self.dag_ids = dag_ids
        self.timeline: Timeline | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.api:
                self.timeline = run_dags(self.api, self.dag_ids, timeout=RUN_TIMEOUT)
        except BaseException as exc:  # reported by finish() in the test's thread
            self.error = exc

    def finish(self) -> Timeline:
        """Wait for the runs to end; return what was seen of every task."""
        self.join(RUN_TIMEOUT + 60)
        assert not self.is_alive(), f"the DAG runs did not end in {RUN_TIMEOUT:.0f} s"
        if self.error is not None:
            raise self.error
        assert self.timeline is not None
        return self.timeline


def poll(read: Callable[[], Any], what: str, timeout: float = PAGE_TIMEOUT) -> Any:
    """Call ``read`` until it returns something true; return that. Fail after ``timeout`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value:
            return value
        assert time.monotonic() < deadline, f"gave up waiting for {what} after {timeout:.0f} s"
        time.sleep(0.5)


def pvc_assets(api: AirflowApi) -> dict[str, dict[str, Any]] | None:
    """The training run's two PVC assets by PVC name, once both exist (active or not)."""
    listed = api.request("GET", "/assets", params={"limit": 100, "only_active": False})["assets"]
    found = {
        asset["uri"].rsplit("/", 1)[1]: asset
        for asset in listed
        if asset["uri"].startswith("kubernetes://") and "/default/persistentvolumeclaims/" in asset["uri"]
    }
    return found if {"airflow-model-vol", "dataset-vol"} <= set(found) else None


def unfold_one(page: Chromium) -> bool:
    """Tell whether the dataset snapshot shows; if not, open one closed fold of the JSON (if any)."""
    if "dataset-vol-" in page.text():
        return True
    if page.evaluate("document.querySelector('.codicon-folding-collapsed') !== null"):
        page.click(".codicon-folding-collapsed")
    return False


def training_run_id(api: AirflowApi) -> str | None:
    """The run id of ``ai_training_run``'s only run, once it exists."""
    runs = api.request("GET", "/dags/ai_training_run/dagRuns", params={"limit": 2})["dag_runs"]
    return str(runs[0]["dag_run_id"]) if runs else None


def task_states(api: AirflowApi, run_id: str) -> dict[str, str | None]:
    """The state of every task of the training run, by task id."""
    return {
        ti["task_id"]: ti["state"]
        for ti in api.task_instances()
        if ti["dag_id"] == "ai_training_run" and ti["dag_run_id"] == run_id
    }


def test_training_run_in_the_grid_deferred_then_done_and_its_assets(
    deployment: Deployment, page: Chromium, shots: Path
) -> None:
    api = deployment.api
    before = pod_defaults(deployment.connections)
    # The first pod runs long enough for the browser to find its task deferred on a loaded machine.
    pod_defaults(deployment.connections, duration_seconds=HELD_POD_SECONDS)
    runs = Runs(deployment.new_api(), DAG_IDS)
    runs.start()
    try:
        run_id = poll(lambda: training_run_id(api), "the training run to be created")
        poll(lambda: task_states(api, run_id).get("data_prep") == "deferred", "data_prep to defer")
        run_page = f"{deployment.url}/dags/ai_training_run/runs/{quote(run_id, safe='')}"
        page.resize(1440, 900)
        page.navigate(run_page)
        page.wait_for_text(*TRAINING_TASKS, "Deferred", "Running", timeout=PAGE_TIMEOUT)
        page.settle()
        assert_no_error(page, "the training run's page while data_prep is deferred")
        page.screenshot(shots / "grid-deferred.png")
        assert task_states(api, run_id)["data_prep"] == "deferred", "data_prep ended before the screenshot"
    finally:
        # The next pods run for the simulators' usual time (data_prep keeps its own).
        pod_defaults(deployment.connections, duration_seconds=before["duration_seconds"])
    timeline = runs.finish()
    not_successful = sorted(key.label for key, seen in timeline.tasks.items() if seen.state != "success")
    assert not not_successful, not_successful
    # Every task of the training run was seen deferred: each waited without holding a worker.
    training = {key.task_id: seen for key, seen in timeline.tasks.items() if key.dag_id == "ai_training_run"}
    assert set(training) == set(TRAINING_TASKS)
    assert all(seen.deferred > 0 for seen in training.values()), {k: v.seconds for k, v in training.items()}

    # Finished: every task instance of the run shows Success, and nothing else a state could say.
    page.navigate(run_page)
    text = page.wait_for_text(*TRAINING_TASKS, timeout=PAGE_TIMEOUT)
    page.wait_for(
        "document.querySelectorAll('tbody tr').length === 5 && [...document.querySelectorAll('tbody tr')]"
        ".every(row => row.innerText.includes('Success'))",
        timeout=PAGE_TIMEOUT,
        what="five task instances shown Success",
    )
    page.settle()
    text = assert_no_error(page, "the finished training run's page")
    for state in ("Deferred", "Running", "Queued", "No Status", "Failed"):
        assert state not in text, f"the finished run's page still shows {state!r}:\n{text}"
    page.screenshot(shots / "grid-finished.png")

    # The model PVC's asset: the graph from the DAG through its snapshot tasks' aliases to both PVC
    # assets, and the run's event whose extra names the dataset snapshot the model came from.
    # The API lists active assets only by default; these, named by alias events alone, may not be yet.
    assets = poll(lambda: pvc_assets(api), "both PVC assets of the training run")
    model_uri, dataset_uri = assets["airflow-model-vol"]["uri"], assets["dataset-vol"]["uri"]
    assert model_uri.startswith("kubernetes://127.0.0.1:"), model_uri
    page.resize(1440, 860)
    page.navigate(f"{deployment.url}/assets/{assets['airflow-model-vol']['id']}")
    page.wait_for_text(
        model_uri,
        dataset_uri,
        "netapp-dataops:ai_training_run.dataset_snapshot",
        "netapp-dataops:ai_training_run.model_snapshot",
        "1 Asset Event",
        "Source:",
        timeout=PAGE_TIMEOUT,
    )
    # Unfold the event's extra (JSON in a code editor, folded level by level: the extra, the
    # derived_from list, its entry): open whichever fold is closed until the dataset snapshot shows.
    poll(lambda: unfold_one(page), "the event's extra unfolded down to derived_from")
    page.wait_for_text("derived_from", "dataset-vol-", "volume_snapshot", timeout=PAGE_TIMEOUT)
    page.settle()
    assert_no_error(page, f"the asset page of {model_uri}")
    page.screenshot(shots / "asset-model-pvc.png")


FORMS = {
    "netapp_ontap": (
        "NetApp ONTAP",
        "ontap_default",
        ("Management address", "ONTAP user", "Password", "Port"),
        ("CA certificate (PEM)", "Verify TLS certificate", "Check the certificate's host name"),
    ),
    "netapp_cloud_sync": (
        "NetApp Cloud Sync",
        "cloud_sync_default",
        ("Refresh token",),
        ("Account id", "API URL", "Token URL", "CA certificate (PEM)", "Verify TLS certificate"),
    ),
}
"""Each connection type: its name in the type list, an id to type, its standard and its extra field labels."""


@pytest.mark.parametrize("conn_type", sorted(FORMS))
def test_add_connection_form_shows_the_provider_fields(
    deployment: Deployment, page: Chromium, shots: Path, conn_type: str
) -> None:
    hook_name, conn_id, standard, extra = FORMS[conn_type]
    page.resize(1280, 1300)
    page.navigate(f"{deployment.url}/connections")
    page.click("button", text="Add Connection", timeout=PAGE_TIMEOUT)
    page.wait_for_text("Connection Type", timeout=PAGE_TIMEOUT)
    page.type_into("[role=dialog] input[name=connection_id]", conn_id)
    page.type_into("[role=dialog] input[role=combobox]", hook_name)
    page.wait_for_text(f"1 result available for search term {hook_name}", timeout=PAGE_TIMEOUT)
    page.press("Enter", code=13)
    # The standard fields, relabelled by the provider's ui-field-behaviour.
    page.wait_for_text("Standard Fields", *standard, timeout=PAGE_TIMEOUT)
    page.click("[role=dialog] button", text="Extra Fields")
    page.wait_for_text(*extra, timeout=PAGE_TIMEOUT)
    page.settle()
    assert_no_error(page, f"the add-connection form of {conn_type}")
    page.screenshot(shots / f"connection-{conn_type.replace('_', '-')}.png", element="[role=dialog]")


def test_a_page_showing_an_error_fails_the_check(deployment: Deployment, page: Chromium) -> None:
    page.navigate(f"{deployment.url}/dags/no_such_dag")
    page.wait_for_text("no_such_dag", "Not Found", timeout=PAGE_TIMEOUT)
    with pytest.raises(AssertionError, match="shows an error") as failure:
        assert_no_error(page, "a DAG that does not exist")
    assert "Not Found" in str(failure.value)
