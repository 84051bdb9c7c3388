"""Baselines: fail only on problems that are new since a recorded scan.

`kaic scan --write-baseline FILE` records the fingerprints of today's active violations and the
requirements that are No without any violation (a missing capability has no finding to
fingerprint). `kaic scan --baseline FILE` then fails the gate only on what is not in it. The
baseline may also be a previous `--format json` report or `--format sarif` log.

Fingerprints hash the check, the object's group/kind/namespace/name, the field and the message:
no paths, no line numbers, so they survive reformatting, moved documents and unrelated edits.
Waived findings are left out of a baseline on purpose: when a waiver expires, its finding must
fail again instead of hiding behind the baseline.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.errors import InputError
from scanner.evaluate import failing_requirements
from scanner.inventory import Inventory
from scanner.limits import read_text
from scanner.models import Finding, FindingKind, RequirementResult, ScanReport, Status

SCHEMA = "kaic.dev/baseline/v1"
REPORT_SCHEMA = "kaic.dev/report/v1"
SARIF_FINGERPRINT = "kaicFindingHash/v1"
NEW, UNCHANGED = "new", "unchanged"
MARKED = (FindingKind.deny, FindingKind.warn)


def _active_denies(r: RequirementResult) -> list[Finding]:
    return [f for f in r.findings if f.kind is FindingKind.deny and not f.waived]


def _missing(r: RequirementResult) -> bool:
    """No, and not because of a violation: the capability was not found at all. A missing
    capability accepted by an exception is left out, so it fails again when that expires."""
    return r.status is Status.no and r.waiver is None and not _active_denies(r)


def baseline_document(report: ScanReport) -> dict[str, Any]:
    """The baseline of a report: active violations (with enough context to review the file in
    a diff) and missing capabilities, sorted so the file only changes when the findings do."""
    seen: dict[str, dict[str, str]] = {}
    for r in report.requirements:
        for f in _active_denies(r):
            seen.setdefault(f.fingerprint, {
                "fingerprint": f.fingerprint,
                "check": f.check_id,
                "object": f.ref.display() if f.ref else "",
                "message": f.message,
            })
    return {
        "schema": SCHEMA,
        "tool_version": report.tool_version,
        "profile": report.profile,
        "findings": sorted(seen.values(), key=lambda e: (e["check"], e["object"], e["message"],
                                                         e["fingerprint"])),
        "missing": sorted(r.id for r in report.requirements if _missing(r)),
    }


def render_baseline(report: ScanReport) -> str:
    """The baseline file's text (JSON)."""
    return json.dumps(baseline_document(report), indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Baseline:
    """What a previous scan already had: violation fingerprints and missing requirements."""

    path: Path
    fingerprints: frozenset[str] = field(default_factory=frozenset)
    missing: frozenset[str] = field(default_factory=frozenset)
    source: str = "baseline"


def load_baseline(path: Path) -> Baseline:
    """Read a baseline file, a JSON report or a SARIF log; InputError naming the file if it is
    none of these."""
    text = read_text(path, str(path), missing="no such file (create it with --write-baseline)")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    try:
        if isinstance(doc, dict) and doc.get("schema") == SCHEMA:
            return Baseline(
                path=path,
                fingerprints=frozenset(str(e["fingerprint"]) for e in doc.get("findings", [])),
                missing=frozenset(str(m) for m in doc.get("missing", [])),
            )
        if isinstance(doc, dict) and doc.get("schema_version") == REPORT_SCHEMA:
            return _from_report(path, doc)
        if isinstance(doc, dict) and doc.get("version") == "2.1.0" and "runs" in doc:
            return _from_sarif(path, doc)
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: malformed baseline: missing or wrong {exc}") from None
    raise InputError(f"{path}: not a kaic baseline, JSON report or SARIF log "
                     f"(expected \"schema\": \"{SCHEMA}\")")


def _from_report(path: Path, doc: dict[str, Any]) -> Baseline:
    fingerprints, missing = set(), set()
    for r in doc["requirements"]:
        active = [f for f in r.get("findings", [])
                  if f.get("kind") == "deny" and not f.get("waived")]
        fingerprints.update(str(f["fingerprint"]) for f in active)
        if r.get("status") == Status.no.value and not active:
            missing.add(str(r["id"]))
    return Baseline(path, frozenset(fingerprints), frozenset(missing), source="json report")


def _from_sarif(path: Path, doc: dict[str, Any]) -> Baseline:
    fingerprints, missing = set(), set()
    for run in doc["runs"]:
        for result in run.get("results", []):
            if result.get("suppressions"):
                continue
            value = str((result.get("partialFingerprints") or {}).get(SARIF_FINGERPRINT, ""))
            if value.startswith("missing:"):
                missing.add(value.rsplit(":", 1)[-1])
            elif value and (result.get("properties") or {}).get("findingKind") == "deny":
                fingerprints.add(value)
    return Baseline(path, frozenset(fingerprints), frozenset(missing), source="sarif")


def mark(baseline: Baseline) -> Callable[[list[Finding], Inventory], list[Finding]]:
    """A scan hook that labels each violation and advisory `new` or `unchanged`."""

    def hook(findings: list[Finding], inventory: Inventory) -> list[Finding]:
        return [
            f.model_copy(update={
                "baseline_state": UNCHANGED if f.fingerprint in baseline.fingerprints else NEW})
            if f.kind in MARKED else f
            for f in findings
        ]

    return hook


def is_new_failure(r: RequirementResult, baseline: Baseline) -> bool:
    """A failing requirement is new when it has an active violation the baseline lacks, or is
    a missing capability the baseline did not already record."""
    active = _active_denies(r)
    if any(f.fingerprint not in baseline.fingerprints for f in active):
        return True
    return not active and r.id not in baseline.missing


def new_failures(report: ScanReport, fail_on: str, baseline: Baseline) -> list[RequirementResult]:
    """The requirements that fail the gate because of something new since the baseline."""
    return [r for r in failing_requirements(report, fail_on) if is_new_failure(r, baseline)]


def count_new(report: ScanReport) -> tuple[int, int]:
    """(new, unchanged) active violations, counted once per fingerprint."""
    states: dict[str, str] = {}
    for r in report.requirements:
        for f in _active_denies(r):
            if f.baseline_state:
                states[f.fingerprint] = f.baseline_state
    new = sum(s == NEW for s in states.values())
    return new, len(states) - new
