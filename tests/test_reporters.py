"""Reporters: SARIF against the official schema, JUnit, checklist, CNCF draft, JSON, table."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml

from scanner.errors import ReportError
from scanner.models import ScanReport
from scanner.report import OutputFormat, render
from scanner.report.sarif import sarif_document
from tests.conftest import ROOT, run_scan


def test_every_format_renders(team: ScanReport) -> None:
    for fmt in OutputFormat:
        if fmt is OutputFormat.cncf:
            continue
        assert render(team, fmt).strip()


def test_sarif_is_schema_valid_with_rules_results_and_regions(team: ScanReport,
                                                              sarif_schema) -> None:
    doc = sarif_document(team)
    jsonschema.validate(doc, sarif_schema)
    run = doc["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rules == sorted(rules)
    deny = [r for r in run["results"] if r["properties"]["findingKind"] == "deny"]
    assert len(deny) == 1
    result = deny[0]
    assert rules[result["ruleIndex"]] == result["ruleId"] == "team-deny"
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 6}
    assert result["properties"]["requirements"] == ["T-2"]
    rule = run["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["properties"]["security-severity"] == "5.5"
    assert rule["properties"]["requirements"] == ["T-2"]
    notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert any("team-broken" in n for n in notes)


def test_sarif_is_stable_across_runs(team: ScanReport) -> None:
    assert render(team, OutputFormat.sarif) == render(team, OutputFormat.sarif)


def test_sarif_text_is_the_standard_librarys_indented_json() -> None:
    # The fast serialiser must write exactly what json.dumps(indent=2) writes, non-ASCII
    # text (the whitepaper's Chinese titles), escapes and numbers included.
    report = run_scan([ROOT / "fixtures" / "examples" / "bad-bundle"])
    doc = sarif_document(report)
    doc["runs"][0]["properties"]["probe"] = ["漢字 é", "\u2028 \x00 </script>", 1.5, -0.0,
                                             10**20, {}, []]
    text = render(report, OutputFormat.sarif)
    assert text == json.dumps(sarif_document(report), indent=2, ensure_ascii=False) + "\n"
    from scanner.report.sarif import to_json

    assert to_json(doc, indent=2).decode() == json.dumps(doc, indent=2, ensure_ascii=False)


def test_junit_has_one_testcase_per_requirement(team: ScanReport) -> None:
    root = ET.fromstring(render(team, OutputFormat.junit))
    cases = root.findall("testcase")
    assert [c.get("classname") for c in cases] == ["ops"] * 5
    outcome = {c.get("name").split()[0]: [e.tag for e in c if e.tag != "properties"]
               for c in cases}
    assert outcome["T-1"] == ["system-out"]
    assert outcome["T-2"] == ["failure", "system-out"]
    assert outcome["T-4"] == ["skipped", "system-out"]
    assert root.get("failures") == "1" and root.get("skipped") == "3"


def test_checklist_escapes_hostile_text(team: ScanReport) -> None:
    hostile = team.model_copy(update={"requirements": [
        team.requirements[0].model_copy(update={"notes": ["a|b <script>x</script> \x1b[31mred"]})
    ]})
    out = render(hostile, OutputFormat.checklist)
    assert "<script>" not in out and "\x1b" not in out and "a\\|b" in out


def test_json_report_round_trips(team: ScanReport) -> None:
    data = json.loads(render(team, OutputFormat.json))
    assert ScanReport.model_validate(data) == team
    assert {r["id"]: r["status"] for r in data["requirements"]}["T-2"] == "Partial"


def test_cncf_draft_needs_a_cncf_profile(team: ScanReport) -> None:
    with pytest.raises(ReportError, match="needs a CNCF profile"):
        render(team, OutputFormat.cncf)


def test_cncf_draft_lists_every_requirement_of_the_version(tmp_path) -> None:
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    report = run_scan([tmp_path / "ns.yaml"], profile="cncf-1.36")
    draft = yaml.safe_load(render(report, OutputFormat.cncf, evidence_files=["kaic.json"]))
    assert draft["metadata"]["kubernetesVersion"] == "v1.36"
    ids = [i["id"] for items in draft["spec"].values() for i in items]
    assert len(ids) == 14 and "dra_support" not in ids
    statuses = {i["status"] for items in draft["spec"].values() for i in items}
    assert statuses <= {"Implemented", "Partially Implemented", "Not Implemented", ""}
