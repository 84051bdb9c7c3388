"""Helm charts rendered by the real Helm engine (helm-python-sdk), with template-line locations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scanner.errors import InputError
from scanner.sources import detect_source, load_inventory
from scanner.sources.helm import HelmOptions, merge_values
from tests.conftest import FIXTURES, ROOT, invoke

CHART = FIXTURES / "helm" / "agent-platform"
CHART_REL = "fixtures/helm/agent-platform"


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # URIs are relative to the working directory, as in CI at the repository root.
    monkeypatch.chdir(ROOT)


def line_of(path: str | Path, needle: str, occurrence: int = 1) -> int:
    """1-based line of the `occurrence`-th line containing `needle` in a fixture file."""
    seen = 0
    for number, line in enumerate((ROOT / path).read_text().splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in {path}")


def objects(inventory) -> dict[tuple[str, str], int]:
    return {(o["kind"], o["metadata"]["name"]): i for i, o in enumerate(inventory.objects)}


def render(*args: str, **options) -> tuple:
    inventory = load_inventory(list(args) or [CHART_REL], helm=HelmOptions(**options))
    return inventory, objects(inventory)


def test_chart_renders_templates_subchart_file_dependency_and_crds() -> None:
    inventory, index = render()
    assert set(index) == {
        ("Deployment", "release-name-planner"), ("Deployment", "release-name-coder"),
        ("Deployment", "release-name-inference"), ("Service", "release-name-inference"),
        ("ConfigMap", "release-name-settings"),
        ("Service", "release-name-gateway"),  # subchart in charts/
        ("ConfigMap", "release-name-shared"),  # file://../shared-config dependency
        ("CustomResourceDefinition", "agentpolicies.agents.example.com"),  # crds/
    }
    planner = inventory.objects[index[("Deployment", "release-name-planner")]]
    spec = planner["spec"]["template"]["spec"]
    assert spec["runtimeClassName"] == "gvisor"
    assert spec["containers"][0]["image"].startswith("registry.example.com/agents/runner@sha256:")
    assert planner["metadata"]["labels"]["helm.sh/chart"] == "agent-platform-0.3.0"
    settings = inventory.objects[index[("ConfigMap", "release-name-settings")]]
    assert settings["data"]["greeting"] == "hello from release-name"  # tpl
    assert inventory.roots == [CHART_REL]


def test_notes_and_test_templates_are_left_out_unless_asked() -> None:
    _, index = render()
    assert ("Pod", "release-name-test-connection") not in index
    _, index = render(include_tests=True)
    assert ("Pod", "release-name-test-connection") in index


def test_values_files_then_set_then_set_string(tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text("inference:\n  serviceType: NodePort\n  gpus: 2\nagents:\n  - name: solo\n")
    second = tmp_path / "b.yaml"
    second.write_text("inference:\n  serviceType: LoadBalancer\n")
    inventory, index = render(values_files=(str(first), str(second)),
                              set_values=("inference.gpus=4", "sandbox.enabled=false"),
                              set_string_values=("greeting=007",))
    assert ("Deployment", "release-name-solo") in index
    assert ("Deployment", "release-name-planner") not in index
    svc = inventory.objects[index[("Service", "release-name-inference")]]
    assert svc["spec"]["type"] == "LoadBalancer"  # later file wins
    inference = inventory.objects[index[("Deployment", "release-name-inference")]]
    limits = inference["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == 4  # --set wins over files
    solo = inventory.objects[index[("Deployment", "release-name-solo")]]
    assert "runtimeClassName" not in solo["spec"]["template"]["spec"]
    settings = inventory.objects[index[("ConfigMap", "release-name-settings")]]
    assert settings["data"]["greeting"] == "007"  # --set-string keeps it a string


def test_merge_values_is_helms_deep_merge() -> None:
    merged = merge_values({"a": {"b": 1, "c": 2}, "l": [1, 2]}, {"a": {"b": 3}, "l": [9]})
    assert merged == {"a": {"b": 3, "c": 2}, "l": [9]}


def test_release_name_namespace_and_kube_version() -> None:
    inventory, index = render(release_name="prod", namespace="ai", kube_version="v1.34.2")
    settings = inventory.objects[index[("ConfigMap", "prod-settings")]]
    assert settings["metadata"]["namespace"] == "ai"
    assert settings["data"]["kubeVersion"] == "v1.34.2"


def test_field_lines_are_template_lines() -> None:
    inventory, index = render()
    agents = f"{CHART_REL}/templates/agents.yaml"
    for name in ("release-name-planner", "release-name-coder"):  # both come from one range
        origin = inventory.origins[index[("Deployment", name)]]
        image = origin.locate("spec.template.spec.containers[0].image")
        assert (image.uri, image.line, image.approximate) == (
            agents, line_of(agents, "image: {{ include"), False)
        assert image.template == "agent-platform/templates/agents.yaml"
        assert origin.locate("spec.template.spec.runtimeClassName").line == line_of(
            agents, "runtimeClassName:")
        # A label that an `include ... | nindent` wrote: the include line.
        assert origin.locate('metadata.labels["helm.sh/chart"]').line == line_of(
            agents, 'include "agent-platform.labels"')
        assert origin.locate("metadata.labels").line == line_of(agents, "  labels:")
        assert origin.locate().line == line_of(agents, "apiVersion: apps/v1")
    gateway = f"{CHART_REL}/charts/gateway/templates/service.yaml"
    origin = inventory.origins[index[("Service", "release-name-gateway")]]
    assert (origin.locate("spec.type").uri, origin.locate("spec.type").line) == (
        gateway, line_of(gateway, "type:"))
    shared = "fixtures/helm/shared-config/templates/configmap.yaml"
    origin = inventory.origins[index[("ConfigMap", "release-name-shared")]]
    assert (origin.locate("data.owner").uri, origin.locate("data.owner").line) == (
        shared, line_of(shared, "owner:"))
    crds = f"{CHART_REL}/crds/agentpolicies.yaml"
    origin = inventory.origins[index[("CustomResourceDefinition",
                                      "agentpolicies.agents.example.com")]]
    assert (origin.locate("spec.scope").uri, origin.locate("spec.scope").line) == (
        crds, line_of(crds, "scope:"))


def test_absent_field_points_at_its_parent_and_says_approximate() -> None:
    inventory, index = render(set_values=("sandbox.enabled=false",))
    agents = f"{CHART_REL}/templates/agents.yaml"
    origin = inventory.origins[index[("Deployment", "release-name-planner")]]
    where = origin.locate("spec.template.spec.runtimeClassName")
    assert where.approximate
    assert where.line == line_of(agents, "    spec:", 1)


def test_second_document_of_a_template(tmp_path: Path) -> None:
    inventory, index = render()
    inference = f"{CHART_REL}/templates/inference.yaml"
    origin = inventory.origins[index[("Service", "release-name-inference")]]
    assert origin.locate("spec.type").line == line_of(inference, "type: {{")
    assert origin.locate().line == line_of(inference, "apiVersion: v1")


def write_chart(root: Path, templates: dict[str, str], values: str = "") -> Path:
    chart = root / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: t\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(values)
    for name, text in templates.items():
        (chart / "templates" / name).write_text(text)
    return chart


def test_marker_unsafe_template_still_scans_exactly_and_falls_back(tmp_path: Path) -> None:
    # `{{- ` on the next line joins it to this one: a marker would swallow the suffix. The
    # scanned object comes from the unmarked render, and the line is flagged approximate.
    chart = write_chart(tmp_path, {"cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n"
        "  image: repo/app\n  {{- \":v1\" }}\n")})
    inventory = load_inventory([str(chart)])
    assert inventory.objects[0]["data"]["image"] == "repo/app:v1"
    where = inventory.origins[0].locate("data.image")
    assert where.approximate and where.line == 1


def test_packaged_chart_points_at_the_archive(tmp_path: Path) -> None:
    import helm_python

    archive = helm_python.package(str(FIXTURES / "helm" / "agent-platform" / "charts" /
                                      "gateway"), destination=str(tmp_path))
    inventory = load_inventory([archive])
    assert [o["kind"] for o in inventory.objects] == ["Service"]
    where = inventory.origins[0].locate("spec.type")
    assert where.uri.endswith("gateway-0.1.0.tgz") and where.line is None
    assert where.template == "gateway/templates/service.yaml"


@pytest.mark.parametrize(("template", "expected"), [
    ("apiVersion: v1\nkind: ConfigMap\ndata:\n  a: {{ .Values.nope.deeper }}\n",
     "templates/bad.yaml:4:"),
    ("apiVersion: v1\nkind: ConfigMap\ndata:\n  a: {{ if .Values.x }}\n",
     "templates/bad.yaml:5: template parse error"),
    ("apiVersion: v1\nkind: ConfigMap\ndata:\n  a: {{ required \"set a\" .Values.a }}\n",
     "set a"),
    ("apiVersion: v1\nkind: ConfigMap\ndata:\n  a: {{ include \"missing\" . }}\n",
     "missing"),
])
def test_broken_templates_name_template_and_line(tmp_path: Path, template: str,
                                                 expected: str) -> None:
    chart = write_chart(tmp_path, {"bad.yaml": template})
    with pytest.raises(InputError) as err:
        load_inventory([str(chart)])
    assert expected in str(err.value)
    assert "\n" not in str(err.value)
    assert "bad.yaml" in str(err.value)


def test_rendered_output_that_is_not_yaml_names_the_template_line(tmp_path: Path) -> None:
    chart = write_chart(tmp_path, {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\ndata:\n"
                                              "  a: [unclosed\n  b: 1\n"})
    with pytest.raises(InputError, match=r"templates/cm.yaml:\d+: rendered output is not valid"):
        load_inventory([str(chart)])


def test_values_schema_violation_is_a_clear_error() -> None:
    with pytest.raises(InputError) as err:
        load_inventory([CHART_REL], helm=HelmOptions(set_values=("agents[0].replicas=-1",)))
    message = str(err.value)
    assert "values.schema.json" in message and "/agents/0/replicas" in message
    assert "\n" not in message


@pytest.mark.parametrize(("options", "expected"), [
    ({"values_files": ("nope.yaml",)}, "nope.yaml: values file not found"),
    ({"set_values": ("a",)}, "--set 'a'"),
    ({"kube_version": "banana"}, "--kube-version 'banana'"),
    ({"release_name": "Not_Valid"}, "--release-name 'Not_Valid'"),
])
def test_bad_options_are_clear_errors(options, expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        load_inventory([CHART_REL], helm=HelmOptions(**options))


def test_values_file_must_be_a_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "v.yaml"
    bad.write_text("- a\n")
    with pytest.raises(InputError, match="must be a mapping"):
        load_inventory([CHART_REL], helm=HelmOptions(values_files=(str(bad),)))


def test_missing_dependency_is_an_error_naming_the_fix(tmp_path: Path) -> None:
    chart = write_chart(tmp_path, {})
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: t\nversion: 0.1.0\ndependencies:\n"
        "  - name: redis\n    version: 1.0.0\n    repository: https://charts.example.com\n")
    with pytest.raises(InputError, match=r"missing from charts/: redis; run `helm dependency"):
        load_inventory([str(chart)])


def test_detection_and_source_override(tmp_path: Path) -> None:
    assert detect_source(CHART_REL) == "helm"
    assert detect_source("fixtures/kustomize/overlays/prod") == "kustomize"
    assert detect_source("fixtures/helm") == "manifests"
    assert detect_source("-") == "manifests"
    with pytest.raises(InputError, match="not a Helm chart"):
        load_inventory(["fixtures/kustomize/base"], source="helm")
    with pytest.raises(InputError, match="unknown --source"):
        load_inventory([CHART_REL], source="terraform")


def test_values_without_a_chart_is_a_usage_error(cli) -> None:
    result = invoke(cli, "scan", "fixtures/kustomize/base", "--set", "a=b")
    assert result.exit_code == 2
    assert "apply to Helm charts" in result.stderr


def test_help_does_not_load_the_helm_engine() -> None:
    code = ("import sys; from typer.testing import CliRunner; from scanner.cli import app; "
            "CliRunner().invoke(app, ['scan', '--help']); print('helm_python' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_charts_inside_a_manifests_directory_are_rendered_not_parsed(tmp_path: Path) -> None:
    # Templates are not YAML: read as manifests they would be a parse error.
    import shutil

    shutil.copytree(FIXTURES / "helm" / "agent-platform" / "charts" / "gateway",
                    tmp_path / "deploy" / "gateway")
    (tmp_path / "deploy" / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\n"
                                                 "metadata:\n  name: ai\n")
    inventory = load_inventory([str(tmp_path / "deploy")])
    assert sorted(o["kind"] for o in inventory.objects) == ["Namespace", "Service"]
    assert inventory.roots == [str(tmp_path / "deploy")]
    service = inventory.origins[[o["kind"] for o in inventory.objects].index("Service")]
    assert service.locate("spec.type").line == 6
    assert service.locate("spec.type").uri == "gateway/templates/service.yaml"


def test_markers_keep_the_structure_of_helm_create_scaffold(tmp_path: Path) -> None:
    """`helm create`'s chart is what most charts grow from: with every option on, every rendered
    document keeps its structure when marked, so every field gets an exact line."""
    import helm_python

    helm_python.Chart.create("scaffold", str(tmp_path)).close()
    from scanner.sources.helm import HelmSource

    source = HelmSource(HelmOptions(set_values=(
        "ingress.enabled=true", "autoscaling.enabled=true", "httpRoute.enabled=true",
        "serviceAccount.create=true", "podAnnotations.a=b", "nodeSelector.gpu=yes",
        "tolerations[0].key=gpu", "resources.limits.cpu=1")))
    inventory = source.load(str(tmp_path / "scaffold"))
    assert len(inventory.objects) >= 6
    for obj, origin in zip(inventory.objects, inventory.origins, strict=True):
        tpl = source.locator.templates[origin.key[0]]
        assert tpl.marked is not None
        _, same = tpl.marked.document(origin.key[1], tpl.documents[origin.key[1]])
        assert same, (obj["kind"], tpl.key)
        assert not origin.locate("metadata.name").approximate


def test_a_document_broken_by_markers_does_not_cost_the_others_their_lines(
        tmp_path: Path) -> None:
    # A plain scalar continued on the next line cannot take a comment: that document falls
    # back, the next one in the same template keeps exact lines.
    chart = write_chart(tmp_path, {"two.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
        "  annotations:\n    note: a plain scalar\n      continued here\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  k: v\n")})
    inventory = load_inventory([str(chart)])
    first, second = inventory.origins
    assert inventory.objects[0]["metadata"]["annotations"]["note"] == (
        "a plain scalar continued here")
    assert first.locate("metadata.name").approximate
    assert (second.locate("data.k").line, second.locate("data.k").approximate) == (14, False)
