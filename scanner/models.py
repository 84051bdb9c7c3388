"""The value types that flow between kaic's stages: source -> inventory -> engine -> report.

Everything here is a frozen pydantic model so that reporters cannot mutate what the evaluator
decided, and so that the JSON report documents itself (`kaic scan --format json`).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    """How bad a check's violation is; drives SARIF `level` and `security-severity`."""

    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"


class Level(StrEnum):
    """RFC 2119 level of a requirement in one catalogue version."""

    MUST = "MUST"
    SHOULD = "SHOULD"


class Status(StrEnum):
    """Outcome of one requirement (DESIGN: the status table)."""

    full = "Full"
    partial = "Partial"
    no = "No"
    unknown = "Unknown"


class FindingKind(StrEnum):
    """Which rule of a check produced a result."""

    deny = "deny"
    warn = "warn"
    evidence = "evidence"
    unknown = "unknown"


class Frozen(BaseModel):
    """Base for immutable models."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ObjectRef(Frozen):
    """Identity of a Kubernetes object, as policies report it in `ref`."""

    api_version: str = Field("", alias="apiVersion", description="apiVersion of the object")
    kind: str = Field("", description="Kubernetes kind")
    namespace: str = Field("", description="metadata.namespace; empty if absent/cluster-scoped")
    name: str = Field("", description="metadata.name")

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    def display(self) -> str:
        """`Kind namespace/name`, the form used in messages and tables."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}".strip()


class SourceLocation(Frozen):
    """Where an object (or one of its fields) came from."""

    uri: str = Field(description="path relative to the scanned root, or a k8s:// URI")
    line: int | None = Field(None, description="1-based line of the field, or of the document")
    template: str | None = Field(None, description="Helm template the object was rendered from")
    approximate: bool = Field(False, description="true when the field itself was not found")


class WaiverDetail(Frozen):
    """Where a waiver came from, for SARIF `suppressions` and the JSON report."""

    kind: str = Field(description="inSource: an annotation on the object; external: a file")
    source: str = Field(description="FILE:LINE of the exception, or the annotation that waived")
    owner: str | None = Field(None, description="who accepted the risk")
    expires: str | None = Field(None, description="last day the waiver applies (YYYY-MM-DD)")


class Finding(Frozen):
    """One result of one check: a violation, an advisory, a piece of evidence or an unknown."""

    check_id: str = Field(description="the check's stable id, e.g. sandbox-runtime")
    kind: FindingKind
    message: str
    ref: ObjectRef | None = None
    field: str | None = Field(None, description="dotted path of the offending field")
    location: SourceLocation | None = None
    fingerprint: str = Field("", description="stable hash of check, object and field")
    waived: bool = False
    waiver: str | None = Field(None, description="justification of the waiver, when waived")
    waiver_detail: WaiverDetail | None = Field(None, description="origin of the waiver")
    baseline_state: str | None = Field(
        None, description="with --baseline: new, or unchanged when the baseline has it")


class CheckError(Frozen):
    """A check that could not be evaluated (Rego runtime error); its requirements are Unknown."""

    check_id: str
    message: str


class RequirementResult(Frozen):
    """Status of one requirement of the selected profile, with what decided it."""

    id: str
    category: str
    level: Level
    title: str
    description: str
    description_original: str | None = Field(None, description="catalogue's original text")
    status: Status
    checks: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    active_test: bool = Field(False, description="official proof needs running workloads")
    waiver: str | None = Field(
        None, description="justification, when an exception accepts this requirement's missing "
        "capability (status No without violations)")
    waiver_detail: WaiverDetail | None = None

    def fails(self) -> bool:
        """Status No (unless an exception accepts the missing capability), or a violation that
        is not waived (Partial from unreadable data passes)."""
        return (self.status is Status.no and self.waiver is None) or any(
            f.kind is FindingKind.deny and not f.waived for f in self.findings
        )


class Skipped(Frozen):
    """An input document kaic read but did not scan (not a Kubernetes object, etc.)."""

    uri: str
    line: int | None = None
    reason: str
    unread: bool = Field(False, description="the file itself could not be read (a FIFO, device, "
                         "socket or broken link in a scanned folder); fails --strict")


class ScanSummary(Frozen):
    """Counts shown in every output."""

    objects: int = 0
    skipped_documents: int = 0
    requirements: dict[str, int] = Field(default_factory=dict)
    findings: dict[str, int] = Field(default_factory=dict)
    waived: int = 0
    duration_seconds: float = 0.0


class CheckInfo(Frozen):
    """The subset of a check's metadata that reports need (rules in SARIF, help text)."""

    id: str
    title: str
    description: str
    severity: Severity
    scope: str
    requirements: dict[str, list[str]]
    remediation: str = ""
    docs: list[str] = Field(default_factory=list)
    package: str


class CategoryInfo(Frozen):
    """A catalogue category in display order."""

    key: str
    title: str
    title_original: str | None = None


class ScanReport(Frozen):
    """The whole result of one scan; every reporter renders this and nothing else."""

    schema_version: str = "kaic.dev/report/v1"
    tool_version: str
    profile: str
    profile_title: str
    catalogue: str
    kubernetes_version: str | None = None
    mode: str
    roots: list[str] = Field(default_factory=list)
    categories: list[CategoryInfo] = Field(default_factory=list)
    requirements: list[RequirementResult]
    checks: list[CheckInfo]
    errors: list[CheckError] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)
    unreadable: list[dict[str, str]] = Field(default_factory=list)
    summary: ScanSummary
    warnings: list[str] = Field(
        default_factory=list,
        description="problems that do not stop the scan: expired exceptions, inline waivers "
        "without a reason, exceptions that match no known check")
