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
    junit = "junit"
    cncf = "cncf"

    @property
    def filename(self) -> str:
        """File name used with --output-dir (the CNCF draft keeps the official name)."""
        return {
            "table": "kaic.txt", "json": "kaic.json", "sarif": "kaic.sarif",
            "checklist": "kaic-checklist.md", "junit": "kaic-junit.xml", "cncf": "PRODUCT.yaml",
        }[self.value]


def render(report: ScanReport, fmt: OutputFormat, *, color: bool = False, width: int = 120,
           evidence_files: list[str] | None = None) -> str:
    """Render `report` in one format. `evidence_files` (CNCF draft only) are the report files
    written beside it."""
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
        case OutputFormat.junit:
            from scanner.report.junit import render_junit

            return render_junit(report)
        case OutputFormat.cncf:
            from scanner.report.cncf import render_cncf

            return render_cncf(report, evidence_files)
        case OutputFormat.table:
            from scanner.report.table import render_table

            return render_table(report, color=color, width=width)
