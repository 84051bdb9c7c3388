"""Waivers: exceptions file selectors, expiry on an injected clock, inline annotations, SARIF
suppressions, the gate, and `kaic exceptions audit`. Real engine, real custom checks."""

from __future__ import annotations

import json
import textwrap
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from scanner.adoption import compose
from scanner.errors import InputError
from scanner.evaluate import failing_requirements, prepare_engine, scan
from scanner.exceptions import (
    WaiverSet,
    check_requirement_map,
    load_exceptions,
    parse_exceptions,
)
from scanner.models import FindingKind, ScanReport
from scanner.policies import load_library
from scanner.profiles import load_profile
from scanner.report import OutputFormat, render
from scanner.report.sarif import sarif_document
from scanner.sources import load_inventory
from tests.conftest import FIXTURES, invoke

CUSTOM = FIXTURES / "custom-policies"
ACME = CUSTOM / "acme-profile.yaml"


def deployment(name: str, namespace: str = "agents", labels: str = "{}",
               template_labels: str = "{}", annotations: str = "{}",
               template_annotations: str = "{}", image: str = "docker.io/x:1") -> str:
    """A Deployment whose image is outside the approved registry (one acme-approved-registry
    violation) unless `image` says otherwise."""
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {name}
          namespace: {namespace}
          labels: {labels}
          annotations: {annotations}
        spec:
          template:
            metadata:
              labels: {template_labels}
              annotations: {template_annotations}
            spec:
              containers:
                - name: c
                  image: {image}
        ---
        """)


BUNDLE = "".join([
    deployment("web-a", labels="{team: ml}"),
    deployment("web-b", labels="{team: platform}"),
    deployment("web-c", template_labels="{team: ml}"),
    deployment("trainer", namespace="ml", labels="{team: ml}"),
    deployment("good", labels="{team: ml}", image="registry.acme.example/ok:1"),
])


@pytest.fixture(scope="module")
def acme_library():
    """The bundled library plus the fixture's custom checks."""
    return load_library([CUSTOM])


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def scan_with(tmp_path: Path, library, exceptions: str | None = None, bundle: str = BUNDLE,
              today: date = date(2027, 1, 1), profile: str | Path = ACME
              ) -> tuple[ScanReport, WaiverSet]:
    """Scan `bundle` with an exceptions file (and inline annotations) at a fixed date."""
    (tmp_path / "deploy").mkdir(exist_ok=True)
    (tmp_path / "deploy" / "app.yaml").write_text(bundle)
    files = []
    if exceptions is not None:
        files.append(load_exceptions(write(tmp_path, ".kaic-exceptions.yaml", exceptions)))
    waivers = WaiverSet(files=files, today=lambda: today)
    prof = load_profile(str(profile))
    hook = waivers.bind(check_requirement_map(library.checks, prof),
                        [r.id for r in prof.requirements])
    inventory = load_inventory([str(tmp_path / "deploy")])
    report = scan(inventory, library, prof, engine=prepare_engine(library), waive=compose([hook]))
    return waivers.finish(report), waivers


def registry_findings(report: ScanReport) -> dict[str, bool]:
    """Object name -> waived, for the registry check's violations."""
    return {f.ref.name: f.waived for r in report.requirements for f in r.findings
            if f.check_id == "acme-approved-registry" and f.kind is FindingKind.deny}


def test_selectors_namespace_name_glob_and_labels(tmp_path: Path, acme_library) -> None:
    report, waivers = scan_with(tmp_path, acme_library, """\
        exceptions:
          - check: acme-approved-registry
            kind: Deployment
            namespace: agents
            name: "web-*"
            labels: {team: ml}
            justification: mirrored in PLAT-42
            owner: platform-team
        """)
    # web-a: own label; web-c: label on the pod template; web-b: wrong team; trainer: wrong ns.
    assert registry_findings(report) == {
        "web-a": True, "web-b": False, "web-c": True, "trainer": False}
    waived = next(f for r in report.requirements for f in r.findings if f.waived)
    assert waived.waiver == "mirrored in PLAT-42"
    assert waived.waiver_detail.kind == "external"
    assert waived.waiver_detail.owner == "platform-team"
    assert waived.waiver_detail.source.endswith(".kaic-exceptions.yaml:2")
    assert report.warnings == []
    assert waivers.usage == {(tmp_path / ".kaic-exceptions.yaml", 2): 2}


def test_requirement_selector_uses_the_checks_that_decide_it(tmp_path: Path,
                                                             acme_library) -> None:
    # SEC-5.5 is a whitepaper id: the custom check maps to it in its metadata, so the
    # exception matches even while scanning with the team profile.
    report, _ = scan_with(tmp_path, acme_library, """\
        exceptions:
          - requirement: SEC-5.5
            namespace: ml
            justification: training images are upstream until Q3
            owner: ml-team
        """)
    assert registry_findings(report) == {
        "web-a": False, "web-b": False, "web-c": False, "trainer": True}


def test_expiry_uses_the_injected_clock(tmp_path: Path, acme_library) -> None:
    text = """\
        exceptions:
          - check: acme-approved-registry
            justification: accepted until the mirror exists
            owner: platform-team
            expires: "2027-03-31"
        """
    last_day, _ = scan_with(tmp_path, acme_library, text, today=date(2027, 3, 31))
    assert all(registry_findings(last_day).values())
    assert last_day.warnings == []
    after, _ = scan_with(tmp_path, acme_library, text, today=date(2027, 4, 1))
    assert not any(registry_findings(after).values())
    assert len(after.warnings) == 1
    warning = after.warnings[0]
    assert ".kaic-exceptions.yaml:2" in warning and "expired on 2027-03-31" in warning
    assert "platform-team" in warning
    # The expired exception no longer protects the gate.
    assert "ACME-2" in [r.id for r in failing_requirements(after, "must")]
    assert "ACME-2" not in [r.id for r in failing_requirements(last_day, "must")]


def test_inline_waivers_object_template_reason_and_expiry(tmp_path: Path, acme_library) -> None:
    bundle = "".join([
        deployment("on-object", annotations='{kaic.dev/ignore: "acme-approved-registry", '
                   'kaic.dev/ignore-reason: "vendor image"}'),
        deployment("on-template", template_annotations='{kaic.dev/ignore: '
                   '"other-check, acme-approved-registry", kaic.dev/ignore-reason: "vendor"}'),
        deployment("no-reason", annotations='{kaic.dev/ignore: acme-approved-registry}'),
        deployment("expired", annotations='{kaic.dev/ignore: acme-approved-registry, '
                   'kaic.dev/ignore-reason: old, kaic.dev/ignore-expires: "2026-12-31"}'),
        deployment("other-check", annotations='{kaic.dev/ignore: acme-owner-label, '
                   'kaic.dev/ignore-reason: r}'),
    ])
    report, _ = scan_with(tmp_path, acme_library, bundle=bundle)
    assert registry_findings(report) == {"on-object": True, "on-template": True,
                                         "no-reason": False, "expired": False,
                                         "other-check": False}
    inline = next(f for r in report.requirements for f in r.findings
                  if f.waived and f.ref.name == "on-object")
    assert inline.waiver == "vendor image" and inline.waiver_detail.kind == "inSource"
    warnings = "\n".join(report.warnings)
    assert "Deployment agents/no-reason: kaic.dev/ignore without kaic.dev/ignore-reason" in warnings
    assert "Deployment agents/expired: kaic.dev/ignore expired on 2026-12-31" in warnings
    assert "names unknown check(s) other-check" in warnings


def test_evidence_and_unknowns_are_never_waived(tmp_path: Path, acme_library) -> None:
    report, _ = scan_with(tmp_path, acme_library, """\
        exceptions:
          - check: "*"
            justification: everything, to prove evidence is untouched
            owner: me
        """)
    kinds = {f.kind for r in report.requirements for f in r.findings if f.waived}
    assert kinds <= {FindingKind.deny, FindingKind.warn} and kinds
    assert not any(f.waived for r in report.requirements for f in r.findings
                   if f.kind in (FindingKind.evidence, FindingKind.unknown))


def test_waived_findings_stay_visible_in_sarif_json_and_checklist(tmp_path: Path, acme_library,
                                                                  sarif_schema) -> None:
    bundle = BUNDLE + deployment("inline", annotations='{kaic.dev/ignore: '
                                 'acme-approved-registry, kaic.dev/ignore-reason: vendor}')
    report, _ = scan_with(tmp_path, acme_library, """\
        exceptions:
          - check: acme-approved-registry
            name: trainer
            justification: upstream image
            owner: ml-team
            expires: "2027-06-30"
          - check: acme-approved-registry
            name: web-b
            justification: gone
            owner: ml-team
            expires: "2020-01-01"
        """, bundle=bundle)
    doc = sarif_document(report)
    jsonschema.validate(doc, sarif_schema)
    run = doc["runs"][0]
    suppressed = {r["message"]["text"].split()[1]: r["suppressions"] for r in run["results"]
                  if "suppressions" in r}
    assert suppressed["trainer"] == [{
        "kind": "external", "status": "accepted", "justification": "upstream image",
        "properties": {"source": f"{tmp_path / '.kaic-exceptions.yaml'}:2", "owner": "ml-team",
                       "expires": "2027-06-30"}}]
    assert suppressed["inline"][0]["kind"] == "inSource"
    assert suppressed["inline"][0]["justification"] == "vendor"
    notes = run["invocations"][0]["toolExecutionNotifications"]
    expired = [n for n in notes if n["level"] == "warning"]
    assert len(expired) == 1 and "expired on 2020-01-01" in expired[0]["message"]["text"]

    data = json.loads(render(report, OutputFormat.json))
    assert data["summary"]["waived"] == 2
    assert data["warnings"] == report.warnings
    checklist = render(report, OutputFormat.checklist)
    assert "2 waived" in checklist and "expired on 2020-01-01" in checklist


def test_requirement_level_exception_accepts_a_missing_capability(tmp_path: Path,
                                                                  acme_library) -> None:
    # Nothing in this bundle is a workload, so ACME-1 has no evidence and no violation: No.
    bundle = "apiVersion: v1\nkind: Namespace\nmetadata: {name: agents}\n"
    plain, _ = scan_with(tmp_path, acme_library, bundle=bundle)
    assert "ACME-1" in [r.id for r in failing_requirements(plain, "must")]
    report, waivers = scan_with(tmp_path, acme_library, """\
        exceptions:
          - requirement: ACME-1
            justification: no workloads in this repository yet
            owner: platform-team
            expires: "2027-12-31"
        """, bundle=bundle)
    acme1 = next(r for r in report.requirements if r.id == "ACME-1")
    assert acme1.status.value == "No" and acme1.waiver == "no workloads in this repository yet"
    assert any("missing capability waived" in n for n in acme1.notes)
    assert "ACME-1" not in [r.id for r in failing_requirements(report, "must")]
    missing = [r for r in sarif_document(report)["runs"][0]["results"]
               if r["properties"]["findingKind"] == "missing" and "ACME-1" in r["message"]["text"]]
    assert missing and missing[0]["suppressions"][0]["justification"].startswith("no workloads")


@pytest.mark.parametrize(("text", "expected"), [
    ("exceptions:\n  - check: x\n    owner: me\n", r":2: exception 1: justification: Field req"),
    ("exceptions:\n  - check: x\n    owner: me\n    justification: ok\n    colour: red\n",
     r":5: exception 1: colour: unknown key \(allowed: requirement, check"),
    ("exceptions:\n  - owner: me\n    justification: ok\n",
     r":2: exception 1: needs `requirement` or `check`"),
    ("exceptions:\n  - check: x\n    owner: me\n    justification: ok\n    expires: soon\n",
     r":5: exception 1: expires: Input should be a valid date"),
    ("exceptions:\n  - check: x\n    owner: me\n    justification: ok\n    expires: 2027\n",
     r':5: exception 1: expires: must be a date like "2027-03-31"'),
    ("exceptions:\n  - check: x\n    owner: '  '\n    justification: ok\n",
     r":3: exception 1: owner: must not be blank"),
    ("exceptions: {check: x}\n", r":1: `exceptions` must be a list"),
    ("waivers: []\n", r":1: unknown key 'waivers'"),
    ("exceptions:\n  - [check, x]\n", r":2: exception 1: must be a mapping"),
    ("exceptions:\n  - check: x\n   owner: me\n", r":3: invalid YAML"),
])
def test_invalid_exception_files_name_file_and_line(tmp_path: Path, text: str,
                                                    expected: str) -> None:
    path = write(tmp_path, ".kaic-exceptions.yaml", text)
    with pytest.raises(InputError, match=r"\.kaic-exceptions\.yaml" + expected):
        load_exceptions(path)


def test_cli_exit_codes_with_exceptions(cli, tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.yaml").write_text(BUNDLE)
    args = ["scan", str(tmp_path / "deploy"), "--policy-dir", str(CUSTOM),
            "--profile-file", str(ACME), "-q"]
    failing = invoke(cli, *args[:-1], "--format", "json")
    assert failing.exit_code == 1 and "ACME-2" in failing.stderr
    # The default file is found in the scanned root.
    write(tmp_path / "deploy", ".kaic-exceptions.yaml", """\
        exceptions:
          - check: acme-approved-registry
            justification: accepted
            owner: platform-team
            expires: "2999-12-31"
          - check: acme-owner-label
            name: web-c
            justification: label is on the pod template
            owner: platform-team
          - check: acme-owner-label
            name: retired-*
            justification: stale
            owner: platform-team
            expires: "2000-01-01"
        """)
    waived = invoke(cli, *args, "--format", "json")
    assert waived.exit_code == 0, waived.stderr
    assert json.loads(waived.stdout)["summary"]["waived"] == 5
    assert "kaic: warning: exception" in waived.stderr and "expired on 2000-01-01" in waived.stderr
    broken = write(tmp_path, "broken.yaml", "exceptions:\n  - check: x\n")
    result = invoke(cli, *args, "--exceptions", str(broken))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"kaic: error: {broken}:2: exception 1: justification: Field required"]


def test_exceptions_audit_lists_used_unused_expired_and_invalid(cli, tmp_path: Path) -> None:
    bundle = BUNDLE + deployment("inline-ok", annotations='{kaic.dev/ignore: '
                                 'acme-approved-registry, kaic.dev/ignore-reason: vendor}')
    bundle += deployment("inline-bad", image="registry.acme.example/x:1",
                         annotations='{kaic.dev/ignore: acme-owner-label}')
    (tmp_path / "app.yaml").write_text(bundle)
    path = write(tmp_path, "exc.yaml", """\
        exceptions:
          - check: acme-approved-registry
            name: web-a
            justification: used
            owner: a
          - check: acme-approved-registry
            name: nothing-here
            justification: unused
            owner: b
          - check: acme-owner-label
            justification: expired
            owner: c
            expires: "2001-01-01"
          - check: no-such-check
            justification: typo
            owner: d
          - check: acme-owner-label
            owner: e
        """)
    result = invoke(cli, "exceptions", "audit", str(tmp_path / "app.yaml"), "--exceptions",
                    str(path), "--policy-dir", str(CUSTOM), "--profile-file", str(ACME))
    assert result.exit_code == 1, result.stderr
    out = result.stdout
    assert f"{path}:2: used by 1 finding(s)" in out
    assert f"{path}:6: unused: check acme-approved-registry nothing-here" in out
    assert f"{path}:10: expired on 2001-01-01" in out
    assert f"{path}:14: invalid: check 'no-such-check' matches no loaded check" in out
    assert f"{path}:17: invalid: exception 5: justification: Field required" in out
    assert "inline: Deployment agents/inline-bad: kaic.dev/ignore without" in out
    assert "inline: Deployment agents/inline-ok: kaic.dev/ignore=acme-approved-registry: " \
        "used" in out
    assert "5 exception(s): 1 used, 1 unused, 1 expired, 2 invalid" in out


def test_audit_is_clean_when_every_exception_is_used(cli, tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(BUNDLE)
    write(tmp_path, ".kaic-exceptions.yaml", """\
        exceptions:
          - check: acme-approved-registry
            justification: all of them
            owner: a
        """)
    result = invoke(cli, "exceptions", "audit", str(tmp_path), "--policy-dir", str(CUSTOM),
                    "--profile-file", str(ACME))
    assert result.exit_code == 0, result.stdout
    assert "1 used, 0 unused, 0 expired, 0 invalid" in result.stdout


def test_lenient_parse_keeps_valid_entries(tmp_path: Path) -> None:
    parsed = parse_exceptions(write(tmp_path, "e.yaml", """\
        exceptions:
          - check: a
            justification: j
            owner: o
          - check: b
        """))
    assert [e.rule.check for e in parsed.entries] == ["a"]
    assert [str(i) for i in parsed.invalid] == [
        f"{tmp_path / 'e.yaml'}:5: exception 2: justification: Field required"]


def test_first_matching_entry_in_file_order_is_reported_and_all_are_counted(
        tmp_path: Path, acme_library) -> None:
    report, waivers = scan_with(tmp_path, acme_library, """\
        exceptions:
          - check: "acme-*"
            name: trainer
            justification: first in the file
            owner: a
          - check: acme-approved-registry
            namespace: ml
            justification: second, exact namespace
            owner: b
        """)
    trainer = next(f for r in report.requirements for f in r.findings
                   if f.waived and f.ref.name == "trainer")
    assert trainer.waiver == "first in the file"
    path = tmp_path / ".kaic-exceptions.yaml"
    assert waivers.usage == {(path, 2): 1, (path, 6): 1}
