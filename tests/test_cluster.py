"""Live cluster scanning against a fake kube-apiserver over real HTTP, with the real
`kubernetes` client, the real Rego engine and the real CLI; snapshots round-trip exactly."""

from __future__ import annotations

import gzip
import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import scanner.policies
from scanner.evaluate import prepare_engine, scan
from scanner.models import ScanReport, Status
from scanner.policies import load_library
from scanner.profiles import load_profile
from scanner.sources import load_inventory
from scanner.sources.cluster import (
    ClusterError,
    ClusterOptions,
    Input,
    Transport,
    collect,
    inputs_of,
    to_inventory,
)
from tests.conftest import ROOT, invoke
from tests.fakekube import TOKEN, FakeApiServer, FakeCluster, obj, self_signed

SNAPSHOT_SCHEMA = ROOT / "scanner" / "schemas" / "snapshot-v1.schema.json"
PODS = 1234  # three pages of 500

CHECKS = {
    # Emits unknown itself when nodes are unreadable (the policy side of the contract).
    "gpu_nodes": ("T-1", '[{group: "", resource: nodes}]', """\
        evidence contains {"msg": sprintf("GPU node %s", [n.metadata.name]), "ref": {
          "apiVersion": "v1", "kind": "Node", "name": n.metadata.name}} if {
          some n in input.objects
          n.kind == "Node"
          n.metadata.labels["nvidia.com/gpu.present"] == "true"
        }
        unknown contains {"msg": "nodes are unreadable"} if {
          some u in input.cluster.unreadable
          u.resource == "nodes"
        }"""),
    # Naive on purpose: no unknown rule, so only kaic's Python guard keeps 403 from being No.
    "csi_drivers": ("T-2", '[{group: storage.k8s.io, resource: csidrivers}]', """\
        evidence contains {"msg": sprintf("CSI driver %s", [d.metadata.name])} if {
          some d in input.objects
          d.kind == "CSIDriver"
        }"""),
    "pod_runtime": ("T-3", '[{group: "", resource: pods}, {group: node.k8s.io, '
                    'resource: runtimeclasses}]', """\
        evidence contains {"msg": sprintf("RuntimeClass %s", [r.metadata.name])} if {
          some r in input.objects
          r.kind == "RuntimeClass"
        }
        deny contains {"msg": sprintf("pod %s has no runtimeClassName", [p.metadata.name]),
                       "ref": {"apiVersion": "v1", "kind": "Pod",
                               "namespace": p.metadata.namespace, "name": p.metadata.name},
                       "field": "spec.runtimeClassName"} if {
          some p in input.objects
          p.kind == "Pod"
          p.metadata.labels["kaic.dev/workload"] == "agent"
          not p.spec.runtimeClassName
        }"""),
    "autoscaler": ("T-4", '[{group: "", resource: configmaps, namespace: kube-system, '
                   'name: cluster-autoscaler-status}]', """\
        evidence contains {"msg": "cluster-autoscaler status found"} if {
          some c in input.objects
          c.kind == "ConfigMap"
          c.metadata.name == "cluster-autoscaler-status"
        }"""),
    "dra": ("T-5", '[{group: resource.k8s.io, resource: deviceclasses}]', """\
        evidence contains {"msg": "resource.k8s.io/v1 is served"} if {
          some r in input.cluster.api_resources
          r.group == "resource.k8s.io"
          r.version == "v1"
        }"""),
    "gateway": ("T-6", '[{group: gateway.networking.k8s.io, resource: gatewayclasses}]', """\
        evidence contains {"msg": "a GatewayClass exists"} if {
          some g in input.objects
          g.kind == "GatewayClass"
        }"""),
}

PROFILE = textwrap.dedent("""\
    schema: kaic.dev/profile/v1
    name: cluster-team
    title: Cluster test profile
    catalogue: team
    categories: [{key: ops, title: Operations}]
    requirements:
    """) + "".join(
    f"  - {{id: T-{i}, category: ops, level: MUST, title: t{i}, description: d}}\n"
    for i in range(1, 7))


def _check(name: str, req: str, inputs: str, body: str) -> str:
    return textwrap.dedent(f"""\
        # METADATA
        # title: Test {name}
        # description: A cluster test check.
        # custom:
        #   id: {name.replace("_", "-")}
        #   requirements:
        #     team: [{req}]
        #   severity: high
        #   scope: platform
        #   inputs: {inputs}
        package kaic.test.{name}

        import rego.v1

        """) + textwrap.dedent(body) + "\n"


@pytest.fixture
def policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A library of six small checks with inputs; the CLI loads it as the bundled library."""
    root = tmp_path / "policies"
    (root / "lib").mkdir(parents=True)
    for name, (req, inputs, body) in CHECKS.items():
        (root / f"{name}.rego").write_text(_check(name, req, inputs, body))
    (tmp_path / "profile.yaml").write_text(PROFILE)
    monkeypatch.setattr(scanner.policies, "default_policy_dir", lambda: root)
    return tmp_path


def populate(cluster: FakeCluster) -> FakeCluster:
    """A small AI cluster: GPU nodes, 1234 pods (3 pages), a RuntimeClass, DRA, CSI, and data
    kaic must never read (Secrets, unnamed ConfigMaps)."""
    nodes = [obj("Node", f"gpu-{i}") for i in range(3)]
    for node in nodes:
        node["metadata"]["labels"] = {"nvidia.com/gpu.present": "true"}
    cluster.serve("", "v1", "nodes", "Node", False, nodes)
    pods = [obj("Pod", f"p{i:04d}", f"ns{i % 3}", spec={"containers": [{"name": "c"}]})
            for i in range(PODS)]
    for p in pods[:2]:
        p["metadata"]["labels"] = {"kaic.dev/workload": "agent"}
    cluster.serve("", "v1", "pods", "Pod", True, pods)
    cluster.serve("", "v1", "namespaces", "Namespace", False,
                  [obj("Namespace", f"ns{i}") for i in range(3)])
    cluster.serve("", "v1", "configmaps", "ConfigMap", True, [
        obj("ConfigMap", "cluster-autoscaler-status", "kube-system", data={"status": "ok"}),
        obj("ConfigMap", "app-settings", "ns0", data={"password": "hunter2"})])
    cluster.serve("", "v1", "secrets", "Secret", True,
                  [obj("Secret", "db", "ns0", data={"password": "aHVudGVyMg=="})])
    cluster.serve("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", False,
                  [obj("RuntimeClass", "gvisor", handler="runsc")])
    cluster.serve("resource.k8s.io", "v1", "deviceclasses", "DeviceClass", False,
                  [obj("DeviceClass", "gpu.nvidia.com")])
    cluster.serve("resource.k8s.io", "v1beta1", "deviceclasses", "DeviceClass", False,
                  [obj("DeviceClass", "gpu.nvidia.com")])
    cluster.serve("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False,
                  [obj("CSIDriver", "ebs.csi.aws.com")])
    return cluster


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    """A running fake API server with the populated cluster."""
    with FakeApiServer(populate(FakeCluster())) as srv:
        yield srv


@pytest.fixture
def kubeconfig(server: FakeApiServer, tmp_path: Path) -> Path:
    """A kubeconfig file for the fake server."""
    path = tmp_path / "kubeconfig"
    path.write_text(server.kubeconfig())
    return path


FAST = {"backoff": 0.001, "backoff_max": 0.002}


def live_report(kubeconfig: Path, tmp_path: Path, **options: Any) -> ScanReport:
    """Collect through the Python API (to tune retries) and scan with the test profile."""
    library = load_library()
    collection = collect(inputs_of(library.checks),
                         ClusterOptions(kubeconfig=str(kubeconfig), **{**FAST, **options}))
    inventory = to_inventory(collection, "cluster")
    return scan(inventory, library, load_profile(str(tmp_path / "profile.yaml")),
                engine=prepare_engine(library))


def comparable(report: ScanReport) -> dict[str, Any]:
    """The report minus what legitimately differs between two runs (wall time, mode)."""
    data = json.loads(report.model_dump_json(by_alias=True))
    data["summary"].pop("duration_seconds")
    data.pop("mode")
    return data


# ---------------------------------------------------------------------------------------------
# The live scan


def test_live_scan_reports_every_requirement_with_get_only(
        cli, policies: Path, server: FakeApiServer, kubeconfig: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = invoke(cli, "scan", "--cluster", "--kubeconfig", str(kubeconfig), "--profile",
                    str(policies / "profile.yaml"), "--format", "json", "-o", str(out))
    assert result.exit_code == 1, result.stderr  # T-3 has violations
    report = json.loads(out.read_text())
    assert {r["id"]: r["status"] for r in report["requirements"]} == {
        "T-1": "Full", "T-2": "Full", "T-3": "Partial", "T-4": "Full", "T-5": "Full",
        "T-6": "No"}  # Gateway API is not served: a fact read from discovery, not a gap
    assert report["mode"] == "cluster" and report["unreadable"] == []
    requests = server.cluster.requests
    assert requests and {r.method for r in requests} == {"GET"}
    assert all(r.authorised for r in requests)
    assert not [r for r in requests if "secrets" in r.path]
    configmap_paths = {r.path for r in requests if "configmaps" in r.path}
    assert configmap_paths == {
        "/api/v1/namespaces/kube-system/configmaps/cluster-autoscaler-status"}
    # a group/resource the cluster does not serve is never requested
    assert not [r for r in requests if "gateway" in r.path and r.path != "/apis"]


def test_multi_page_list_is_read_whole_and_managed_fields_stripped(
        policies: Path, server: FakeApiServer, kubeconfig: Path) -> None:
    collection = collect(inputs_of(load_library().checks),
                         ClusterOptions(kubeconfig=str(kubeconfig), page_size=500))
    pods = [o for o in collection.objects if o["kind"] == "Pod"]
    assert len(pods) == PODS and len({p["metadata"]["name"] for p in pods}) == PODS
    assert all(p["apiVersion"] == "v1" for p in pods)
    assert not [o for o in collection.objects if "managedFields" in o["metadata"]]
    pages = [r for r in server.cluster.requests if r.path == "/api/v1/pods"]
    assert [r.query.get("limit") for r in pages] == [["500"]] * 3
    assert [bool(r.query.get("continue")) for r in pages] == [False, True, True]
    # DRA: the group's preferred version (v1) is listed, not v1beta1
    assert [o["apiVersion"] for o in collection.objects if o["kind"] == "DeviceClass"] == [
        "resource.k8s.io/v1"]
    assert {"group": "resource.k8s.io", "version": "v1beta1", "resource": "deviceclasses",
            "kind": "DeviceClass", "namespaced": False} in collection.api_resources
    assert collection.version == {"gitVersion": "v1.34.2", "major": "1", "minor": "34"}


def test_inventory_is_designs_input_document(policies: Path, server: FakeApiServer,
                                             kubeconfig: Path) -> None:
    collection = collect(inputs_of(load_library().checks),
                         ClusterOptions(kubeconfig=str(kubeconfig)))
    doc = to_inventory(collection, "cluster").input_document()
    assert doc["mode"] == "cluster"
    assert set(doc["cluster"]) == {"version", "api_resources", "unreadable"}
    assert doc["cluster"]["unreadable"] == [] or all(
        set(u) >= {"group", "resource", "reason"} for u in doc["cluster"]["unreadable"])
    assert {"group": "", "version": "v1", "resource": "pods", "kind": "Pod",
            "namespaced": True} in doc["cluster"]["api_resources"]
    assert not [r for r in doc["cluster"]["api_resources"] if "/" in r["resource"]]


@pytest.mark.parametrize(("forbidden", "requirement", "expected", "note"), [
    # would be Full (evidence from the CSIDriver) -> Unknown: nothing else to go on
    (("storage.k8s.io", "csidrivers"), "T-2", Status.unknown,
     "cannot list storage.k8s.io/csidrivers: forbidden (needs get/list)"),
    # would be Partial (evidence + deny): pods unreadable, runtimeclasses read
    (("", "pods"), "T-3", Status.partial, "cannot list pods: forbidden (needs get/list)"),
    # would be Full: the policy's own unknown rule and the Python guard agree
    (("", "nodes"), "T-1", Status.unknown, "cannot list nodes: forbidden (needs get/list)"),
])
def test_forbidden_list_gives_unknown_and_names_the_permission(
        policies: Path, server: FakeApiServer, kubeconfig: Path, tmp_path: Path,
        forbidden: tuple[str, str], requirement: str, expected: Status, note: str) -> None:
    server.cluster.forbidden.add(forbidden)
    report = live_report(kubeconfig, tmp_path)
    result = next(r for r in report.requirements if r.id == requirement)
    assert result.status is expected
    assert note in result.notes
    assert {"group": forbidden[0], "resource": forbidden[1], "reason": "forbidden"} in \
        report.unreadable
    # never Full or No for a requirement whose check could not read its input
    assert result.status not in (Status.full, Status.no)


def test_evidence_with_an_unreadable_input_is_never_full(
        policies: Path, server: FakeApiServer, kubeconfig: Path, tmp_path: Path) -> None:
    server.cluster.forbidden.add(("", "pods"))
    for p in server.cluster.find("", "v1", "pods").items:
        p["metadata"].pop("labels", None)  # no deny left: evidence only -> would be Full
    report = live_report(kubeconfig, tmp_path)
    t3 = next(r for r in report.requirements if r.id == "T-3")
    assert t3.status is Status.partial
    assert "cannot list pods: forbidden (needs get/list)" in t3.notes


def test_failed_group_discovery_makes_its_inputs_unreadable(
        policies: Path, server: FakeApiServer, kubeconfig: Path, tmp_path: Path) -> None:
    server.cluster.broken_discovery.add(("storage.k8s.io", "v1"))
    report = live_report(kubeconfig, tmp_path)
    t2 = next(r for r in report.requirements if r.id == "T-2")
    assert t2.status is Status.unknown
    assert any("discovery of storage.k8s.io/v1 failed: HTTP 503" in n for n in t2.notes)


def test_random_server_errors_are_retried_to_the_same_report(
        policies: Path, server: FakeApiServer, kubeconfig: Path, tmp_path: Path) -> None:
    clean = live_report(kubeconfig, tmp_path)
    server.cluster.error_rate = 0.2
    server.cluster.requests.clear()
    flaky = live_report(kubeconfig, tmp_path, attempts=10)
    assert [r for r in server.cluster.requests if r.status == 500], "no 500 was injected"
    assert comparable(flaky) == comparable(clean)


def test_throttling_is_retried_and_a_persistent_500_is_unreadable(
        policies: Path, server: FakeApiServer, kubeconfig: Path, tmp_path: Path) -> None:
    server.cluster.throttle = 3
    server.cluster.broken.add(("storage.k8s.io", "csidrivers"))
    report = live_report(kubeconfig, tmp_path, attempts=4)
    assert [r.status for r in server.cluster.requests[:4]] == [429, 429, 429, 200]
    t2 = next(r for r in report.requirements if r.id == "T-2")
    assert t2.status is Status.unknown
    assert "cannot list storage.k8s.io/csidrivers: HTTP 500 InternalError" in t2.notes
    assert len([r for r in server.cluster.requests if "csidrivers" in r.path]) == 4
    assert next(r for r in report.requirements if r.id == "T-1").status is Status.full


def test_expired_continue_token_restarts_the_list(
        policies: Path, server: FakeApiServer, kubeconfig: Path) -> None:
    server.cluster.expire_continue = 1
    collection = collect(inputs_of(load_library().checks),
                         ClusterOptions(kubeconfig=str(kubeconfig), **FAST))
    assert len([o for o in collection.objects if o["kind"] == "Pod"]) == PODS
    pods = [r for r in server.cluster.requests if r.path == "/api/v1/pods"]
    assert [r.status for r in pods] == [200, 410, 200, 200, 200]
    assert [bool(r.query.get("continue")) for r in pods] == [False, True, False, True, True]


def test_namespaces_limit_namespaced_lists(policies: Path, server: FakeApiServer,
                                           kubeconfig: Path) -> None:
    collection = collect(inputs_of(load_library().checks),
                         ClusterOptions(kubeconfig=str(kubeconfig), namespaces=("ns1",)))
    pods = [o for o in collection.objects if o["kind"] == "Pod"]
    assert pods and {p["metadata"]["namespace"] for p in pods} == {"ns1"}
    paths = {r.path for r in server.cluster.requests}
    assert "/api/v1/namespaces/ns1/pods" in paths and "/api/v1/pods" not in paths
    assert "/api/v1/nodes" in paths  # cluster-scoped resources are still listed


def test_secrets_and_unnamed_configmaps_are_never_requested(server: FakeApiServer,
                                                           kubeconfig: Path) -> None:
    collection = collect([Input("", "secrets"), Input("", "configmaps"), Input("", "nodes")],
                         ClusterOptions(kubeconfig=str(kubeconfig)))
    assert collection.unreadable == [
        {"group": "", "resource": "configmaps", "reason": "never listed (name one object)"},
        {"group": "", "resource": "secrets", "reason": "never collected"}]
    assert [o["kind"] for o in collection.objects] == ["Node"] * 3
    assert not [r for r in server.cluster.requests
                if "secrets" in r.path or "configmaps" in r.path]


def test_transport_refuses_secrets_and_configmap_lists(server: FakeApiServer,
                                                       kubeconfig: Path) -> None:
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(str(kubeconfig), client_configuration=cfg, persist_config=False)
    transport = Transport(client.ApiClient(cfg), ClusterOptions())
    for path in ("/api/v1/secrets", "/api/v1/namespaces/ns0/secrets/db",
                 "/api/v1/configmaps", "/api/v1/namespaces/ns0/configmaps"):
        with pytest.raises(Exception, match="refusing"):
            transport.get(path)
    assert not server.cluster.requests
    # a namespace that happens to be called "secrets" is not a secret
    assert transport.get("/api/v1/namespaces/secrets/pods")["kind"] == "PodList"
    assert transport.get("/api/v1/namespaces/kube-system/configmaps/cluster-autoscaler-status")


def test_in_cluster_config_over_tls(cli, policies: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """No kubeconfig, a service account token and CA: kaic uses the in-cluster config."""
    import kubernetes.config.incluster_config as incluster

    import scanner.sources.kubeapi as kubeapi

    cert, key = self_signed(tmp_path)
    token = tmp_path / "token"
    token.write_text(TOKEN)
    monkeypatch.setattr(incluster, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster, "SERVICE_CERT_FILENAME", cert)
    monkeypatch.setattr(kubeapi, "IN_CLUSTER_TOKEN", str(token))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    with FakeApiServer(populate(FakeCluster()), tls=(cert, key)) as srv:
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(srv.port))
        out = tmp_path / "snap.json"
        result = invoke(cli, "snapshot", "-o", str(out))
        requests = srv.cluster.requests
    assert result.exit_code == 0, result.stderr
    doc = json.loads(out.read_text())
    assert doc["metadata"]["server"] == f"https://127.0.0.1:{srv.port}"
    assert doc["metadata"]["context"] is None
    assert len(doc["objects"]) == PODS + 7
    assert requests and all(r.authorised and r.method == "GET" for r in requests)


def test_untrusted_certificate_is_a_tls_error(cli, policies: Path, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with FakeApiServer(FakeCluster(), tls=(cert, key)) as srv:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(srv.kubeconfig())  # no certificate-authority: not trusted
        result = invoke(cli, "scan", "--cluster", "--kubeconfig", str(kubeconfig))
    assert result.exit_code == 2
    assert f"kaic: error: {srv.url}/version: TLS error" in result.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr and TOKEN not in result.stderr


# ---------------------------------------------------------------------------------------------
# Errors and credentials


def test_rejected_token_is_exit_2_without_the_token(cli, policies: Path, server: FakeApiServer,
                                                    tmp_path: Path) -> None:
    bad = tmp_path / "bad-kubeconfig"
    bad.write_text(server.kubeconfig(token="wrong-token-77c2d9"))
    result = invoke(cli, "scan", "--cluster", "--kubeconfig", str(bad))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"{server.url}/version: HTTP 401: credentials rejected" in lines[0]
    assert "wrong-token" not in result.stderr + result.stdout


def test_broken_kubeconfig_never_echoes_its_contents(cli, policies: Path,
                                                     tmp_path: Path) -> None:
    bad = tmp_path / "kubeconfig"
    bad.write_text(f"apiVersion: v1\nusers:\n- name: x\n  user: {{token: {TOKEN}\n")
    result = invoke(cli, "snapshot", "-o", str(tmp_path / "s.json"), "--kubeconfig", str(bad))
    assert result.exit_code == 2
    assert "cannot load kubeconfig: invalid YAML at line" in result.stderr
    assert TOKEN not in result.stderr + result.stdout


def test_unknown_context_and_bad_namespace(cli, policies: Path, kubeconfig: Path) -> None:
    result = invoke(cli, "scan", "--cluster", "--kubeconfig", str(kubeconfig), "--context", "prod")
    assert result.exit_code == 2 and "no context 'prod'" in result.stderr
    result = invoke(cli, "scan", "--cluster", "--kubeconfig", str(kubeconfig), "-n", "../x")
    assert result.exit_code == 2 and "not a valid namespace name" in result.stderr
    assert "need --cluster" in invoke(cli, "scan", "x", "--context", "a").stderr
    result = invoke(cli, "scan", "x", "-n", "a", "-n", "b")
    assert result.exit_code == 2 and "one --namespace" in result.stderr
    assert "not both" in invoke(cli, "scan", "x", "--cluster").stderr


def test_unreachable_cluster_is_a_cluster_error(policies: Path, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    with FakeApiServer(FakeCluster()) as srv:
        kubeconfig.write_text(srv.kubeconfig())
    with pytest.raises(ClusterError, match=r"127\.0\.0\.1:\d+/version: cannot connect after 3"):
        collect([Input("", "nodes")], ClusterOptions(kubeconfig=str(kubeconfig), attempts=3,
                                                     **FAST))


def test_quiet_is_silent_and_ci_logs_get_one_summary_line(
        cli, policies: Path, server: FakeApiServer, kubeconfig: Path) -> None:
    args = ("scan", "--cluster", "--kubeconfig", str(kubeconfig), "--fail-on", "never",
            "--profile", str(policies / "profile.yaml"))
    quiet = invoke(cli, *args, "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == ""
    loud = invoke(cli, *args, "--format", "json")
    lines = loud.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"kaic: read {PODS + 7} objects")
    assert "GET requests" in lines[0] and "\x1b" not in loud.stderr  # no bar outside a TTY


# ---------------------------------------------------------------------------------------------
# Snapshots


def test_snapshot_then_scan_equals_live_scan(cli, policies: Path, server: FakeApiServer,
                                             kubeconfig: Path, tmp_path: Path,
                                             sarif_schema: dict[str, Any]) -> None:
    profile = str(policies / "profile.yaml")
    snap = tmp_path / "state.json.gz"
    made = invoke(cli, "snapshot", "-o", str(snap), "--kubeconfig", str(kubeconfig))
    assert made.exit_code == 0, made.stderr
    assert f"wrote {snap}" in made.stderr
    outputs = {}
    for name, source in (("live", ["--cluster", "--kubeconfig", str(kubeconfig)]),
                         ("snap", [str(snap)])):
        out = tmp_path / name
        result = invoke(cli, "scan", *source, "--profile", profile, "-q", "--output-dir",
                        str(out), "--format", "json", "--format", "sarif",
                        "--format", "checklist", "--format", "junit")
        assert result.exit_code == 1, result.stderr
        outputs[name] = out
    live, snapped = (json.loads((outputs[n] / "kaic.json").read_text()) for n in ("live", "snap"))
    assert (live.pop("mode"), snapped.pop("mode")) == ("cluster", "snapshot")
    for report in (live, snapped):
        report["summary"].pop("duration_seconds")
    assert live == snapped
    def same(text: str) -> str:
        # the legitimate differences: the input mode, and wall time in JUnit
        text = re.sub(r' time="[0-9.]+"', "", text)
        return re.sub(r'(mode\W+(?:value=")?)(snapshot|cluster)', r"\1MODE", text)

    for name in ("kaic-checklist.md", "kaic-junit.xml"):
        live_text, snap_text = ((outputs[n] / name).read_text() for n in ("live", "snap"))
        assert same(live_text) == same(snap_text)
    sarifs = [json.loads((outputs[n] / "kaic.sarif").read_text()) for n in ("live", "snap")]
    for doc in sarifs:
        jsonschema.validate(doc, sarif_schema)
        doc["runs"][0]["properties"].pop("mode")
    assert sarifs[0] == sarifs[1]
    deny = [r for r in sarifs[0]["runs"][0]["results"] if r["properties"]["findingKind"] == "deny"]
    assert deny
    location = deny[0]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "k8s/ns0/Pod/p0000"
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "ns0/Pod/p0000"
    missing = [r for r in sarifs[0]["runs"][0]["results"]
               if r["properties"]["findingKind"] == "missing"]
    assert [m["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for m in missing] \
        == ["k8s/_cluster"]  # T-6 (No): relative, like every location GitHub accepts


def test_snapshot_file_matches_its_json_schema(cli, policies: Path, server: FakeApiServer,
                                               kubeconfig: Path, tmp_path: Path) -> None:
    server.cluster.forbidden.add(("storage.k8s.io", "csidrivers"))
    snap = tmp_path / "state.json"
    assert invoke(cli, "snapshot", "-q", "-o", str(snap), "--kubeconfig",
                  str(kubeconfig)).exit_code == 0
    doc = json.loads(snap.read_text())
    jsonschema.Draft202012Validator.check_schema(json.loads(SNAPSHOT_SCHEMA.read_text()))
    jsonschema.validate(doc, json.loads(SNAPSHOT_SCHEMA.read_text()))
    assert snap.read_text().startswith('{"schema":"kaic.dev/snapshot/v1"')
    assert doc["metadata"]["server"] == server.url and doc["metadata"]["context"] == "fake"
    assert {"group": "storage.k8s.io", "resource": "csidrivers", "reason": "forbidden"} in \
        doc["cluster"]["unreadable"]
    text = snap.read_text()
    assert "hunter2" not in text and "aHVudGVyMg" not in text and TOKEN not in text
    assert "managedFields" not in text
    assert not [o for o in doc["objects"] if o["kind"] == "Secret"]


def test_old_snapshot_missing_an_input_is_unknown_not_no(
        policies: Path, server: FakeApiServer, kubeconfig: Path, tmp_path: Path) -> None:
    from scanner.sources.snapshot import write_snapshot

    library = load_library()
    needed = [i for i in inputs_of(library.checks) if i.resource != "csidrivers"]
    snap = tmp_path / "old.json.gz"
    write_snapshot(collect(needed, ClusterOptions(kubeconfig=str(kubeconfig))), snap)
    inventory = load_inventory([str(snap)], needed=inputs_of(library.checks))
    report = scan(inventory, library, load_profile(str(tmp_path / "profile.yaml")),
                  engine=prepare_engine(library))
    t2 = next(r for r in report.requirements if r.id == "T-2")
    assert t2.status is Status.unknown
    assert any("cannot list storage.k8s.io/csidrivers: not in snapshot" in n for n in t2.notes)


def test_gzip_bomb_is_an_input_error_with_bounded_memory(
        cli, policies: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tracemalloc

    from scanner.errors import InputError
    from scanner.sources.snapshot import read_snapshot

    bomb = tmp_path / "state.json.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        f.write(b'{"schema":"kaic.dev/snapshot/v1","kind":"KaicSnapshot","objects":["')
        chunk = b"A" * (1 << 20)
        for _ in range(64):  # 64 MiB decompressed, ~64 KiB on disk
            f.write(chunk)
    assert bomb.stat().st_size < 1 << 20
    monkeypatch.setenv("KAIC_SNAPSHOT_MAX_BYTES", str(4 << 20))
    result = invoke(cli, "scan", str(bomb))
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"kaic: error: {bomb}: snapshot is larger than 4194304 bytes "
                                     "decompressed (raise KAIC_SNAPSHOT_MAX_BYTES if this is a "
                                     "genuine snapshot)")
    tracemalloc.start()
    with pytest.raises(InputError):
        read_snapshot(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 12 << 20  # bounded by the cap (4 MiB) plus one chunk, not by 64 MiB


@pytest.mark.parametrize(("name", "content", "message"), [
    ("cut.json.gz", gzip.compress(b'{"schema": "kaic.dev/snapshot/v1"')[:-6], "corrupt gzip"),
    ("plain.json.gz", b"not gzip at all", "not a gzip file"),
    ("bad.json", b'{"schema": "kaic.dev/snapshot/v1", "kind": ', "bad.json:1: invalid JSON"),
    ("future.json", b'{"schema": "kaic.dev/snapshot/v9"}', "snapshot format kaic.dev/snapshot/v9"),
    ("half.json", b'{"schema": "kaic.dev/snapshot/v1", "kind": "KaicSnapshot", "metadata": {}}',
     "not a valid kaic snapshot: cluster must be an object"),
])
def test_bad_snapshots_are_one_line_errors(cli, policies: Path, tmp_path: Path, name: str,
                                           content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = invoke(cli, "scan", str(path))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(path) in lines[0]


def test_secret_smuggled_into_a_snapshot_is_not_scanned(policies: Path, tmp_path: Path) -> None:
    from scanner.sources.snapshot import SCHEMA

    doc = {"schema": SCHEMA, "kind": "KaicSnapshot",
           "metadata": {"server": "https://k:6443", "inputs": []},
           "cluster": {"version": {}, "api_resources": [], "unreadable": []},
           "objects": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}},
                       {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}]}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    inventory = load_inventory([str(path)])
    assert [o["kind"] for o in inventory.objects] == ["Node"]
    assert inventory.mode == "snapshot" and "Secret" in inventory.skipped[0].reason
    assert inventory.origins[0].uri == "k8s://k:6443/api/v1/nodes/n"


def test_same_state_gives_the_same_snapshot_bytes(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from scanner.sources.cluster import Collection
    from scanner.sources.snapshot import read_snapshot, write_snapshot

    collection = Collection(
        server="https://k:6443", context=None, collected_at="2026-01-01T00:00:00Z",
        kaic_version="t", version={}, api_resources=[], unreadable=[], inputs=[],
        namespaces=[], objects=[{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}])
    write_snapshot(collection, tmp_path / "a.json.gz")
    monkeypatch.setattr("os.getpid", lambda: 4242)  # another process, another temp name
    write_snapshot(collection, tmp_path / "b.json.gz")
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()
    assert read_snapshot(tmp_path / "b.json.gz")[0].objects == collection.objects


def test_manifest_json_is_not_taken_for_a_snapshot(policies: Path, tmp_path: Path) -> None:
    path = tmp_path / "ns.json"
    path.write_text('{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}')
    inventory = load_inventory([str(path)])
    assert inventory.mode == "manifests" and inventory.objects[0]["kind"] == "Namespace"


def test_snapshot_path_alone(cli, policies: Path, tmp_path: Path) -> None:
    snap = tmp_path / "s.json.gz"
    snap.write_bytes(gzip.compress(b"{}"))
    (tmp_path / "m.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    result = invoke(cli, "scan", str(snap), str(tmp_path / "m.yaml"))
    assert result.exit_code == 2 and "scanned on its own" in result.stderr


def test_progress_bar_only_for_a_terminal(policies: Path, server: FakeApiServer,
                                          kubeconfig: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import sys

    from scanner.sources.progress import RichProgress, wants_progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Tty())
    monkeypatch.delenv("CI", raising=False)
    assert wants_progress(quiet=False) and not wants_progress(quiet=True)
    bar = RichProgress()
    collection = collect(inputs_of(load_library().checks),
                         ClusterOptions(kubeconfig=str(kubeconfig)), progress=bar)
    assert bar._objects == len(collection.objects) == PODS + 7
    monkeypatch.setenv("CI", "true")
    assert not wants_progress(quiet=False)


# ---------------------------------------------------------------------------------------------
# The real library: a cluster built from the example bundles


@pytest.mark.parametrize("bundle", ["ai-platform", "bad-bundle"])
def test_live_snapshot_and_manifests_agree_on_the_real_checks(bundle: str, tmp_path: Path) -> None:
    """The cluster the bundle would build, scanned live, from its snapshot and as manifests."""
    from scanner.sources.snapshot import load_snapshot, write_snapshot
    from tests.fakekube import cluster_from_objects

    library = load_library()
    manifests = load_inventory([str(ROOT / "fixtures" / "examples" / bundle)])
    cluster = cluster_from_objects(manifests.objects, git_version="v1.35.1")
    with FakeApiServer(cluster) as srv:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(srv.kubeconfig())
        collection = collect(inputs_of(library.checks), ClusterOptions(kubeconfig=str(kubeconfig)))
    # Checks that declare every ConfigMap get none (kaic reads ConfigMaps only by name): the one
    # permitted gap, and those checks must then not decide.
    assert {u["reason"] for u in collection.unreadable} <= {"never listed (name one object)"}
    configmaps = [o for o in manifests.objects if o["kind"] == "ConfigMap"]
    assert len(collection.objects) == len(manifests.objects) - len(configmaps)
    write_snapshot(collection, tmp_path / "s.json.gz")
    snapshot = load_snapshot(str(tmp_path / "s.json.gz"), inputs_of(library.checks))[0]
    engine = prepare_engine(library)  # compiled once; each scan sets its own input
    for name in ("whitepaper-0.9", "cncf-1.35"):
        profile = load_profile(name)
        live, snap, files = (scan(inv, library, profile, engine=engine)
                             for inv in (to_inventory(collection, "cluster"), snapshot, manifests))
        assert comparable(live) == comparable(snap)
        blind = {r.id for r in live.requirements
                 if any(n.startswith("cannot list") for n in r.notes)}
        for r in live.requirements:
            if r.id in blind:
                assert r.status not in (Status.full, Status.no), r.id
        # As far as the data allows: where the manifests decide, the cluster agrees; where they
        # cannot (Unknown: e.g. nothing in a bundle shows metrics are scraped), the cluster may.
        decided = {r.id: r.status for r in files.requirements
                   if r.checks and r.id not in blind and r.status is not Status.unknown}
        assert decided
        assert {r.id: r.status for r in live.requirements if r.id in decided} == decided


def test_real_checks_are_unknown_when_their_inputs_are_forbidden(tmp_path: Path) -> None:
    from tests.fakekube import cluster_from_objects

    library = load_library()
    manifests = load_inventory([str(ROOT / "fixtures" / "examples" / "ai-platform")])
    cluster = cluster_from_objects(manifests.objects, git_version="v1.35.1")
    cluster.forbidden |= {("networking.k8s.io", "networkpolicies"), ("node.k8s.io",
                                                                      "runtimeclasses")}
    with FakeApiServer(cluster) as srv:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(srv.kubeconfig())
        collection = collect(inputs_of(library.checks), ClusterOptions(kubeconfig=str(kubeconfig)))
    report = scan(to_inventory(collection, "cluster"), library, load_profile("whitepaper-0.9"),
                  engine=prepare_engine(library))
    by_id = {r.id: r for r in report.requirements}
    for rid, what in (("SEC-5.1", "networking.k8s.io/networkpolicies"),
                      ("SEC-5.3", "node.k8s.io/runtimeclasses")):
        assert by_id[rid].status not in (Status.full, Status.no), rid  # was Full when readable
        assert f"cannot list {what}: forbidden (needs get/list)" in by_id[rid].notes


def test_cli_cluster_scan_picks_the_cncf_version_of_the_cluster(cli, tmp_path: Path) -> None:
    from tests.fakekube import cluster_from_objects

    manifests = load_inventory([str(ROOT / "fixtures" / "examples" / "ai-platform")])
    cluster = cluster_from_objects(manifests.objects, git_version="v1.35.1")
    with FakeApiServer(cluster) as srv:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(srv.kubeconfig())
        result = invoke(cli, "scan", "--cluster", "--kubeconfig", str(kubeconfig), "--profile",
                        "cncf", "--format", "json", "--fail-on", "never")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["profile"], report["mode"]) == ("cncf-1.35", "cluster")
    assert len(report["requirements"]) == len(load_profile("cncf-1.35").requirements)
    assert {r["status"] for r in report["requirements"]} <= {"Full", "Partial", "No", "Unknown"}
    assert next(r for r in report["requirements"] if r["id"] == "ai_inference")["status"] == "Full"
