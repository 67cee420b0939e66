"""kubectl, unchanged, against the Kubernetes simulator.

``/usr/bin/kubectl`` is Google Cloud SDK's dispatcher: it asks the server for ``/version`` and runs the
matching ``kubectl.1.<minor>``. Debian's kubectl 1.20 runs a smaller round trip when it can be fetched.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.helpers.kubectl import Kubectl
from tests.helpers.kubernetes import SNAPSHOT_CLASS, claim_body, snapshot_body, snapshot_source
from tests.helpers.processes import describe_run
from tests.helpers.waiting import WAIT_SECONDS, poll

pytestmark = [pytest.mark.fidelity, pytest.mark.kubectl]

TIMEOUT = f"--timeout={WAIT_SECONDS}s"
VS = "volumesnapshot.snapshot.storage.k8s.io"


def says(kubectl: Kubectl, expected: str, *args: str) -> None:
    """Run kubectl and require exactly ``expected`` on stdout."""
    result = kubectl(*args)
    assert result.stdout.strip() == expected, describe_run(result)


def fails_with(kubectl: Kubectl, expected: str, *args: str) -> None:
    """Run kubectl, require a non-zero exit and exactly ``expected`` on stderr."""
    result = kubectl(*args, ok=False)
    assert result.stderr.strip() == expected, describe_run(result)


def wait_bound(kubectl: Kubectl, name: str) -> None:
    says(
        kubectl,
        f"persistentvolumeclaim/{name} condition met",
        "wait",
        "--for=jsonpath={.status.phase}=Bound",
        f"pvc/{name}",
        TIMEOUT,
    )


def wait_ready(kubectl: Kubectl, name: str) -> None:
    says(
        kubectl,
        f"{VS}/{name} condition met",
        "wait",
        "--for=jsonpath={.status.readyToUse}=true",
        f"vs/{name}",
        TIMEOUT,
    )


def create_bound_pvc(kubectl: Kubectl, name: str, **options: object) -> dict:
    says(
        kubectl,
        f"persistentvolumeclaim/{name} created",
        "create",
        "-f",
        str(kubectl.manifest(claim_body(name, **options))),
    )
    wait_bound(kubectl, name)
    return kubectl.json("get", "pvc", name)


def describe_fields(text: str) -> dict[str, str]:
    """The top-level ``Key:  value`` lines of ``kubectl describe``."""
    fields = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Z][A-Za-z ]*):\s*(.*)$", line)
        if match:
            fields[match[1]] = match[2].strip()
    return fields


def test_dispatcher_runs_the_kubectl_of_the_server_minor(kubectl: Kubectl) -> None:
    dispatcher_dir = kubectl.binary.resolve().parent
    if not list(dispatcher_dir.glob("kubectl.1.*")):
        pytest.skip(f"{kubectl.binary} is not the Google Cloud SDK dispatcher")
    versions = kubectl.json("version")
    server, client = versions["serverVersion"], versions["clientVersion"]
    minor = server["minor"].rstrip("+")
    assert server["major"] == "1"
    assert 27 <= int(minor) <= 33, versions
    assert (dispatcher_dir / f"kubectl.1.{minor}").exists()
    # The dispatcher exec'd kubectl.1.<minor>: the client speaking is that release, not the dispatcher.
    assert client["minor"].rstrip("+") == minor, versions
    assert client["gitVersion"].startswith(f"v1.{minor}."), versions
    assert "dispatcher" not in client["gitVersion"], versions
    assert server["gitVersion"].startswith(f"v1.{minor}."), versions


def test_pvc_create_wait_get_describe_label_patch_delete(kubectl: Kubectl) -> None:
    name = "fid-data"
    manifest = kubectl.manifest(claim_body(name))
    says(kubectl, f"persistentvolumeclaim/{name} created", "create", "-f", str(manifest))
    fails_with(
        kubectl,
        f'Error from server (AlreadyExists): error when creating "{manifest}": '
        f'persistentvolumeclaims "{name}" already exists',
        "create",
        "-f",
        str(manifest),
    )
    wait_bound(kubectl, name)

    table = kubectl("get", "pvc", name).stdout.splitlines()
    assert table[0].split()[:5] == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS"], table
    obj = kubectl.json("get", "pvc", name)
    volume = f"pvc-{obj['metadata']['uid']}"
    assert table[1].split()[:5] == [name, "Bound", volume, "1Gi", "RWO"], table
    assert obj["kind"] == "PersistentVolumeClaim"
    assert obj["spec"]["volumeName"] == volume
    assert obj["status"] == {
        "phase": "Bound",
        "accessModes": ["ReadWriteOnce"],
        "capacity": {"storage": "1Gi"},
    }
    assert "kubernetes.io/pvc-protection" in obj["metadata"]["finalizers"]
    as_yaml = yaml.safe_load(kubectl("get", "pvc", name, "-o", "yaml").stdout)
    assert as_yaml["metadata"]["uid"] == obj["metadata"]["uid"]
    assert as_yaml["spec"] == obj["spec"]

    says(kubectl, "Bound", "get", "pvc", name, "--subresource=status", "-o", "jsonpath={.status.phase}")

    described = kubectl("describe", "pvc", name).stdout
    fields = describe_fields(described)
    assert fields["Name"] == name, described
    assert fields["Namespace"] == "default", described
    assert fields["Status"] == "Bound", described
    assert fields["Volume"] == volume, described
    assert fields["Capacity"] == "1Gi", described
    assert fields["Access Modes"] == "RWO", described
    assert fields["Used By"] == "<none>", described
    assert "ProvisioningSucceeded" in described.split("Events:", 1)[1], described
    assert kubectl.json("get", "pv", volume)["spec"]["claimRef"]["name"] == name

    says(kubectl, f"persistentvolumeclaim/{name} labeled", "label", "pvc", name, "team=ml")
    says(kubectl, f"persistentvolumeclaim/{name}", "get", "pvc", "-l", "team=ml,!tier", "-o", "name")
    says(kubectl, "", "get", "pvc", "-l", "team in (ops)", "-o", "name")
    says(kubectl, f"persistentvolumeclaim/{name} labeled", "label", "pvc", name, "team=ops", "--overwrite")
    says(kubectl, f"persistentvolumeclaim/{name} unlabeled", "label", "pvc", name, "team-")

    patch = json.dumps({"metadata": {"annotations": {"example.com/owner": "fidelity"}}})
    says(kubectl, f"persistentvolumeclaim/{name} patched", "patch", "pvc", name, "--type=merge", "-p", patch)
    says(kubectl, f"persistentvolumeclaim/{name} patched (no change)", "patch", "pvc", name, "-p", patch)
    says(
        kubectl, "fidelity", "get", "pvc", name, "-o", "jsonpath={.metadata.annotations.example\\.com/owner}"
    )

    wide = kubectl("get", "pvc", name, "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-1] == "VOLUMEMODE", wide
    assert wide[1].split()[-1] == "Filesystem", wide
    says(
        kubectl,
        "ProvisioningSucceeded",
        "get",
        "events",
        f"--field-selector=involvedObject.name={name},involvedObject.kind=PersistentVolumeClaim,"
        "reason=ProvisioningSucceeded",
        "-o",
        "jsonpath={.items[*].reason}",
    )
    fails_with(
        kubectl,
        'Error from server (BadRequest): Unable to find "/v1, Resource=persistentvolumeclaims" that match '
        'label selector "", field selector "spec.volumeName=x": field label not supported: spec.volumeName',
        "get",
        "pvc",
        "--field-selector=spec.volumeName=x",
    )
    fails_with(
        kubectl,
        f'The PersistentVolumeClaim "{name}" is invalid: metadata.labels: Invalid value: "bad key": '
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
        "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
        "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        "patch",
        "pvc",
        name,
        "--type=merge",
        "-p",
        json.dumps({"metadata": {"labels": {"bad key": "v"}}}),
    )

    says(kubectl, f'persistentvolumeclaim "{name}" deleted', "delete", "pvc", name, TIMEOUT)
    fails_with(
        kubectl,
        f'Error from server (NotFound): persistentvolumeclaims "{name}" not found',
        "get",
        "pvc",
        name,
    )


def test_apply_client_side_creates_configures_and_prunes_labels(kubectl: Kubectl) -> None:
    name = "fid-applied"
    path = kubectl.manifest(claim_body(name, labels={"team": "ml", "tier": "gold"}))
    says(kubectl, f"persistentvolumeclaim/{name} created", "apply", "-f", str(path))
    says(kubectl, f"persistentvolumeclaim/{name} unchanged", "apply", "-f", str(path))

    kubectl.manifest(claim_body(name, labels={"team": "ai"}))
    says(kubectl, f"persistentvolumeclaim/{name} configured", "apply", "-f", str(path))
    obj = kubectl.json("get", "pvc", name)
    # Three-way merge: the label dropped from the manifest is removed, the changed one replaced.
    assert obj["metadata"]["labels"] == {"team": "ai"}
    applied = json.loads(obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert applied["metadata"]["labels"] == {"team": "ai"}
    assert obj["spec"]["resources"]["requests"]["storage"] == "1Gi"

    # A custom resource: kubectl falls back from strategic merge to a JSON merge patch.
    snapshot = kubectl.manifest(
        snapshot_body(
            "fid-applied-snap", name, snapshot_class=SNAPSHOT_CLASS, labels={"team": "ml", "tier": "gold"}
        )
    )
    says(kubectl, f"{VS}/fid-applied-snap created", "apply", "-f", str(snapshot))
    says(kubectl, f"{VS}/fid-applied-snap unchanged", "apply", "-f", str(snapshot))
    kubectl.manifest(
        snapshot_body("fid-applied-snap", name, snapshot_class=SNAPSHOT_CLASS, labels={"team": "ai"})
    )
    says(kubectl, f"{VS}/fid-applied-snap configured", "apply", "-f", str(snapshot))
    assert kubectl.json("get", "vs", "fid-applied-snap")["metadata"]["labels"] == {"team": "ai"}

    says(kubectl, f'{VS} "fid-applied-snap" deleted', "delete", "-f", str(snapshot), TIMEOUT)
    says(kubectl, f'persistentvolumeclaim "{name}" deleted', "delete", "-f", str(path), TIMEOUT)


def test_apply_server_side_creates_and_updates(kubectl: Kubectl) -> None:
    name = "fid-ssa"
    path = kubectl.manifest(claim_body(name, labels={"team": "ml"}))
    says(
        kubectl, f"persistentvolumeclaim/{name} serverside-applied", "apply", "--server-side", "-f", str(path)
    )
    wait_bound(kubectl, name)
    kubectl.manifest(claim_body(name, labels={"team": "ai"}))
    says(
        kubectl, f"persistentvolumeclaim/{name} serverside-applied", "apply", "--server-side", "-f", str(path)
    )
    obj = kubectl.json("get", "pvc", name)
    assert obj["metadata"]["labels"]["team"] == "ai"
    assert obj["status"]["phase"] == "Bound"
    assert "kubectl.kubernetes.io/last-applied-configuration" not in obj["metadata"].get("annotations", {})

    snapshot = kubectl.manifest(snapshot_body("fid-ssa-snap", name, snapshot_class=SNAPSHOT_CLASS))
    says(kubectl, f"{VS}/fid-ssa-snap serverside-applied", "apply", "--server-side", "-f", str(snapshot))
    wait_ready(kubectl, "fid-ssa-snap")
    says(kubectl, f'{VS} "fid-ssa-snap" deleted', "delete", "-f", str(snapshot), TIMEOUT)
    says(kubectl, f'persistentvolumeclaim "{name}" deleted', "delete", "-f", str(path), TIMEOUT)


def test_volume_snapshot_create_wait_restore_label_patch_delete(kubectl: Kubectl) -> None:
    source = create_bound_pvc(kubectl, "fid-snap-source")
    snapshot_path = kubectl.manifest(
        snapshot_body("fid-snap", "fid-snap-source", snapshot_class=SNAPSHOT_CLASS)
    )
    says(kubectl, f"{VS}/fid-snap created", "create", "-f", str(snapshot_path))
    wait_ready(kubectl, "fid-snap")

    says(kubectl, f"{VS}/fid-snap", "get", "volumesnapshots", "-o", "name")
    # The CRD's additionalPrinterColumns.
    header, row = kubectl("get", "vs", "fid-snap").stdout.splitlines()
    assert header.split() == [
        "NAME",
        "READYTOUSE",
        "SOURCEPVC",
        "SOURCESNAPSHOTCONTENT",
        "RESTORESIZE",
        "SNAPSHOTCLASS",
        "SNAPSHOTCONTENT",
        "CREATIONTIME",
        "AGE",
    ], header
    assert row.split()[:3] == ["fid-snap", "true", "fid-snap-source"], row
    snap = kubectl.json("get", "vs", "fid-snap")
    content_name = f"snapcontent-{snap['metadata']['uid']}"
    assert snap["status"]["readyToUse"] is True
    assert snap["status"]["boundVolumeSnapshotContentName"] == content_name
    assert snap["status"]["restoreSize"] == "1Gi"
    assert snap["spec"] == {
        "volumeSnapshotClassName": SNAPSHOT_CLASS,
        "source": {"persistentVolumeClaimName": "fid-snap-source"},
    }
    described = kubectl("describe", "vs", "fid-snap").stdout
    assert re.search(r"^  Ready To Use:\s+true$", described, re.MULTILINE), described
    events = described.split("Events:", 1)[1]
    for reason, message in [
        ("CreatingSnapshot", "Waiting for a snapshot default/fid-snap to be created by the CSI driver."),
        ("SnapshotCreated", "Snapshot default/fid-snap was successfully created by the CSI driver."),
        ("SnapshotReady", "Snapshot default/fid-snap is ready to use."),
    ]:
        line = rf"Normal\s+{reason}\s+\S+\s+snapshot-controller\s+{re.escape(message)}"
        assert re.search(line, events), described

    content = kubectl.json("get", "volumesnapshotcontent", content_name)
    assert content["spec"]["volumeSnapshotRef"]["name"] == "fid-snap"
    assert content["spec"]["volumeSnapshotRef"]["uid"] == snap["metadata"]["uid"]
    assert content["spec"]["source"] == {"volumeHandle": source["spec"]["volumeName"]}
    assert content["spec"]["driver"] == "csi.trident.netapp.io"
    assert content["status"]["readyToUse"] is True
    assert kubectl.json("get", "volumesnapshotclass", SNAPSHOT_CLASS)["driver"] == "csi.trident.netapp.io"

    restored_path = kubectl.manifest(claim_body("fid-restored", dataSource=snapshot_source("fid-snap")))
    says(kubectl, "persistentvolumeclaim/fid-restored created", "apply", "-f", str(restored_path))
    wait_bound(kubectl, "fid-restored")
    restored = kubectl.json("get", "pvc", "fid-restored")
    data_source = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "fid-snap"}
    assert restored["spec"]["dataSource"] == data_source
    assert restored["spec"]["dataSourceRef"] == data_source

    says(kubectl, f"{VS}/fid-snap labeled", "label", "vs", "fid-snap", "purpose=backup")
    says(kubectl, f"{VS}/fid-snap", "get", "vs", "-l", "purpose=backup", "-o", "name")
    merge = json.dumps({"metadata": {"annotations": {"example.com/keep": "true"}}})
    says(kubectl, f"{VS}/fid-snap patched", "patch", "vs", "fid-snap", "--type=merge", "-p", merge)
    json_patch = json.dumps([{"op": "add", "path": "/metadata/labels/stage", "value": "one"}])
    says(kubectl, f"{VS}/fid-snap patched", "patch", "vs", "fid-snap", "--type=json", "-p", json_patch)
    snap = kubectl.json("get", "vs", "fid-snap")
    assert snap["metadata"]["labels"] == {"purpose": "backup", "stage": "one"}
    assert snap["metadata"]["annotations"] == {"example.com/keep": "true"}
    fails_with(
        kubectl,
        # kubectl rewords the server's 415: "<patch type> is not supported by <gvk>: <server message>".
        "error: application/strategic-merge-patch+json is not supported by snapshot.storage.k8s.io/v1, "
        "Kind=VolumeSnapshot: the body of the request was in an unknown format - accepted media types "
        "include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
        "patch",
        "vs",
        "fid-snap",
        "--type=strategic",
        "-p",
        merge,
    )

    says(kubectl, 'persistentvolumeclaim "fid-restored" deleted', "delete", "pvc", "fid-restored", TIMEOUT)
    says(kubectl, f'{VS} "fid-snap" deleted', "delete", "vs", "fid-snap", TIMEOUT)
    fails_with(
        kubectl,
        'Error from server (NotFound): volumesnapshots.snapshot.storage.k8s.io "fid-snap" not found',
        "get",
        "vs",
        "fid-snap",
    )
    # deletionPolicy Delete: the bound content goes with the snapshot.
    kubectl("wait", "--for=delete", f"volumesnapshotcontent/{content_name}", TIMEOUT)
    says(
        kubectl,
        'persistentvolumeclaim "fid-snap-source" deleted',
        "delete",
        "pvc",
        "fid-snap-source",
        TIMEOUT,
    )


def test_failures_surface_as_status_errors_and_warning_events(kubectl: Kubectl) -> None:
    orphan = kubectl.manifest(snapshot_body("fid-orphan", "fid-missing", snapshot_class=SNAPSHOT_CLASS))
    says(kubectl, f"{VS}/fid-orphan created", "create", "-f", str(orphan))
    says(
        kubectl,
        f"{VS}/fid-orphan condition met",
        "wait",
        "--for=jsonpath={.status.readyToUse}=false",
        "vs/fid-orphan",
        TIMEOUT,
    )
    message = (
        "Failed to create snapshot content with error snapshot controller failed to update fid-orphan on API "
        "server: cannot get claim from snapshot"
    )
    says(kubectl, message, "get", "vs", "fid-orphan", "-o", "jsonpath={.status.error.message}")
    events = kubectl("describe", "vs", "fid-orphan").stdout.split("Events:", 1)[1]
    assert re.search(
        rf"Warning\s+SnapshotContentCreationFailed\s.*snapshot-controller\s+{re.escape(message)}", events
    ), events

    storage_class = create_bound_pvc(kubectl, "fid-big")["spec"]["storageClassName"]
    says(
        kubectl,
        f"{VS}/fid-big-snap created",
        "create",
        "-f",
        str(kubectl.manifest(snapshot_body("fid-big-snap", "fid-big", snapshot_class=SNAPSHOT_CLASS))),
    )
    wait_ready(kubectl, "fid-big-snap")
    too_small = kubectl.manifest(
        claim_body("fid-too-small", size="500Mi", dataSource=snapshot_source("fid-big-snap"))
    )
    says(kubectl, "persistentvolumeclaim/fid-too-small created", "create", "-f", str(too_small))
    failure = (
        f'failed to provision volume with StorageClass "{storage_class}": error getting handle for '
        "DataSource Type VolumeSnapshot by Name fid-big-snap: requested volume size 524288000 is less "
        "than the size 1073741824 for the source snapshot fid-big-snap"
    )
    poll(
        lambda: (
            kubectl(
                "get",
                "events",
                "--field-selector=involvedObject.name=fid-too-small,type=Warning,reason=ProvisioningFailed",
                "-o",
                "jsonpath={.items[*].message}",
            ).stdout
        ),
        lambda text: text == failure,
        "the ProvisioningFailed event",
    )
    says(kubectl, "Pending", "get", "pvc", "fid-too-small", "-o", "jsonpath={.status.phase}")


def test_api_resources_and_namespaces(kubectl: Kubectl) -> None:
    resources = kubectl("api-resources", "--api-group=snapshot.storage.k8s.io").stdout.splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in resources[1:]}
    assert rows["volumesnapshots"] == ["vs", "snapshot.storage.k8s.io/v1", "true", "VolumeSnapshot"], (
        resources
    )
    assert rows["volumesnapshotcontents"][:2] == ["vsc,vscs", "snapshot.storage.k8s.io/v1"], resources
    assert rows["volumesnapshotclasses"][:2] == ["vsclass,vsclasses", "snapshot.storage.k8s.io/v1"], resources

    says(kubectl, "namespace/fid-team created", "create", "namespace", "fid-team")
    path = kubectl.manifest(claim_body("fid-elsewhere"))
    says(kubectl, "persistentvolumeclaim/fid-elsewhere created", "create", "-f", str(path), "-n", "fid-team")
    says(
        kubectl,
        "fid-team/fid-elsewhere",
        "get",
        "pvc",
        "-A",
        "-o",
        "jsonpath={.items[*].metadata.namespace}/{.items[*].metadata.name}",
    )
    says(kubectl, "", "get", "pvc", "-o", "name")
    says(kubectl, 'namespace "fid-team" deleted', "delete", "namespace", "fid-team", TIMEOUT)
    says(kubectl, "", "get", "pvc", "-A", "-o", "name")


def test_get_watch_prints_each_change_as_a_table_row(kubectl: Kubectl) -> None:
    name = "fid-watched"
    create_bound_pvc(kubectl, name, labels={"step": "0"})
    watch = kubectl.stream("get", "pvc", name, "--watch", "--output-watch-events", "-L", "step")

    header = watch.wait_for(lambda line: line.startswith("EVENT"), "the header")
    assert header.split()[:3] == ["EVENT", "NAME", "STATUS"], watch.lines
    assert header.split()[-1] == "STEP", watch.lines
    added = watch.wait_for(lambda line: line.startswith("ADDED"), "the ADDED row")
    assert added.split()[1:3] == [name, "Bound"], watch.lines
    assert added.split()[-1] == "0", watch.lines

    kubectl("label", "pvc", name, "step=1", "--overwrite")
    modified = watch.wait_for(lambda line: line.split()[-1] == "1", "the new label value")
    assert modified.split()[:2] == ["MODIFIED", name], watch.lines

    kubectl("delete", "pvc", name, "--wait=false")
    watch.wait_for(lambda line: line.startswith("DELETED"), "the DELETED row")
    # Table rows all the way: a list answered as a Table followed by plain watch objects would make
    # kubectl print a second header.
    assert sum(line.startswith("EVENT") for line in watch.lines) == 1, watch.lines


def test_kubectl_1_20_round_trip(kubectl_1_20: Kubectl) -> None:
    kubectl = kubectl_1_20
    versions = kubectl.json("version")
    assert versions["clientVersion"]["gitVersion"] == "v1.20.2", versions
    assert versions["serverVersion"]["major"] == "1", versions

    path = kubectl.manifest(claim_body("fid-old", labels={"team": "ml"}))
    says(kubectl, "persistentvolumeclaim/fid-old created", "apply", "-f", str(path))
    says(kubectl, "persistentvolumeclaim/fid-old unchanged", "apply", "-f", str(path))
    kubectl.manifest(claim_body("fid-old", labels={"team": "ai"}))
    says(kubectl, "persistentvolumeclaim/fid-old configured", "apply", "-f", str(path))
    says(kubectl, "persistentvolumeclaim/fid-old labeled", "label", "pvc", "fid-old", "tier=gold")
    says(
        kubectl,
        "fid-old",
        "get",
        "pvc",
        "-l",
        "team=ai,tier=gold",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    )
    says(
        kubectl,
        "persistentvolumeclaim/fid-old patched",
        "patch",
        "pvc",
        "fid-old",
        "-p",
        '{"metadata":{"annotations":{"a":"b"}}}',
    )
    header = kubectl("get", "pvc", "fid-old").stdout.splitlines()[0]
    assert header.split()[:4] == ["NAME", "STATUS", "VOLUME", "CAPACITY"], header
    described = describe_fields(kubectl("describe", "pvc", "fid-old").stdout)
    assert described["Name"] == "fid-old"

    snapshot = kubectl.manifest(snapshot_body("fid-old-snap", "fid-old", snapshot_class=SNAPSHOT_CLASS))
    says(kubectl, f"{VS}/fid-old-snap created", "apply", "-f", str(snapshot))
    says(kubectl, "fid-old-snap", "get", "vs", "fid-old-snap", "-o", "jsonpath={.metadata.name}")
    says(kubectl, f"{VS}/fid-old-snap unchanged", "apply", "-f", str(snapshot))
    says(kubectl, f'{VS} "fid-old-snap" deleted', "delete", "-f", str(snapshot), TIMEOUT)
    says(kubectl, 'persistentvolumeclaim "fid-old" deleted', "delete", "pvc", "fid-old", TIMEOUT)
    fails_with(
        kubectl,
        'Error from server (NotFound): persistentvolumeclaims "fid-old" not found',
        "get",
        "pvc",
        "fid-old",
    )


def test_pods_run_get_logs_and_delete(kubectl: Kubectl) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "fid-pod",
            "annotations": {
                "sim.netapp-dataops-airflow.io/output": "step one\nstep two",
                "sim.netapp-dataops-airflow.io/duration-seconds": "0.5",
            },
        },
        "spec": {"restartPolicy": "Never", "containers": [{"name": "base", "image": "alpine:3.20"}]},
    }
    says(kubectl, "pod/fid-pod created", "create", "-f", str(kubectl.manifest(pod)))
    says(
        kubectl,
        "pod/fid-pod condition met",
        "wait",
        "--for=jsonpath={.status.phase}=Succeeded",
        "pod/fid-pod",
        TIMEOUT,
    )
    row = kubectl("get", "pods", "fid-pod", "--no-headers", "-o", "wide").stdout.split()
    assert row[:3] == ["fid-pod", "0/1", "Completed"]
    assert "sim-node-1" in row
    says(kubectl, "step one\nstep two", "logs", "fid-pod")
    stamped = kubectl("logs", "fid-pod", "--timestamps", "--tail=1").stdout.strip()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z step two", stamped)
    says(kubectl, 'pod "fid-pod" deleted', "delete", "pod", "fid-pod")
    fails_with(kubectl, 'Error from server (NotFound): pods "fid-pod" not found', "get", "pod", "fid-pod")
