"""A check that hits a Rego runtime error: only its requirements become Unknown, with the error
in every report; `--strict` turns it (and unread files) into exit 2."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from scanner.evaluate import prepare_engine, scan
from scanner.policies import load_library
from scanner.profiles import load_profile
from scanner.report import OutputFormat, render
from scanner.sources import load_inventory
from tests.hardening_support import (
    HOSTILE_POLICIES,
    assert_clean_exit,
    run_cli,
    validate_output,
)

ODD = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: odd}
    spec:
      replicas: "three"
      template: {spec: {containers: [{name: c, image: nginx}]}}
    """)
PLAIN = ODD.replace('"three"', "3")




def test_runtime_error_makes_only_that_checks_requirements_unknown(tmp_path: Path) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(ODD)
    library = load_library(extra_dirs=[HOSTILE_POLICIES])
    report = scan(load_inventory([str(path)]), library, load_profile("whitepaper-0.9"),
                  engine=prepare_engine(library))
    assert [e.check_id for e in report.errors] == ["hardening-fragile"]
    assert "`add` expects numeric argument" in report.errors[0].message
    by_id = {r.id: r for r in report.requirements}
    assert by_id["OBS-6.2"].status.value == "Unknown"
    assert any("hardening-fragile could not be evaluated" in n for n in by_id["OBS-6.2"].notes)
    # The careless check, evaluated in the same engine, still reported its violation.
    assert by_id["SEC-5.3"].status.value == "No"
    assert any(f.check_id == "hardening-careless" and f.kind.value == "deny"
               for f in by_id["SEC-5.3"].findings)
    # Every format carries the error.
    for fmt in (OutputFormat.json, OutputFormat.sarif, OutputFormat.table,
                OutputFormat.checklist, OutputFormat.junit):
        text = render(report, fmt)
        validate_output(fmt, text)
        assert "hardening-fragile" in text, fmt
    sarif = json.loads(render(report, OutputFormat.sarif))
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert any("hardening-fragile" in n["message"]["text"]
               for n in invocation["toolExecutionNotifications"])


def test_strict_exits_2_but_still_writes_the_reports(tmp_path: Path) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(ODD)
    out = tmp_path / "out"
    lenient = run_cli(["scan", str(path), "-q", "--fail-on", "never"])
    assert_clean_exit(lenient)
    assert lenient.exit_code == 0
    assert "kaic: warning: 1 problem(s)" in lenient.stderr and "hardening-fragile" in lenient.stderr
    strict = run_cli(["scan", str(path), "--strict", "--fail-on", "never", "--output-dir",
                      str(out), "-F", "json", "-F", "sarif"])
    assert_clean_exit(strict)
    assert strict.exit_code == 2
    assert strict.stderr.startswith("kaic: error: --strict: check hardening-fragile could not "
                                    "be evaluated")
    report = json.loads((out / "kaic.json").read_text())
    assert report["errors"][0]["check_id"] == "hardening-fragile"


def test_strict_passes_a_clean_scan_and_ignores_non_objects(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(PLAIN + "---\nfoo: bar\n")  # a skipped non-object is not a problem
    result = run_cli(["scan", str(path), "--strict", "-q", "--fail-on", "never"])
    assert_clean_exit(result)
    assert result.exit_code == 0 and "warning" not in result.stderr


def test_strict_failure_counts_every_problem(tmp_path: Path) -> None:
    (tmp_path / "odd.yaml").write_text(ODD.replace("nginx", "x").replace("template", "tmpl")
                                       + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
                                       "spec: {containers: \"x\"}\n")
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "missing")
    result = run_cli(["scan", str(tmp_path), "--strict", "-q"])
    assert_clean_exit(result)
    assert result.exit_code == 2 and "(and 2 more problem(s))" in result.stderr
