"""Helpers for CI integrations (the GitHub Action), runnable as `python -m scanner.ci`.

GitHub code scanning does not honour SARIF `suppressions`: a waived result is shown as an open
alert (github/codeql-action#1230, "not prioritized"). kaic's own SARIF keeps waived results,
as the SARIF standard intends; the Action uploads a copy without them, so an accepted risk
does not reappear as an alert and a waiver added later closes the alert it covers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def drop_waived(doc: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A copy of a SARIF log without results that carry an accepted suppression."""
    removed = 0
    runs = []
    for run in doc.get("runs", []):
        kept = []
        for result in run.get("results", []):
            if any(s.get("status", "accepted") == "accepted"
                   for s in result.get("suppressions", [])):
                removed += 1
            else:
                kept.append(result)
        runs.append({**run, "results": kept})
    return {**doc, "runs": runs}, removed


USAGE = "usage: python -m scanner.ci drop-waived IN.sarif OUT.sarif"


def main(argv: list[str]) -> int:
    """`drop-waived IN OUT`: write OUT without waived results; exit 2 on bad usage/input."""
    if len(argv) != 3 or argv[0] != "drop-waived":
        print(USAGE, file=sys.stderr)
        return 2
    source, target = Path(argv[1]), Path(argv[2])
    try:
        doc = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"kaic: error: {source}: cannot read SARIF: {exc}", file=sys.stderr)
        return 2
    filtered, removed = drop_waived(doc)
    target.write_text(json.dumps(filtered, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{target}: {removed} waived result(s) left out of the upload")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through subprocess in tests
    sys.exit(main(sys.argv[1:]))
