"""SARIF 2.1.0 for GitHub code scanning: one rule per check, one result per violation.

Conventions (GitHub's documented subset): `ruleId` + `ruleIndex`, `security-severity` as a
string number, `partialFingerprints` that survive line shifts, URIs relative to the repository
root (kaic reports paths relative to the working directory, see sources/manifests.py). Objects
from a cluster or snapshot have no file: they carry a logical location, and a physical location
on the snapshot file or on a stable `k8s/<namespace>/<kind>/<name>` pseudo-path.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_json

from scanner.models import (
    CheckInfo,
    Finding,
    FindingKind,
    ScanReport,
    Severity,
    Status,
    WaiverDetail,
)

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/kaic-dev/kaic"
SECURITY_SEVERITY = {
    Severity.critical: "9.5",
    Severity.high: "8.0",
    Severity.medium: "5.5",
    Severity.low: "3.0",
}
DENY_LEVEL = {
    Severity.critical: "error",
    Severity.high: "error",
    Severity.medium: "warning",
    Severity.low: "warning",
}
FINGERPRINT_KEY = "kaicFindingHash/v1"


def _rule(check: CheckInfo, report: ScanReport) -> dict[str, Any]:
    served = sorted({rid for ids in check.requirements.values() for rid in ids})
    in_profile = sorted(r.id for r in report.requirements if check.id in r.checks)
    help_md = f"**{check.title}**\n\n{check.description}\n\n"
    if in_profile:
        help_md += f"Requirements ({report.profile}): {', '.join(in_profile)}\n\n"
    if check.remediation:
        help_md += f"### Remediation\n\n{check.remediation}\n"
    if check.docs:
        help_md += "\n### References\n\n" + "".join(f"- {d}\n" for d in check.docs)
    rule: dict[str, Any] = {
        "id": check.id,
        "name": "".join(part.capitalize() for part in check.id.split("-")),
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.description},
        "help": {"text": check.remediation or check.description, "markdown": help_md},
        "defaultConfiguration": {"level": DENY_LEVEL[check.severity]},
        "properties": {
            "requirements": served,
            "tags": ["security", "kubernetes", "ai-conformance", *served],
            "security-severity": SECURITY_SEVERITY[check.severity],
            "precision": "high",
            "problem.severity": "error" if DENY_LEVEL[check.severity] == "error" else "warning",
        },
    }
    if check.docs:
        rule["helpUri"] = check.docs[0]
    return rule


def _root_uri(report: ScanReport) -> str:
    """Where findings without an object point: the scanned root, or for a cluster (root
    `k8s://host:port`) the pseudo-path `k8s/_cluster`, relative like every other location."""
    root = report.roots[0] if report.roots else "."
    return "k8s/_cluster" if root.startswith("k8s://") else root


def _location(finding: Finding, report: ScanReport) -> dict[str, Any]:
    location: dict[str, Any] = {}
    loc = finding.location
    if loc is not None and not loc.uri.startswith("k8s://"):
        physical: dict[str, Any] = {"artifactLocation": {"uri": loc.uri, "uriBaseId": "SRCROOT"}}
        if loc.line:
            physical["region"] = {"startLine": loc.line}
        location["physicalLocation"] = physical
    elif finding.ref is not None:
        ref = finding.ref
        pseudo = "/".join(p for p in ("k8s", ref.namespace or "_cluster", ref.kind, ref.name) if p)
        location["physicalLocation"] = {"artifactLocation": {"uri": pseudo}}
    else:
        root = _root_uri(report)
        location["physicalLocation"] = {"artifactLocation": {"uri": root}}
    if finding.ref is not None:
        ref = finding.ref
        fqn = "/".join(p for p in (ref.namespace, ref.kind, ref.name) if p)
        location["logicalLocations"] = [
            {"name": ref.name or ref.kind, "fullyQualifiedName": fqn, "kind": "resource"}
        ]
    return location


def _result(finding: Finding, rule_index: int, check: CheckInfo, report: ScanReport,
            requirements: list[str]) -> dict[str, Any]:
    level = DENY_LEVEL[check.severity] if finding.kind is FindingKind.deny else "note"
    text = finding.message
    approximate = finding.location is not None and finding.location.approximate
    if approximate:
        text += (" (line is approximate: the field is not written in the source, so this is "
                 "the nearest enclosing line)")
    result: dict[str, Any] = {
        "ruleId": check.id,
        "ruleIndex": rule_index,
        "level": level,
        "kind": "fail",
        "message": {"text": text},
        "locations": [_location(finding, report)],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {
            "requirements": requirements,
            "findingKind": finding.kind.value,
            **({"field": finding.field} if finding.field else {}),
            **({"approximateLocation": True} if approximate else {}),
        },
    }
    if finding.waived:
        result["suppressions"] = [_suppression(finding.waiver, finding.waiver_detail)]
    if finding.baseline_state:
        # SARIF's own vocabulary for "seen in the baseline run" (§3.27.24).
        result["baselineState"] = finding.baseline_state
    return result


def _suppression(justification: str | None, detail: WaiverDetail | None) -> dict[str, Any]:
    """SARIF suppression: `inSource` for an annotation on the object, `external` for the
    exceptions file; who accepted it and until when go in the property bag."""
    suppression: dict[str, Any] = {
        "kind": detail.kind if detail is not None else "external",
        "status": "accepted",
        "justification": justification or "waived",
    }
    if detail is not None:
        extra = {"source": detail.source, "owner": detail.owner, "expires": detail.expires}
        suppression["properties"] = {k: v for k, v in extra.items() if v}
    return suppression


def _missing_capability_results(report: ScanReport, index: dict[str, int],
                                info: dict[str, CheckInfo]) -> list[dict[str, Any]]:
    """A requirement that is No without any violation has nothing to point at: report it once,
    on its first check's rule, at the scanned root, so the gate's failure is visible in code
    scanning too."""
    results = []
    root = _root_uri(report)
    for r in report.requirements:
        if r.status is not Status.no or any(f.kind is FindingKind.deny for f in r.findings):
            continue
        if not r.checks or r.checks[0] not in index:
            continue
        check = info[r.checks[0]]
        text = (f"{r.id} [{r.level.value}] {r.title}: No. No evidence of this capability in "
                f"the scanned input ({check.title}).")
        result: dict[str, Any] = {
            "ruleId": check.id,
            "ruleIndex": index[check.id],
            "level": "error" if r.level.value == "MUST" else "warning",
            "kind": "fail",
            "message": {"text": text},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": root}}}],
            "partialFingerprints": {FINGERPRINT_KEY: f"missing:{report.profile}:{r.id}"},
            "properties": {"requirements": [r.id], "findingKind": "missing"},
        }
        if r.waiver is not None:
            result["suppressions"] = [_suppression(r.waiver, r.waiver_detail)]
        results.append(result)
    return results


def sarif_document(report: ScanReport) -> dict[str, Any]:
    """The SARIF log as a dict (tests validate it against the 2.1.0 schema)."""
    checks = sorted(report.checks, key=lambda c: c.id)
    index = {c.id: i for i, c in enumerate(checks)}
    info = {c.id: c for c in checks}
    reqs_of: dict[str, list[str]] = {}
    for r in report.requirements:
        for cid in r.checks:
            reqs_of.setdefault(cid, []).append(r.id)
    results: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for requirement in report.requirements:
        for f in requirement.findings:
            if f.kind not in (FindingKind.deny, FindingKind.warn):
                continue
            if (f.check_id, f.fingerprint) in seen or f.check_id not in index:
                continue
            seen.add((f.check_id, f.fingerprint))
            results.append(_result(f, index[f.check_id], info[f.check_id], report,
                                   reqs_of.get(f.check_id, [])))
    results.extend(_missing_capability_results(report, index, info))
    results.sort(key=lambda r: (
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        r["locations"][0]["physicalLocation"].get("region", {}).get("startLine", 0),
        r["ruleId"], r["message"]["text"],
    ))
    notifications = [
        {"level": "error", "message": {"text": f"check {e.check_id} failed: {e.message}"},
         "descriptor": {"id": e.check_id}}
        for e in report.errors
    ] + [
        {"level": "note", "message": {"text": f"{r.id}: {note}"}}
        for r in report.requirements if r.status is Status.unknown for note in r.notes
    ] + [
        {"level": "note", "message": {"text": f"skipped {s.uri}: {s.reason}"}}
        for s in report.skipped
    ] + [
        {"level": "warning", "message": {"text": warning}} for warning in report.warnings
    ]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "kaic",
            "version": report.tool_version,
            "semanticVersion": report.tool_version,
            "informationUri": INFORMATION_URI,
            "rules": [_rule(c, report) for c in checks],
        }},
        "automationDetails": {"id": f"kaic/{report.profile}/"},
        "originalUriBaseIds": {"SRCROOT": {"description": {"text": "the working directory"}}},
        "invocations": [{
            "executionSuccessful": not report.errors,
            "toolExecutionNotifications": notifications,
        }],
        "results": results,
        "properties": {
            "profile": report.profile,
            "mode": report.mode,
            "requirements": {r.id: r.status.value for r in report.requirements},
        },
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render_sarif(report: ScanReport) -> str:
    """SARIF 2.1.0 JSON text, indented by two spaces.

    Serialised by pydantic-core (Rust), which writes the same bytes as
    `json.dumps(doc, indent=2, ensure_ascii=False)`: the standard library's C encoder does not
    indent, and its Python one took ~30 ms per 1,000 results.
    """
    return to_json(sarif_document(report), indent=2).decode() + "\n"
