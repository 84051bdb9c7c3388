"""JUnit XML: one testcase per requirement (classname = category), for CI and sonobuoy.

A requirement that fails the gate's test (status No, or active violations) is a <failure>;
Unknown is <skipped> with the reason; Full and Partial-without-violations pass.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from scanner.models import FindingKind, ScanReport, Status
from scanner.report.text import strip_control

_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    """XML 1.0 cannot carry control characters even escaped: drop them; C1 controls and
    bidirectional overrides, legal in XML, go too (CI log viewers print them raw)."""
    return _XML_INVALID.sub("", "\n".join(strip_control(line) for line in text.split("\n")))


def render_junit(report: ScanReport) -> str:
    """The report as a JUnit XML document (one testsuite)."""
    cases = report.requirements
    failures = sum(r.fails() for r in cases)
    skipped = sum(r.status is Status.unknown for r in cases)
    suite = ET.Element("testsuite", {
        "name": f"kaic {report.profile}",
        "tests": str(len(cases)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
        "time": f"{report.summary.duration_seconds:.3f}",
    })
    props = ET.SubElement(suite, "properties")
    for name, value in (("profile", report.profile), ("mode", report.mode),
                        ("kubernetes_version", report.kubernetes_version or ""),
                        ("kaic_version", report.tool_version)):
        ET.SubElement(props, "property", {"name": name, "value": _clean(value)})
    for r in cases:
        case = ET.SubElement(suite, "testcase", {
            "classname": r.category, "name": f"{r.id} [{r.level.value}] {_clean(r.title)}",
            "time": "0",
        })
        case_props = ET.SubElement(case, "properties")
        for name, value in (("level", r.level.value), ("status", r.status.value),
                            ("checks", ",".join(r.checks))):
            ET.SubElement(case_props, "property", {"name": name, "value": value})
        notes = _clean("\n".join(r.notes))
        if r.fails():
            violations = [f for f in r.findings if f.kind is FindingKind.deny and not f.waived]
            failure = ET.SubElement(case, "failure", {
                "type": r.status.value,
                "message": _clean(f"{r.id} is {r.status.value}: "
                                  + (f"{len(violations)} violation(s)" if violations
                                     else "no evidence of this capability")),
            })
            lines = []
            for f in violations:
                loc = f.location
                where = f"{loc.uri}:{loc.line}" if loc and loc.line else (loc.uri if loc else "")
                # One line per violation, whatever newlines the object's name carried.
                lines.append(strip_control(f"{where} [{f.check_id}] {f.message}").strip())
            failure.text = _clean("\n".join(lines) or notes)
        elif r.status is Status.unknown:
            ET.SubElement(case, "skipped", {"message": notes or "unknown"})
        ET.SubElement(case, "system-out").text = notes
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, "unicode") + "\n"
