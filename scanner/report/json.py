"""JSON: the full ScanReport, as its pydantic model dumps it."""

from __future__ import annotations

from scanner.models import ScanReport


def render_json(report: ScanReport) -> str:
    """The report as indented JSON (schema_version first), newline-terminated."""
    return report.model_dump_json(indent=2, by_alias=True) + "\n"
