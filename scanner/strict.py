"""What makes a scan incomplete: the problems `--strict` turns into exit 2.

Without `--strict` they stay in the report (check errors make requirements Unknown, unread files
are listed under `skipped`) and the CLI prints one warning line; documents that were read but
are not Kubernetes objects are not problems.
"""

from __future__ import annotations

from scanner.models import ScanReport
from scanner.report.text import one_line


def incomplete_reasons(report: ScanReport) -> list[str]:
    """One line per check that could not be evaluated and per file that could not be read."""
    reasons = [one_line(f"check {e.check_id} could not be evaluated: {e.message}", 300)
               for e in report.errors]
    reasons += [one_line(f"{s.uri}: {s.reason}", 300) for s in report.skipped if s.unread]
    return reasons
