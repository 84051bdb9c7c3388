"""Runs every check of a profile over an Inventory and decides each requirement's status.

One engine, modules compiled once, the input set once; then one query per check. A Rego runtime
error in one check makes only that check's requirements Unknown (with the error in the notes).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from scanner import __version__, parallel
from scanner.engine import Engine, RegoRuntimeError, close_engine, create_engine
from scanner.errors import PolicyError
from scanner.inventory import Inventory, Origin
from scanner.models import (
    CategoryInfo,
    CheckError,
    Finding,
    FindingKind,
    Level,
    ObjectRef,
    RequirementResult,
    ScanReport,
    ScanSummary,
    Status,
)
from scanner.policies import Check, PolicyLibrary
from scanner.profiles import Profile, Requirement

RULES = (FindingKind.deny, FindingKind.warn, FindingKind.evidence, FindingKind.unknown)
NOTE_SAMPLES = 3
STATIC_ONLY = "static evidence only: the official proof of this requirement runs workloads"
NO_CHECK = "no check yet"
BATCH_PACKAGE = "kaic_internal.batch"
# Each batch module gets its own name: regorus adds a module under a path it already has
# rather than replacing it, and two `results` rules in one package conflict.
_batch_numbers = itertools.count(1)

# A hook that may mark findings as waived (exceptions, inline annotations); identity by default.
Waiver = Callable[[list[Finding], Inventory], list[Finding]]


@dataclass
class CheckOutcome:
    """Raw results of one check, before they become Findings."""

    check: Check
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    unread: list[str] = field(default_factory=list)  # inputs the collector could not read


def prepare_engine(library: PolicyLibrary, engine_name: str = "regorus",
                   engine: Engine | None = None) -> Engine:
    """An engine with every module of the library loaded (tests excluded)."""
    engine = engine or create_engine(engine_name)
    for path, text in library.modules.items():
        engine.add_module(path, text)
    return engine


def fingerprint(check_id: str, ref: ObjectRef | None, field_path: str | None, message: str) -> str:
    """Stable across runs, machines and line shifts: no paths, no line numbers."""
    parts = [check_id]
    if ref is not None:
        group = ref.api_version.rsplit("/", 1)[0] if "/" in ref.api_version else ""
        parts += [group, ref.kind, ref.namespace, ref.name]
    parts += [field_path or "", message]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _as_items(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        # A Rego object rule (deny[msg] := ...) arrives as an object: keep its values.
        return list(value.values())
    return [value]


def _ref_text(value: Any) -> str:
    """A `ref` field as text whatever the policy put there (a name read from a hostile manifest
    may be a number, a list or null)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _finding_parts(item: Any) -> tuple[str, ObjectRef | None, str | None]:
    """(message, ref, field) of one rule result; tolerates conftest-style plain strings."""
    if isinstance(item, dict):
        message = item.get("msg")
        message = message if isinstance(message, str) else str(message or item)
        raw_ref = item.get("ref")
        ref = (
            ObjectRef.model_validate({
                k: _ref_text(raw_ref.get(k, raw_ref.get("api_version") if k == "apiVersion"
                                         else None))
                for k in ("apiVersion", "kind", "namespace", "name")})
            if isinstance(raw_ref, dict) else None
        )
        field_path = item.get("field") if isinstance(item.get("field"), str) else None
        return message, ref, field_path
    return str(item), None, None


def _make_finding(check: Check, kind: FindingKind, message: str, ref: ObjectRef | None,
                  field_path: str | None, origin: Origin | None) -> Finding:
    return Finding(
        check_id=check.id,
        kind=kind,
        message=message,
        ref=ref,
        field=field_path,
        location=origin.locate(field_path) if origin is not None else None,
        fingerprint=fingerprint(check.id, ref, field_path, message),
    )


def rules_query(package: str) -> str:
    """A query for just the result rules of a package, each as `[value]` or `[]` when the
    package does not define it. Asking for `data.<package>` would also evaluate, serialise
    and parse every helper rule (e.g. whole workload objects per group): measured ~2x the
    peak memory of a 10k-object scan."""
    rules = ", ".join(f'"{k.value}": [x | x := data.{package}.{k.value}]' for k in RULES)
    return "{" + rules + "}"


def _unwrap(document: Any) -> dict[str, Any]:
    """{rule: value} from a `rules_query` result, leaving out undefined rules."""
    if not isinstance(document, dict):
        return {}
    return {k: v[0] for k, v in document.items() if isinstance(v, list) and v}


def _query_all(engine: Engine, checks: list[Check]) -> dict[str, Any] | None:
    """Every check's result rules in one query, so that library rules shared by the checks
    (objects by kind, workload classification, pod specs) are computed once per scan rather
    than once per check. None when any check fails at run time: the caller then queries check
    by check, so the error stays with the check that raised it."""
    if len(checks) < 2:
        return None
    # A module rather than a query: regorus refuses long ad-hoc queries.
    entries = ",\n\t".join(f'"{c.package}": {rules_query(c.package)}' for c in checks)
    number = next(_batch_numbers)
    package = f"{BATCH_PACKAGE}{number}"
    try:
        engine.add_module(f"kaic-internal/batch{number}.rego",
                          f"package {package}\n\nresults := {{\n\t{entries},\n}}\n")
        result = engine.query(f"data.{package}.results")
    except (RegoRuntimeError, PolicyError):
        return None
    return result if isinstance(result, dict) else None


def _query_batches(engine: Engine, checks: list[Check], objects: int,
                   jobs: int) -> dict[str, Any]:
    """Result documents by package, from batch queries over groups of checks run side by
    side (each group in one process pays the shared library rules once). A group whose batch
    failed, or whose process did not deliver, is left out: its checks are then queried one by
    one here, so a runtime error stays with its check."""
    # Each group needs two checks or more for a batch query.
    workers = parallel.worker_count(jobs, objects, len(checks) // 2)
    if workers == 1:
        return _query_all(engine, checks) or {}
    # Dealt round-robin in (scope, id) order: workload checks, which cost per workload, are
    # spread evenly over the groups.
    ordered = sorted(checks, key=lambda c: (c.metadata.custom.scope, c.id))
    groups = [ordered[i::workers] for i in range(workers)]
    merged: dict[str, Any] = {}
    for result in parallel.run_forked([partial(_query_all, engine, g) for g in groups]):
        if isinstance(result, dict):
            merged.update(result)
    return merged


def run_checks(engine: Engine, checks: Iterable[Check], inventory: Inventory,
               jobs: int = 0) -> list[CheckOutcome]:
    """Evaluate each check's package once over the whole inventory.

    With the regorus engine the checks run as batch queries, split over `jobs` processes
    (0: one per CPU for large inputs, see scanner/parallel.py). Findings are built after every
    query has run, in file order: locating a field reads its file, and visiting each file once
    (rather than once per check, in Rego's result order) keeps location lookups linear in the
    number of findings.
    """
    engine.set_input_json(inventory.input_json())
    checks = list(checks)
    outcomes = []
    pending: list[tuple[str, int, CheckOutcome, FindingKind, str, ObjectRef | None, str | None,
                        Origin | None]] = []
    # regorus takes ad-hoc queries; the opa engine's Data API only data references.
    rules_only = getattr(engine, "name", "") == "regorus"
    batch = _query_batches(engine, checks, len(inventory.objects), jobs) if rules_only else {}
    for check in checks:
        outcome = CheckOutcome(check=check)
        outcomes.append(outcome)
        try:
            if check.package in batch:
                document = batch[check.package]
            else:
                document = engine.query(rules_query(check.package) if rules_only
                                        else f"data.{check.package}")
        except RegoRuntimeError as exc:
            outcome.error = str(exc)
            continue
        if rules_only:
            document = _unwrap(document)
        elif not isinstance(document, dict):
            document = {}
        for kind in RULES:
            for item in _as_items(document.get(kind.value)):
                message, ref, field_path = _finding_parts(item)
                origin = inventory.find(ref) if ref is not None else None
                uri = origin.uri if origin is not None else ""
                pending.append((uri, len(pending), outcome, kind, message, ref, field_path,
                                origin))
    pending.sort(key=lambda p: (p[0], p[1]))
    for _, _, outcome, kind, message, ref, field_path, origin in pending:
        outcome.findings.append(_make_finding(outcome.check, kind, message, ref, field_path,
                                              origin))
    for outcome in outcomes:
        outcome.findings.sort(key=_finding_order)
    return outcomes


def _finding_order(f: Finding) -> tuple[Any, ...]:
    loc = f.location
    return (
        RULES.index(f.kind),
        loc.uri if loc else "",
        (loc.line or 0) if loc else 0,
        f.ref.display() if f.ref else "",
        f.field or "",
        f.message,
    )


def decide_status(has_deny: bool, has_evidence: bool, has_unknown: bool) -> Status:
    """DESIGN's status table."""
    if has_deny:
        return Status.partial if has_evidence else Status.no
    if has_evidence:
        return Status.partial if has_unknown else Status.full
    return Status.unknown if has_unknown else Status.no


def _sample(findings: list[Finding]) -> str:
    shown = "; ".join(f.message for f in findings[:NOTE_SAMPLES])
    more = len(findings) - NOTE_SAMPLES
    return f"{shown} (+{more} more)" if more > 0 else shown


def judge_requirement(requirement: Requirement, outcomes: list[CheckOutcome]) -> RequirementResult:
    """Aggregate the outcomes of a requirement's checks into its status and notes."""
    findings = [f for o in outcomes for f in o.findings]
    deny = [f for f in findings if f.kind is FindingKind.deny and not f.waived]
    waived = [f for f in findings if f.waived]
    evidence = [f for f in findings if f.kind is FindingKind.evidence]
    unknown = [f for f in findings if f.kind is FindingKind.unknown]
    errors = [o for o in outcomes if o.error]
    notes: list[str] = []
    if not outcomes:
        status = Status.unknown
        notes.append(NO_CHECK)
    else:
        status = decide_status(bool(deny), bool(evidence), bool(unknown or errors))
        if evidence:
            notes.append(f"evidence: {_sample(evidence)}")
        if deny:
            notes.append(f"{len(deny)} violation(s): {_sample(deny)}")
        if waived:
            notes.append(f"{len(waived)} waived")
        if unknown:
            notes.append(f"cannot decide: {_sample(unknown)}")
        notes.extend(f"check {o.check.id} could not be evaluated: {o.error}" for o in errors)
        unread = list(dict.fromkeys(n for o in outcomes for n in o.unread))
        if unread:
            # Unreadable data is never a verdict: neither Full nor No on what was not read.
            status = {Status.full: Status.partial, Status.no: Status.unknown}.get(status, status)
            notes.extend(unread)
        if status is Status.no and not deny:
            notes.append("no evidence of this capability in the scanned input")
    if requirement.active_test:
        notes.append(STATIC_ONLY)
    return RequirementResult(
        id=requirement.id,
        category=requirement.category,
        level=requirement.level,
        title=requirement.title,
        description=requirement.description,
        description_original=requirement.description_original,
        status=status,
        checks=[o.check.id for o in outcomes],
        notes=notes,
        findings=findings,
        active_test=requirement.active_test,
    )


def scan(
    inventory: Inventory,
    library: PolicyLibrary,
    profile: Profile,
    engine: Engine | None = None,
    waive: Waiver | None = None,
    jobs: int = 0,
) -> ScanReport:
    """The whole evaluation: checks of the profile -> findings -> requirement statuses.
    `jobs`: processes evaluating checks (0: automatic, see scanner/parallel.py)."""
    started = time.perf_counter()
    owned = engine is None  # an engine made here is closed here; a caller's, by the caller
    engine = engine or prepare_engine(library)
    relevant = {
        c.id: c for r in profile.requirements for c in profile.checks_for(r, library.checks)
    }
    checks = sorted(relevant.values(), key=lambda c: c.id)
    try:
        outcomes = run_checks(engine, checks, inventory, jobs)
    finally:
        if owned:
            close_engine(engine)
    if inventory.cluster and inventory.cluster.get("unreadable"):
        from scanner.unread import unread_notes

        for outcome in outcomes:
            outcome.unread = unread_notes(outcome.check.metadata.custom.inputs,
                                          inventory.cluster["unreadable"])
    if waive is not None:
        for outcome in outcomes:
            outcome.findings = waive(outcome.findings, inventory)
    by_id = {o.check.id: o for o in outcomes}
    results = [
        judge_requirement(req, [by_id[c.id] for c in profile.checks_for(req, checks)])
        for req in profile.requirements
    ]
    all_findings = [f for o in outcomes for f in o.findings]
    summary = ScanSummary(
        objects=len(inventory.objects),
        skipped_documents=len(inventory.skipped),
        requirements={s.value: sum(r.status is s for r in results) for s in Status},
        findings={k.value: sum(f.kind is k for f in all_findings) for k in RULES},
        waived=sum(f.waived for f in all_findings),
        duration_seconds=round(time.perf_counter() - started, 3),
    )
    cluster = inventory.cluster or {}
    return ScanReport(
        tool_version=__version__,
        profile=profile.name,
        profile_title=profile.title,
        catalogue=profile.catalogue,
        kubernetes_version=profile.kubernetes_version,
        mode=inventory.mode,
        roots=inventory.roots,
        categories=[CategoryInfo(**c.model_dump()) for c in profile.categories],
        requirements=results,
        checks=[c.info() for c in checks],
        errors=[CheckError(check_id=o.check.id, message=o.error) for o in outcomes if o.error],
        skipped=inventory.skipped,
        unreadable=[
            {k: str(v) for k, v in u.items()} for u in cluster.get("unreadable", []) or []
        ],
        summary=summary,
    )


def failing_requirements(report: ScanReport, fail_on: str) -> list[RequirementResult]:
    """Requirements that fail the gate: status No, or active (non-waived) violations, at or
    above the `fail_on` level (`must`, `should`, `never`)."""
    levels = {"must": {Level.MUST}, "should": {Level.MUST, Level.SHOULD}, "never": set()}[fail_on]
    return [r for r in report.requirements if r.level in levels and r.fails()]
