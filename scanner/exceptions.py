"""Waivers: accepted risks, recorded with a reason, an owner and an end date.

Two sources, one rule set:

- an **exceptions file** (`.kaic-exceptions.yaml` in the scanned root or the working directory,
  or `--exceptions FILE`): entries select findings by requirement or check id and, optionally, by
  object kind, namespace, name and labels (shell-style globs: `web-*`). `justification` and
  `owner` are required; after `expires` (inclusive, UTC) an entry stops waiving and every output
  carries a warning naming it.
- **inline annotations** on the object, or on its pod template (`spec.template`, or a CronJob's
  `spec.jobTemplate.spec.template`) so the waiver travels to the Pods a live scan sees:
  `kaic.dev/ignore: "<check-id>[,<check-id>...]"` with `kaic.dev/ignore-reason` (required) and
  `kaic.dev/ignore-expires` (optional). An annotation without a reason waives nothing and is
  itself reported.

Only violations (`deny`) and advisories (`warn`) can be waived; evidence and unknowns cannot.
A waived finding stays in every output (SARIF `suppressions`, the JSON report, the checklist's
"waived" count) and does not fail the gate. The clock is injectable so expiry is testable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scanner.errors import InputError
from scanner.inventory import Inventory, object_ref, ref_key
from scanner.models import Finding, FindingKind, ObjectRef, ScanReport, Status, WaiverDetail
from scanner.yamllines import LineDict, LineList, error_line, load_yaml

DEFAULT_FILE = ".kaic-exceptions.yaml"
IGNORE = "kaic.dev/ignore"
IGNORE_REASON = "kaic.dev/ignore-reason"
IGNORE_EXPIRES = "kaic.dev/ignore-expires"
WAIVABLE = (FindingKind.deny, FindingKind.warn)
_GLOB = re.compile(r"[*?\[]")

Clock = Callable[[], date]


def utc_today() -> date:
    """Today in UTC: expiry must not depend on the runner's time zone."""
    return datetime.now(UTC).date()


class ExceptionRule(BaseModel):
    """One entry of the exceptions file (selectors are optional and accept globs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requirement: str | None = Field(None, description="requirement id, e.g. SEC-5.3")
    check: str | None = Field(None, description="check id, e.g. sandbox-runtime")
    kind: str | None = Field(None, description="object kind, e.g. Deployment")
    namespace: str | None = None
    name: str | None = None
    labels: dict[str, str] = Field(default_factory=dict, description="all must match")
    justification: str = Field(min_length=1, description="why the risk is accepted")
    owner: str = Field(min_length=1, description="who accepted it")
    expires: date | None = Field(None, description="last day the exception applies")

    @field_validator("justification", "owner")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("labels", mode="before")
    @classmethod
    def _label_values_are_strings(cls, value: Any) -> Any:
        # YAML reads `{tier: 1}` or `{gpu: true}` as numbers/booleans; labels are strings.
        if isinstance(value, dict):
            return {k: v if isinstance(v, str) else str(v).lower() if isinstance(v, bool)
                    else str(v) for k, v in value.items()}
        return value

    @field_validator("expires", mode="before")
    @classmethod
    def _date_text(cls, value: Any) -> Any:
        # pydantic would read a bare number as a Unix timestamp; an end date must be a date.
        if value is not None and not isinstance(value, str | date):
            raise ValueError("must be a date like \"2027-03-31\"")
        return value

    @model_validator(mode="after")
    def _has_target(self) -> ExceptionRule:
        if not self.requirement and not self.check:
            raise ValueError("needs `requirement` or `check` (an exception must name what it "
                             "waives)")
        return self

    @property
    def selects_objects(self) -> bool:
        """True when the entry narrows by object (so it cannot match object-less findings)."""
        return bool(self.kind or self.namespace or self.name or self.labels)

    def describe(self) -> str:
        """Short human form: `SEC-5.3 Deployment agents/web-* {team=ml}`."""
        parts = [p for p in (self.requirement, self.check and f"check {self.check}") if p]
        if self.selects_objects:
            where = "/".join(p for p in (self.namespace, self.name) if p)
            parts.append(" ".join(p for p in (self.kind, where) if p))
            if self.labels:
                parts.append("{" + ",".join(f"{k}={v}" for k, v in self.labels.items()) + "}")
        return " ".join(parts)


@dataclass(frozen=True)
class ExceptionEntry:
    """A rule plus where it was written, so every message can name `FILE:LINE`."""

    rule: ExceptionRule
    path: Path
    line: int
    index: int

    @property
    def where(self) -> str:
        """`FILE:LINE` of the entry."""
        return f"{self.path}:{self.line}"

    def expired(self, today: date) -> bool:
        """True after the `expires` day has passed."""
        return self.rule.expires is not None and today > self.rule.expires


@dataclass(frozen=True)
class InvalidEntry:
    """An entry that failed validation (reported by `kaic exceptions audit`)."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line or 1}: {self.message}"


@dataclass
class ExceptionsFile:
    """A parsed exceptions file: valid entries, and the invalid ones with their lines."""

    path: Path
    entries: list[ExceptionEntry] = field(default_factory=list)
    invalid: list[InvalidEntry] = field(default_factory=list)


def parse_exceptions(path: Path, text: str | None = None) -> ExceptionsFile:
    """Parse every entry, keeping invalid ones apart (for the audit). Raises InputError only
    when the file as a whole is unreadable or not the expected shape."""
    document = load_yaml(path, text)
    parsed = ExceptionsFile(path=path)
    if document is None:
        return parsed
    if not isinstance(document, dict):
        raise InputError(f"{path}:1: an exceptions file is a mapping with an `exceptions:` list")
    unknown = sorted(str(k) for k in document if k != "exceptions")
    if unknown:
        line = document.line_of(unknown[0]) if isinstance(document, LineDict) else 1
        raise InputError(f"{path}:{line}: unknown key {unknown[0]!r} (expected `exceptions:`)")
    items = document.get("exceptions")
    if items is None:
        return parsed
    if not isinstance(items, list):
        line = document.line_of("exceptions") if isinstance(document, LineDict) else 1
        raise InputError(f"{path}:{line}: `exceptions` must be a list of entries")
    for index, item in enumerate(items):
        line = items.item_lines[index] if isinstance(items, LineList) else None
        if not isinstance(item, dict):
            parsed.invalid.append(InvalidEntry(path, line or document.line_of("exceptions"),
                                               f"exception {index + 1}: must be a mapping"))
            continue
        try:
            rule = ExceptionRule.model_validate(dict(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc)
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key (allowed: " + ", ".join(ExceptionRule.model_fields) + ")"
            parsed.invalid.append(InvalidEntry(
                path, error_line(item, loc) or line,
                f"exception {index + 1}: " + (f"{where}: " if where else "") + message))
            continue
        parsed.entries.append(ExceptionEntry(rule=rule, path=path, line=line or 1, index=index))
    return parsed


def load_exceptions(path: Path) -> ExceptionsFile:
    """Parse strictly: the first invalid entry is an InputError naming file and line."""
    parsed = parse_exceptions(path)
    if parsed.invalid:
        raise InputError(str(parsed.invalid[0]))
    return parsed


def find_exceptions_file(roots: Iterable[Path], cwd: Path | None = None) -> Path | None:
    """`.kaic-exceptions.yaml` in the first scanned root that has one, else in `cwd`."""
    candidates = [r if r.is_dir() else r.parent for r in roots]
    candidates.append(cwd or Path.cwd())
    for directory in candidates:
        path = directory / DEFAULT_FILE
        if path.is_file():
            return path
    return None


def pod_template(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template of a workload object (Deployment-like or CronJob), if any."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return None
    template = spec.get("template")
    if not isinstance(template, dict):
        job = spec.get("jobTemplate")
        job_spec = job.get("spec") if isinstance(job, dict) else None
        template = job_spec.get("template") if isinstance(job_spec, dict) else None
    return template if isinstance(template, dict) else None


def _meta_map(obj: dict[str, Any] | None, key: str) -> dict[str, str]:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    values = meta.get(key) if isinstance(meta, dict) else None
    if not isinstance(values, dict):
        return {}
    return {str(k): v for k, v in values.items() if isinstance(v, str)}


def merged_meta(obj: dict[str, Any], key: str) -> dict[str, str]:
    """Labels or annotations of the object merged over its pod template's (object wins)."""
    return {**_meta_map(pod_template(obj), key), **_meta_map(obj, key)}


class ObjectIndex:
    """Objects of an inventory by identity, the same way `Inventory.find` resolves refs."""

    def __init__(self, inventory: Inventory) -> None:
        self._by_key: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        for obj in inventory.objects:
            r = object_ref(obj)
            self._by_key.setdefault(ref_key(r.api_version, r.kind, r.namespace, r.name), obj)

    def get(self, ref: ObjectRef) -> dict[str, Any] | None:
        """The object a finding refers to, or None (e.g. a ref to something not scanned)."""
        obj = self._by_key.get(ref_key(ref.api_version, ref.kind, ref.namespace, ref.name))
        if obj is None and ref.namespace == "default":
            obj = self._by_key.get(ref_key(ref.api_version, ref.kind, "", ref.name))
        return obj


def _glob(value: str, pattern: str | None) -> bool:
    return pattern is None or value == pattern or (
        is_glob(pattern) and fnmatchcase(value, pattern))


@dataclass
class InlineWaiver:
    """The `kaic.dev/ignore*` annotations of one object, parsed."""

    checks: list[str]
    reason: str
    expires: date | None
    problem: str | None = None


def parse_inline(annotations: dict[str, str], today: date) -> InlineWaiver | None:
    """The inline waiver of an object, or None. `problem` says why it cannot apply."""
    raw = annotations.get(IGNORE)
    if raw is None:
        return None
    checks = [c.strip() for c in raw.split(",") if c.strip()]
    reason = annotations.get(IGNORE_REASON, "").strip()
    waiver = InlineWaiver(checks=checks, reason=reason, expires=None)
    raw_expiry = annotations.get(IGNORE_EXPIRES, "").strip()
    if raw_expiry:
        try:
            waiver.expires = date.fromisoformat(raw_expiry)
        except ValueError:
            waiver.problem = f"{IGNORE_EXPIRES} {raw_expiry!r} is not a date (YYYY-MM-DD)"
            return waiver
    if not checks:
        waiver.problem = f"{IGNORE} names no check id"
    elif not reason:
        waiver.problem = f"{IGNORE} without {IGNORE_REASON}: not applied (a waiver needs a reason)"
    elif waiver.expires is not None and today > waiver.expires:
        waiver.problem = f"{IGNORE} expired on {waiver.expires.isoformat()}: no longer applied"
    return waiver


@dataclass
class WaiverSet:
    """Applies exceptions and inline waivers to findings, counting what each entry matched.

    `bind(...)` returns the `(findings, inventory) -> findings` hook that `evaluate.scan` takes;
    after the scan, `warnings` and `usage` describe what happened.
    """

    files: list[ExceptionsFile] = field(default_factory=list)
    today: Clock = utc_today
    inline: bool = True
    check_requirements: dict[str, set[str]] = field(default_factory=dict)
    known_checks: set[str] = field(default_factory=set)
    known_requirements: set[str] = field(default_factory=set)
    usage: dict[tuple[Path, int], int] = field(default_factory=dict)
    inline_used: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    invalid: dict[tuple[Path, int], str] = field(default_factory=dict)
    inline_found: list[tuple[str, InlineWaiver]] = field(default_factory=list)
    _by_check: dict[tuple[str, date], tuple[dict[str, list[ExceptionEntry]],
                                             list[ExceptionEntry]]] = field(
        default_factory=dict, repr=False)
    _inline_of: dict[int, InlineWaiver | None] = field(default_factory=dict, repr=False)
    _index: ObjectIndex | None = field(default=None, repr=False)
    _index_of: int | None = field(default=None, repr=False)

    @property
    def entries(self) -> list[ExceptionEntry]:
        """Every valid entry of every file."""
        return [e for f in self.files for e in f.entries]

    def bind(self, check_requirements: dict[str, set[str]],
             known_requirements: Iterable[str] = ()) -> Callable[[list[Finding], Inventory],
                                                               list[Finding]]:
        """Fix the check -> requirement mapping of this scan and return the waiver hook."""
        self.check_requirements = check_requirements
        self._by_check.clear()
        self.known_checks = set(check_requirements)
        self.known_requirements = set(known_requirements).union(*check_requirements.values())
        today = self.today()
        for entry in self.entries:
            rule = entry.rule
            if entry.expired(today):
                self._warn(f"exception {entry.where} ({rule.describe()}, owner {rule.owner}) "
                           f"expired on {rule.expires}: its findings are no longer waived")
            problem = self.unknown_target(rule)
            if problem:
                self.invalid[(entry.path, entry.line)] = problem
                self._warn(f"exception {entry.where}: {problem}")
        return self.apply

    def unknown_target(self, rule: ExceptionRule) -> str | None:
        """Why `rule` can never match (a check or requirement id nothing knows), or None."""
        if rule.check and not any(fnmatchcase(c, rule.check) for c in self.known_checks):
            return f"check {rule.check!r} matches no loaded check"
        if rule.requirement and not any(
            fnmatchcase(r, rule.requirement) for r in self.known_requirements
        ):
            return (f"requirement {rule.requirement!r} matches no requirement of the profile "
                    "or the loaded checks")
        return None

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def _objects(self, inventory: Inventory) -> ObjectIndex:
        # The hook runs once per check; index the inventory (and report its inline waivers'
        # problems, whether or not a finding hits them) once per scan.
        if self._index is None or self._index_of != id(inventory):
            self._index, self._index_of = ObjectIndex(inventory), id(inventory)
            self._inline_of.clear()
            if self.inline:
                self.inline_found = inline_waivers(inventory, self.today())
                for who, waiver in self.inline_found:
                    unknown = [c for c in waiver.checks
                               if self.known_checks and c not in self.known_checks]
                    if unknown:
                        self._warn(f"{who}: {IGNORE} names unknown check(s) "
                                   f"{', '.join(unknown)}")
                    if waiver.problem:
                        self._warn(f"{who}: {waiver.problem}")
        return self._index

    def apply(self, findings: list[Finding], inventory: Inventory) -> list[Finding]:
        """Mark the findings that an active exception or inline waiver covers as waived."""
        today = self.today()
        objects = self._objects(inventory)
        result = []
        for finding in findings:
            if finding.kind not in WAIVABLE or finding.waived:
                result.append(finding)
                continue
            obj = objects.get(finding.ref) if finding.ref is not None else None
            detail, justification = self._inline(finding, obj, today)
            by_namespace, any_namespace = self._candidates(finding.check_id, today)
            candidates = any_namespace
            if finding.ref is not None and finding.ref.namespace in by_namespace:
                # Keep file order, so the first matching entry is the one reported.
                candidates = sorted([*by_namespace[finding.ref.namespace], *any_namespace],
                                    key=lambda e: (str(e.path), e.line))
            for entry in candidates:
                if self.matches_object(entry.rule, finding, obj):
                    key = (entry.path, entry.line)
                    self.usage[key] = self.usage.get(key, 0) + 1
                    if detail is None:
                        rule = entry.rule
                        justification = rule.justification
                        detail = WaiverDetail(
                            kind="external", source=entry.where, owner=rule.owner,
                            expires=rule.expires.isoformat() if rule.expires else None)
            if detail is not None:
                finding = finding.model_copy(update={
                    "waived": True, "waiver": justification, "waiver_detail": detail})
            result.append(finding)
        return result

    def _candidates(self, check_id: str, today: date
                    ) -> tuple[dict[str, list[ExceptionEntry]], list[ExceptionEntry]]:
        """Active entries whose check/requirement selectors admit `check_id`, split into those
        with an exact namespace (by namespace) and the rest. Cached, so the per-finding work is
        only the object selectors of a few entries, even with hundreds of exceptions."""
        key = (check_id, today)
        cached = self._by_check.get(key)
        if cached is None:
            requirements = self.check_requirements.get(check_id, ())
            by_namespace: dict[str, list[ExceptionEntry]] = {}
            any_namespace: list[ExceptionEntry] = []
            for e in self.entries:
                rule = e.rule
                if e.expired(today) or (rule.check and not fnmatchcase(check_id, rule.check)):
                    continue
                if rule.requirement and not any(
                    fnmatchcase(r, rule.requirement) for r in requirements
                ):
                    continue
                if rule.namespace is not None and not is_glob(rule.namespace):
                    by_namespace.setdefault(rule.namespace, []).append(e)
                else:
                    any_namespace.append(e)
            cached = self._by_check[key] = (by_namespace, any_namespace)
        return cached

    def finish(self, report: ScanReport) -> ScanReport:
        """After the scan: accept missing capabilities that a requirement-level exception
        covers (status No without violations has no finding to waive), and add the warnings."""
        today = self.today()
        active = [e for e in self.entries if not e.expired(today)
                  and e.rule.requirement and not e.rule.check and not e.rule.selects_objects]
        results = []
        for r in report.requirements:
            missing = r.status is Status.no and not any(
                f.kind is FindingKind.deny and not f.waived for f in r.findings)
            entry = next((e for e in active if fnmatchcase(r.id, e.rule.requirement or "")),
                         None) if missing else None
            if entry is not None:
                key = (entry.path, entry.line)
                self.usage[key] = self.usage.get(key, 0) + 1
                rule = entry.rule
                until = f", until {rule.expires}" if rule.expires else ""
                r = r.model_copy(update={
                    "waiver": rule.justification,
                    "waiver_detail": WaiverDetail(
                        kind="external", source=entry.where, owner=rule.owner,
                        expires=rule.expires.isoformat() if rule.expires else None),
                    "notes": [*r.notes, f"missing capability waived by {entry.where} "
                              f"({rule.owner}{until}): {rule.justification}"],
                })
            results.append(r)
        return report.model_copy(update={
            "requirements": results, "warnings": [*report.warnings, *self.warnings]})

    def _inline(self, finding: Finding, obj: dict[str, Any] | None,
                today: date) -> tuple[WaiverDetail | None, str | None]:
        if not self.inline or obj is None or finding.ref is None:
            return None, None
        if id(obj) not in self._inline_of:
            self._inline_of[id(obj)] = parse_inline(merged_meta(obj, "annotations"), today)
        waiver = self._inline_of[id(obj)]
        if waiver is None:
            return None, None
        who = finding.ref.display()
        if finding.check_id not in waiver.checks or waiver.problem:
            return None, None
        self.inline_used[who] = self.inline_used.get(who, 0) + 1
        return WaiverDetail(
            kind="inSource", source=f"{IGNORE} on {who}", owner=None,
            expires=waiver.expires.isoformat() if waiver.expires else None,
        ), waiver.reason

    def matches(self, rule: ExceptionRule, finding: Finding,
                obj: dict[str, Any] | None) -> bool:
        """True when every selector of `rule` matches the finding (and its object)."""
        if rule.check and not fnmatchcase(finding.check_id, rule.check):
            return False
        if rule.requirement and not any(
            fnmatchcase(r, rule.requirement)
            for r in self.check_requirements.get(finding.check_id, ())
        ):
            return False
        return self.matches_object(rule, finding, obj)

    @staticmethod
    def matches_object(rule: ExceptionRule, finding: Finding,
                       obj: dict[str, Any] | None) -> bool:
        """True when the object selectors of `rule` (kind, namespace, name, labels) match."""
        if not rule.selects_objects:
            return True
        ref = finding.ref
        if ref is None:
            return False
        if not (_glob(ref.kind, rule.kind) and _glob(ref.namespace, rule.namespace)
                and _glob(ref.name, rule.name)):
            return False
        if rule.labels:
            labels = merged_meta(obj, "labels") if obj is not None else {}
            return all(k in labels and _glob(labels[k], v) for k, v in rule.labels.items())
        return True


def check_requirement_map(checks: Iterable[Any], profile: Any) -> dict[str, set[str]]:
    """check id -> every requirement id it serves, in any catalogue, plus the profile's own
    explicit `checks:` mapping (team profiles)."""
    mapping: dict[str, set[str]] = {}
    for check in checks:
        ids = {rid for rids in check.metadata.custom.requirements.values() for rid in rids}
        mapping[check.id] = ids
    for requirement in profile.requirements:
        for check_id in requirement.checks:
            if check_id in mapping:
                mapping[check_id].add(requirement.id)
    return mapping


def inline_waivers(inventory: Inventory, today: date) -> list[tuple[str, InlineWaiver]]:
    """Every object's inline waiver, as (`Kind namespace/name`, waiver), in inventory order."""
    found = []
    for obj in inventory.objects:
        waiver = parse_inline(merged_meta(obj, "annotations"), today)
        if waiver is not None:
            found.append((object_ref(obj).display(), waiver))
    return found


def is_glob(value: str | None) -> bool:
    """True when a selector uses glob characters."""
    return bool(value and _GLOB.search(value))


@dataclass
class AuditResult:
    """What `kaic exceptions audit` reports: each entry's fate, and the inline waivers."""

    used: list[tuple[ExceptionEntry, int]] = field(default_factory=list)
    unused: list[ExceptionEntry] = field(default_factory=list)
    expired: list[ExceptionEntry] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    inline: list[str] = field(default_factory=list)
    inline_problems: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        """Entries that need attention: unused, expired, invalid, broken inline waivers."""
        return (len(self.unused) + len(self.expired) + len(self.invalid)
                + len(self.inline_problems))

    def lines(self) -> list[str]:
        """The audit as text, one line per entry, problems first."""
        out = [f"{e.where}: expired on {e.rule.expires}: {e.rule.describe()} "
               f"(owner {e.rule.owner})" for e in self.expired]
        out += [f"{line}: invalid: {msg}" for line, msg in
                (s.split(": ", 1) if ": " in s else (s, "") for s in self.invalid)]
        out += [f"{e.where}: unused: {e.rule.describe()} matches no finding "
                f"(owner {e.rule.owner})" for e in self.unused]
        out += [f"inline: {p}" for p in self.inline_problems]
        out += [f"{e.where}: used by {n} finding(s): {e.rule.describe()}"
                + (f" (expires {e.rule.expires})" if e.rule.expires else "")
                for e, n in self.used]
        out += [f"inline: {i}" for i in self.inline]
        out.append(
            f"{len(self.used) + len(self.unused) + len(self.expired) + len(self.invalid)} "
            f"exception(s): {len(self.used)} used, {len(self.unused)} unused, "
            f"{len(self.expired)} expired, {len(self.invalid)} invalid; "
            f"{len(self.inline) + len(self.inline_problems)} inline waiver(s), "
            f"{len(self.inline_problems)} with problems")
        return out


def audit(waivers: WaiverSet) -> AuditResult:
    """Classify every exception after a scan that used `waivers` (see `WaiverSet.bind`)."""
    result = AuditResult()
    today = waivers.today()
    for exceptions_file in waivers.files:
        result.invalid.extend(str(i) for i in exceptions_file.invalid)
    for entry in waivers.entries:
        key = (entry.path, entry.line)
        if entry.expired(today):
            result.expired.append(entry)
        elif key in waivers.invalid:
            result.invalid.append(f"{entry.where}: {waivers.invalid[key]}")
        elif waivers.usage.get(key, 0) == 0:
            result.unused.append(entry)
        else:
            result.used.append((entry, waivers.usage[key]))
    for who, waiver in waivers.inline_found:
        unknown = [c for c in waiver.checks
                   if waivers.known_checks and c not in waivers.known_checks]
        if waiver.problem or unknown:
            problem = waiver.problem or f"names unknown check(s) {', '.join(unknown)}"
            result.inline_problems.append(f"{who}: {problem}")
        else:
            n = waivers.inline_used.get(who, 0)
            if n:
                result.inline.append(f"{who}: {IGNORE}={','.join(waiver.checks)}: "
                                     f"used by {n} finding(s)")
            else:
                result.inline_problems.append(f"{who}: {IGNORE}={','.join(waiver.checks)}: "
                                              "unused: matches no finding")
    result.invalid.sort()
    return result
