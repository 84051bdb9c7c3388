"""Reporters: pure functions from a ScanReport to text. Only the CLI writes files."""

from __future__ import annotations

from enum import StrEnum

from scanner.models import ScanReport


class OutputFormat(StrEnum):
    """Every output kaic can write; `extension` names the file under --output-dir."""

    table = "table"
    json = "json"
    sarif = "sarif"
    checklist = "checklist"

    @property
    def extension(self) -> str:
        """File name suffix used with --output-dir."""
        return {"table": "txt", "json": "json", "sarif": "sarif", "checklist": "md"}[self.value]


def render(report: ScanReport, fmt: OutputFormat, *, color: bool = False, width: int = 120) -> str:
    """Render `report` in one format."""
    match fmt:
        case OutputFormat.json:
            from scanner.report.json import render_json

            return render_json(report)
        case OutputFormat.sarif:
            from scanner.report.sarif import render_sarif

            return render_sarif(report)
        case OutputFormat.checklist:
            from scanner.report.checklist import render_checklist

            return render_checklist(report)
        case OutputFormat.table:
            from scanner.report.table import render_table

            return render_table(report, color=color, width=width)
