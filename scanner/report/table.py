"""The terminal view: one row per requirement, then the violations, with rich."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from scanner.models import FindingKind, ScanReport, Status
from scanner.report.text import strip_control

STATUS_STYLE = {
    Status.full: "bold green",
    Status.partial: "bold yellow",
    Status.no: "bold red",
    Status.unknown: "bold magenta",
}
MAX_VIOLATIONS = 50


def render_table(report: ScanReport, *, color: bool = False, width: int = 120) -> str:
    """Requirements table plus a list of violations (capped), as text."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width,
                      highlight=False, emoji=False, markup=False)
    table = Table(title=Text(f"kaic · {strip_control(report.profile_title)}"),
                  title_justify="left")
    for column in ("ID", "Level", "Status", "Requirement", "Notes"):
        table.add_column(column, overflow="fold")
    for r in report.requirements:
        notes = "; ".join(r.notes)
        table.add_row(
            Text(strip_control(r.id)), r.level.value,
            Text(r.status.value, style=STATUS_STYLE[r.status]),
            Text(strip_control(r.title)), Text(strip_control(notes[:300])),
        )
    console.print(table)
    seen: set[tuple[str, str]] = set()
    violations = []
    for r in report.requirements:
        for f in r.findings:
            if f.kind is FindingKind.deny and (f.check_id, f.fingerprint) not in seen:
                seen.add((f.check_id, f.fingerprint))
                violations.append(f)
    if violations:
        console.print(Text(f"\nViolations ({len(violations)}):", style="bold"))
        for f in violations[:MAX_VIOLATIONS]:
            where = ""
            if f.location is not None:
                where = f.location.uri + (f":{f.location.line}" if f.location.line else "")
            mark = " (waived)" if f.waived else ""
            if f.baseline_state == "unchanged":
                mark += " (in baseline)"
            console.print(Text(strip_control(f"  {where}  [{f.check_id}] {f.message}{mark}")))
        if len(violations) > MAX_VIOLATIONS:
            console.print(Text(f"  … {len(violations) - MAX_VIOLATIONS} more (use --format json "
                               "or sarif for all)"))
    s = report.summary
    console.print(Text(
        f"\n{s.objects} objects, {s.skipped_documents} skipped documents · "
        + ", ".join(f"{k}: {v}" for k, v in s.requirements.items())
        + f" · {len(report.errors)} check errors"
        + (f" · {s.waived} waived" if s.waived else "")
    ))
    return buffer.getvalue()
