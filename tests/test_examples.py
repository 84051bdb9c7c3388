"""The bundled examples end to end: exact field lines in SARIF, statuses, stable golden outputs.

Golden files live in tests/golden/; regenerate them with KAIC_UPDATE_GOLDEN=1 after an
intended change, and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest

from scanner.models import Status
from scanner.report import OutputFormat, render
from scanner.report.sarif import sarif_document
from scanner.sources.locate import parse_field_path
from tests.conftest import FIXTURES, ROOT, run_scan

GOLDEN = Path(__file__).parent / "golden"
BAD = FIXTURES / "examples" / "bad-bundle"
GOOD = FIXTURES / "examples" / "ai-platform"
FOUNDATION = {"SEC-5.1", "SEC-5.3", "SEC-5.5", "NET-3.1"}


@pytest.fixture(scope="module")
def bad_report(library):
    cwd = Path.cwd()
    os.chdir(ROOT)  # URIs are relative to the working directory, as in CI
    try:
        return run_scan([BAD.relative_to(ROOT)], library=library)
    finally:
        os.chdir(cwd)


def test_every_violation_points_at_its_field_line(bad_report, sarif_schema) -> None:
    doc = sarif_document(bad_report)
    jsonschema.validate(doc, sarif_schema)
    located = 0
    for result in doc["runs"][0]["results"]:
        props = result["properties"]
        if props["findingKind"] != "deny" or "field" not in props:
            continue
        physical = result["locations"][0]["physicalLocation"]
        lines = (ROOT / physical["artifactLocation"]["uri"]).read_text().splitlines()
        text = lines[physical["region"]["startLine"] - 1]
        last = parse_field_path(props["field"])[-1]
        if props.get("approximateLocation"):
            continue
        if isinstance(last, int):
            assert text.lstrip().startswith("-"), (props["field"], text)
        else:
            assert re.match(rf"\s*(- )?{re.escape(last)}:", text), (props["field"], text)
        located += 1
    assert located >= 4


def test_bad_bundle_violates_the_four_foundation_requirements(bad_report) -> None:
    for r in bad_report.requirements:
        if r.id in FOUNDATION:
            assert r.status in (Status.no, Status.partial), r.id
            assert any(f.kind.value == "deny" for f in r.findings), r.id


def test_good_bundle_is_full_on_the_four_foundation_requirements(library) -> None:
    report = run_scan([GOOD], library=library)
    status = {r.id: r.status for r in report.requirements}
    assert {rid: status[rid] for rid in FOUNDATION} == dict.fromkeys(FOUNDATION, Status.full)


@pytest.mark.parametrize("fmt", [OutputFormat.sarif, OutputFormat.checklist, OutputFormat.json])
def test_golden_outputs(bad_report, fmt: OutputFormat) -> None:
    text = render(bad_report, fmt)
    if fmt is OutputFormat.json:
        data = json.loads(text)
        data["summary"]["duration_seconds"] = 0
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    golden = GOLDEN / f"bad-bundle.{fmt.filename.split('.', 1)[1]}"
    if os.environ.get("KAIC_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.is_file(), f"missing {golden}; run with KAIC_UPDATE_GOLDEN=1"
    assert text == golden.read_text()
