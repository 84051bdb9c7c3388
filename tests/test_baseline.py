"""Baselines: fingerprints survive line shifts and unrelated edits; only new problems fail."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.baseline import baseline_document, load_baseline
from scanner.errors import InputError
from tests.conftest import FIXTURES, invoke

CUSTOM = FIXTURES / "custom-policies"
ACME = CUSTOM / "acme-profile.yaml"

DEPLOY = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: {name}
      namespace: agents
      labels: {{team: ml}}
    spec:
      replicas: 1
      template:
        spec:
          containers:
            - name: c
              image: {image}
    """)


def bundle(*docs: tuple[str, str]) -> str:
    return "---\n".join(DEPLOY.format(name=n, image=i) for n, i in docs)


def scan_json(cli, path: Path, *extra: str):
    result = invoke(cli, "scan", str(path), "--policy-dir", str(CUSTOM), "--profile-file",
                    str(ACME), "--format", "json", *extra)
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def fingerprints(report: dict) -> set[str]:
    return {f["fingerprint"] for r in report["requirements"] for f in r["findings"]
            if f["kind"] == "deny"}


def test_fingerprints_survive_line_shifts_and_unrelated_edits(cli, tmp_path: Path) -> None:
    app = tmp_path / "app.yaml"
    app.write_text(bundle(("a", "docker.io/a:1"), ("b", "docker.io/b:1")))
    _, before = scan_json(cli, app)
    # Comments and blank lines above, documents swapped, an unrelated field changed, keys
    # reordered: every line moves, nothing about the violations changes.
    shifted = "# header\n\n# more\n" + bundle(("b", "docker.io/b:1"), ("a", "docker.io/a:1"))
    shifted = shifted.replace("replicas: 1", "replicas: 3\n  paused: false")
    app.write_text(shifted)
    _, after = scan_json(cli, app)
    lines = lambda rep: {f["location"]["line"] for r in rep["requirements"]  # noqa: E731
                         for f in r["findings"] if f["kind"] == "deny"}
    assert lines(before) != lines(after)
    assert fingerprints(before) == fingerprints(after) and len(fingerprints(before)) == 2


def test_baseline_fails_only_on_new_findings(cli, tmp_path: Path, sarif_schema) -> None:
    app = tmp_path / "app.yaml"
    app.write_text(bundle(("a", "docker.io/a:1"), ("b", "registry.acme.example/b:1")))
    base = tmp_path / "kaic-baseline.json"
    first, _ = scan_json(cli, app, "--write-baseline", str(base))
    assert first.exit_code == 1  # the existing violation fails without a baseline
    written = json.loads(base.read_text())
    assert written["schema"] == "kaic.dev/baseline/v1"
    assert [(e["check"], e["object"]) for e in written["findings"]] == [
        ("acme-approved-registry", "Deployment agents/a")]

    # Unrelated edits and a line shift: still only old findings -> pass.
    app.write_text("# moved\n" + bundle(("b", "registry.acme.example/b:2"),
                                       ("a", "docker.io/a:1")))
    same, report = scan_json(cli, app, "--baseline", str(base))
    assert same.exit_code == 0, same.stderr
    states = {f["ref"]["name"]: f["baseline_state"] for r in report["requirements"]
              for f in r["findings"] if f["kind"] == "deny"}
    assert states == {"a": "unchanged"}

    # A new violation fails, and the message says it is new.
    app.write_text(bundle(("a", "docker.io/a:1"), ("b", "docker.io/b:1")))
    new, report = scan_json(cli, app, "--baseline", str(base))
    assert new.exit_code == 1 and "fail new" in new.stderr and "ACME-2" in new.stderr
    sarif = invoke(cli, "scan", str(app), "--policy-dir", str(CUSTOM), "--profile-file",
                   str(ACME), "--format", "sarif", "--baseline", str(base))
    doc = json.loads(sarif.stdout)
    jsonschema.validate(doc, sarif_schema)
    by_state = {r["message"]["text"].split()[1]: r.get("baselineState")
                for r in doc["runs"][0]["results"] if r["properties"]["findingKind"] == "deny"}
    assert by_state == {"a": "unchanged", "b": "new"}


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_previous_report_works_as_baseline(cli, tmp_path: Path, fmt: str) -> None:
    app = tmp_path / "app.yaml"
    app.write_text(bundle(("a", "docker.io/a:1")))
    previous = tmp_path / f"previous.{fmt}"
    invoke(cli, "scan", str(app), "--policy-dir", str(CUSTOM), "--profile-file", str(ACME),
           "--format", fmt, "--output", str(previous))
    baseline = load_baseline(previous)
    assert baseline.source == ("json report" if fmt == "json" else "sarif")
    assert len(baseline.fingerprints) == 1
    result, _ = scan_json(cli, app, "--baseline", str(previous))
    assert result.exit_code == 0, result.stderr


def test_missing_capability_is_baselined_too(cli, tmp_path: Path) -> None:
    # No workloads: ACME-1..3 are No without violations (nothing to fingerprint).
    app = tmp_path / "ns.yaml"
    app.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: agents}\n")
    base = tmp_path / "b.json"
    assert scan_json(cli, app, "--write-baseline", str(base))[0].exit_code == 1
    assert json.loads(base.read_text())["missing"] == ["ACME-1", "ACME-2", "ACME-3"]
    assert scan_json(cli, app, "--baseline", str(base))[0].exit_code == 0
    # A baseline without those requirements: they are new failures.
    base.write_text(json.dumps({"schema": "kaic.dev/baseline/v1", "findings": [],
                                "missing": ["ACME-1"]}))
    result, _ = scan_json(cli, app, "--baseline", str(base))
    assert result.exit_code == 1 and "ACME-2" in result.stderr and "ACME-1," not in result.stderr


def test_waived_findings_are_left_out_of_the_baseline(cli, tmp_path: Path) -> None:
    app = tmp_path / "app.yaml"
    app.write_text(bundle(("a", "docker.io/a:1"), ("b", "docker.io/b:1")))
    (tmp_path / "exc.yaml").write_text(
        "exceptions:\n  - {check: acme-approved-registry, name: b, justification: j, "
        "owner: o}\n")
    _, report = scan_json(cli, app, "--exceptions", str(tmp_path / "exc.yaml"))
    from scanner.models import ScanReport

    doc = baseline_document(ScanReport.model_validate(report))
    assert [e["object"] for e in doc["findings"]] == ["Deployment agents/a"]


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", r"b\.json:1: invalid JSON"),
    ('{"schema": "other"}', r"not a kaic baseline, JSON report or SARIF log"),
    ('{"schema": "kaic.dev/baseline/v1", "findings": [{"check": "x"}]}', r"malformed baseline"),
])
def test_bad_baselines_are_clear_errors(cli, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_baseline(path)
    app = tmp_path / "ns.yaml"
    app.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: agents}\n")
    result = invoke(cli, "scan", str(app), "--baseline", str(path))
    assert result.exit_code == 2 and result.stderr.startswith("kaic: error: ")
    assert invoke(cli, "scan", str(app), "--baseline", str(tmp_path / "nope.json")).exit_code == 2


_LIB: list = []


def _acme_scan(path: Path):
    from scanner.evaluate import prepare_engine, scan
    from scanner.policies import load_library
    from scanner.profiles import load_profile
    from scanner.sources import load_inventory

    if not _LIB:
        _LIB.append(load_library([CUSTOM]))
    library = _LIB[0]
    return scan(load_inventory([str(path)]), library, load_profile(str(ACME)),
                engine=prepare_engine(library))


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(4)), padding=st.lists(
    st.sampled_from(["", "# comment", "#", "   "]), max_size=6),
    replicas=st.integers(min_value=0, max_value=9))
def test_fingerprints_are_invariant_under_layout(tmp_path: Path, order, padding,
                                                 replicas: int) -> None:
    docs = [("a", "docker.io/a:1"), ("b", "docker.io/b:1"), ("c", "registry.acme.example/c:1"),
            ("d", "quay.io/d:2")]
    path = tmp_path / "app.yaml"
    path.write_text(bundle(*docs))
    expected = {f.fingerprint for r in _acme_scan(path).requirements for f in r.findings}
    shuffled = "\n".join(padding) + "\n" + bundle(*(docs[i] for i in order))
    path.write_text(shuffled.replace("replicas: 1", f"replicas: {replicas}"))
    actual = {f.fingerprint for r in _acme_scan(path).requirements for f in r.findings}
    assert actual == expected
