"""Charts through the whole scan: the same verdicts as their rendered output, and SARIF results on
the template lines a chart author edits."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from scanner.evaluate import prepare_engine, scan
from scanner.models import FindingKind, ScanReport
from scanner.policies import PolicyLibrary
from scanner.profiles import load_profile
from scanner.report.sarif import sarif_document
from scanner.sources import load_inventory
from scanner.sources.helm import HelmOptions
from tests.conftest import FIXTURES, ROOT, invoke

HELM = FIXTURES / "helm"
PLANTED = "fixtures/helm/planted-violations"
EXPECT = re.compile(r"#\s*expect:\s*([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)")


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def scan_paths(paths: list[str], library: PolicyLibrary, helm: HelmOptions | None = None,
               profile: str = "whitepaper-0.9") -> ScanReport:
    inventory = load_inventory(paths, helm=helm)
    return scan(inventory, library, load_profile(profile), engine=prepare_engine(library))


def helm_template(chart: Path, values: dict, out: Path) -> None:
    """What `helm dependency build` + `helm template --skip-tests --include-crds --output-dir`
    write, produced with the same Helm engine (there is no helm binary here)."""
    import helm_python

    work = out.parent / "chart-copy"
    shutil.copytree(chart, work)
    shutil.copytree(HELM / "shared-config", work / "charts" / "shared-config")  # file:// dep
    with helm_python.Chart.load(str(work)) as loaded:
        rendered = loaded.render(values, name="release-name", namespace="default",
                                 is_install=True)
        crds = loaded.crds
    for key, text in rendered.items():
        if key.endswith("NOTES.txt") or "/templates/tests/" in key:
            continue
        (out / key).parent.mkdir(parents=True, exist_ok=True)
        (out / key).write_text(text)
    for crd in crds:
        (out / crd["filename"]).parent.mkdir(parents=True, exist_ok=True)
        (out / crd["filename"]).write_text(crd["data"])


def verdicts(report: ScanReport) -> tuple[dict[str, str], set[tuple]]:
    statuses = {r.id: r.status.value for r in report.requirements}
    findings = {(f.check_id, f.kind.value, f.ref.display() if f.ref else "", f.field or "",
                 f.message) for r in report.requirements for f in r.findings}
    return statuses, findings


@pytest.mark.parametrize("values", [
    {},
    {"sandbox": {"enabled": False}, "inference": {"serviceType": "LoadBalancer"},
     "image": {"digest": None, "tag": "2.1"}},
])
@pytest.mark.parametrize("profile", ["whitepaper-0.9", "cncf-1.34"])
def test_chart_scan_equals_scan_of_its_rendered_output(tmp_path: Path, library: PolicyLibrary,
                                                       values: dict, profile: str) -> None:
    out = tmp_path / "rendered"
    out.mkdir()
    helm_template(HELM / "agent-platform", values, out)
    values_file = tmp_path / "values.yaml"
    values_file.write_text(json.dumps(values))
    chart = scan_paths(["fixtures/helm/agent-platform"], library,
                       HelmOptions(values_files=(str(values_file),)), profile)
    rendered = scan_paths([str(out)], library, profile=profile)
    assert chart.summary.objects == rendered.summary.objects == 8
    assert verdicts(chart) == verdicts(rendered)


def expected_lines() -> dict[tuple[str, int], set[str]]:
    """`# expect: check-id` comments in the planted chart's templates: (file, line) -> checks."""
    expected: dict[tuple[str, int], set[str]] = {}
    for template in sorted((ROOT / PLANTED).rglob("templates/*.yaml")):
        uri = template.relative_to(ROOT).as_posix()
        for number, line in enumerate(template.read_text().splitlines(), start=1):
            m = EXPECT.search(line)
            if m:
                expected[(uri, number)] = {c.strip() for c in m.group(1).split(",")}
    return expected


def test_planted_violations_land_on_their_template_lines(library: PolicyLibrary) -> None:
    expected = expected_lines()
    planted = sum(len(v) for v in expected.values())
    # 10 planted for the foundation checks, 2 more that dra-device-requests (HW-1.1) sees
    assert planted == 12
    report = scan_paths([PLANTED], library)
    sarif = sarif_document(report)
    got: dict[tuple[str, int], set[str]] = {}
    denies = [r for r in sarif["runs"][0]["results"] if r["properties"]["findingKind"] == "deny"]
    assert len(denies) == planted  # the planted ones and nothing else
    for result in denies:
        assert "approximateLocation" not in result["properties"], result
        physical = result["locations"][0]["physicalLocation"]
        key = (physical["artifactLocation"]["uri"], physical.get("region", {}).get("startLine"))
        got.setdefault(key, set()).add(result["ruleId"])
    hits = {(where, check) for where, checks in expected.items() for check in checks
            if check in got.get(where, set())}
    missed = {(where, check) for where, checks in expected.items() for check in checks} - hits
    assert not missed, f"{len(hits)}/{planted} on the exact line; missed {sorted(missed)}; got {got}"
    findings = [f for r in report.requirements for f in r.findings if f.kind is FindingKind.deny]
    assert all(f.location is not None and f.location.template for f in findings)


def test_cli_sarif_for_a_chart_with_values(cli, tmp_path: Path, sarif_schema) -> None:
    import jsonschema

    out = tmp_path / "kaic.sarif"
    result = invoke(cli, "scan", "fixtures/helm/agent-platform", "--set",
                    "inference.serviceType=LoadBalancer", "--release-name", "prod",
                    "-F", "sarif", "-o", str(out))
    assert result.exit_code in (0, 1), result.stderr
    document = json.loads(out.read_text())
    jsonschema.validate(document, sarif_schema)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in document["runs"][0]["results"]}
    assert any(u.startswith("fixtures/helm/agent-platform/templates/") for u in uris), uris


def test_cli_source_override_and_include_tests(cli, tmp_path: Path) -> None:
    # Forced to manifests, a chart's templates are read as YAML: an input error, exit 2.
    forced = invoke(cli, "scan", PLANTED, "--source", "manifests", "-q")
    assert forced.exit_code == 2 and "invalid YAML" in forced.stderr
    out = tmp_path / "with-tests.json"
    result = invoke(cli, "scan", "fixtures/helm/agent-platform", "--include-tests",
                    "-F", "json", "-o", str(out))
    assert result.exit_code in (0, 1), result.stderr
    assert json.loads(out.read_text())["summary"]["objects"] == 9  # 8 + the test Pod


def test_kube_version_picks_the_cncf_profile(cli, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = invoke(cli, "scan", PLANTED, "--kube-version", "v1.34.1", "--profile", "cncf",
                    "-F", "json", "-o", str(out))
    assert result.exit_code in (0, 1), result.stderr
    assert json.loads(out.read_text())["profile"] == "cncf-1.34"
