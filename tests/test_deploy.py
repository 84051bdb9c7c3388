"""Deployment artefacts: the generated ClusterRole, manifests, sonobuoy plugin and image."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

from scanner.policies import load_library
from scanner.rbac import cluster_role, render_rbac
from scanner.sources.cluster import Input, inputs_of
from tests.conftest import ROOT, invoke
from tests.fakekube import FakeApiServer, FakeCluster, obj

DEPLOY = ROOT / "deploy"
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "watch", "*",
               "escalate", "bind", "impersonate"}


def test_clusterrole_in_deploy_is_generated_from_the_checks() -> None:
    expected = render_rbac(inputs_of(load_library().checks))
    actual = (DEPLOY / "clusterrole.yaml").read_text()
    assert actual == expected, "stale: run kaic rbac -o deploy/clusterrole.yaml"


def test_clusterrole_is_least_privilege() -> None:
    role = cluster_role([
        Input("", "nodes"), Input("", "pods"), Input("node.k8s.io", "runtimeclasses"),
        Input("", "secrets"), Input("", "configmaps"),
        Input("", "configmaps", "kube-system", "cluster-autoscaler-status"),
    ])
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["get", "list"]},
        {"apiGroups": ["node.k8s.io"], "resources": ["runtimeclasses"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["configmaps"],
         "resourceNames": ["cluster-autoscaler-status"], "verbs": ["get"]},
        {"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/version"], "verbs": ["get"]},
    ]


def test_deploy_manifests_are_read_only_and_bound_to_the_service_account() -> None:
    docs = [d for p in sorted(DEPLOY.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text())]
    kinds = {d["kind"]: d for d in docs}
    assert {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "CronJob"} <= \
        set(kinds)
    for rule in kinds["ClusterRole"]["rules"]:
        assert not set(rule["verbs"]) & WRITE_VERBS
        assert "secrets" not in rule.get("resources", []) and "*" not in rule.get("resources", [])
        if "configmaps" in rule.get("resources", []):
            assert rule.get("resourceNames"), "configmaps only by name"
    binding = kinds["ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == kinds["ClusterRole"]["metadata"]["name"]
    sa = kinds["ServiceAccount"]["metadata"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["name"],
                                    "namespace": sa["namespace"]}]
    pod = kinds["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == sa["name"] and pod["securityContext"]["runAsNonRoot"]
    assert pod["containers"][0]["args"][:2] == ["scan", "--cluster"]
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in DEPLOY.glob("*.yaml") if p.name != "kustomization.yaml")


def test_sonobuoy_plugin_definition() -> None:
    plugin = yaml.safe_load((DEPLOY / "sonobuoy" / "kaic-plugin.yaml").read_text())
    config = plugin["sonobuoy-config"]
    assert (config["driver"], config["plugin-name"], config["result-format"]) == (
        "Job", "kaic", "junit")
    assert plugin["spec"]["command"] == ["/bin/sh", "/opt/kaic/sonobuoy-run.sh"]
    assert {"mountPath": "/tmp/sonobuoy/results", "name": "results"} in \
        plugin["spec"]["volumeMounts"]


def test_sonobuoy_entrypoint_writes_results_and_the_done_file(tmp_path: Path) -> None:
    """Runs deploy/sonobuoy/run.sh for real: `kaic` on PATH, the fake API server as cluster."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "kaic"
    shim.write_text(f"#!/bin/sh\ncd {ROOT} && exec {sys.executable} -m scanner \"$@\"\n")
    shim.chmod(0o755)
    results = tmp_path / "results"
    cluster = FakeCluster()
    cluster.serve("", "v1", "nodes", "Node", False, [obj("Node", "n1")])
    with FakeApiServer(cluster) as srv:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(srv.kubeconfig())
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
               "SONOBUOY_RESULTS_DIR": str(results), "KUBECONFIG": str(kubeconfig),
               "KAIC_PROFILE": "cncf"}
        done = subprocess.run(["/bin/sh", str(DEPLOY / "sonobuoy" / "run.sh")], env=env,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    junit = results / "kaic-junit.xml"
    assert (results / "done").read_text() == str(junit)
    assert junit.read_text().startswith("<?xml") and "<testcase" in junit.read_text()
    assert (results / "kaic.json").is_file() and (results / "kaic.sarif").is_file()
    assert {r.method for r in cluster.requests} == {"GET"}


def test_sonobuoy_entrypoint_hands_back_the_log_when_kaic_cannot_scan(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kaic").write_text("#!/bin/sh\necho 'kaic: error: cluster unreachable' >&2\n"
                                  "exit 2\n")
    (bin_dir / "kaic").chmod(0o755)
    results = tmp_path / "results"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "SONOBUOY_RESULTS_DIR": str(results)}
    done = subprocess.run(["/bin/sh", str(DEPLOY / "sonobuoy" / "run.sh")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert (results / "done").read_text() == str(results)
    assert "cluster unreachable" in (results / "kaic.log").read_text()


def test_dockerfile_is_slim_non_root_pinned_with_kaic_entrypoint() -> None:
    text = (ROOT / "Dockerfile").read_text()
    bases = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
    assert bases and all("-slim" in b and b.split(":")[1][0].isdigit() for b in bases)
    assert 'ENTRYPOINT ["kaic"]' in text
    user = [line for line in text.splitlines() if line.startswith("USER ")]
    assert user and not user[-1].split()[1].startswith(("0", "root"))
    pins = [line for line in (DEPLOY / "requirements.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert pins and all("==" in p for p in pins)
    names = {p.split("==")[0].lower() for p in pins}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["cluster"]
    assert {Requirement(w).name.lower() for w in wanted} <= names, "pin every runtime dependency"


def test_rbac_command_prints_the_role(cli) -> None:
    result = invoke(cli, "rbac")
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["kind"] == "ClusterRole"
