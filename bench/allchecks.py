"""A profile that evaluates every check of kaic's library, for benchmarks.

The bundled profiles each select the checks of one catalogue (19 for whitepaper-0.9, 15 for
cncf-1.37); the benchmark measures kaic with *all* of its checks loaded, so it scans with this
generated team profile (`--profile-file`): one requirement per check, naming that check.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def profile_document() -> dict:
    """The profile: one MUST requirement per check of the library, in check-id order."""
    from scanner.policies import load_library

    checks = sorted(load_library().checks, key=lambda c: c.id)
    return {
        "schema": "kaic.dev/profile/v1",
        "name": "bench-all-checks",
        "title": "Every kaic check (benchmark profile)",
        "catalogue": "bench",
        "categories": [{"key": "all", "title": "All checks"}],
        "requirements": [
            {"id": c.id, "category": "all", "level": "MUST", "title": c.metadata.title,
             "description": c.metadata.title, "checks": [c.id]}
            for c in checks
        ],
    }


def write_profile(path: Path) -> int:
    """Write the profile to `path`; returns how many checks it selects."""
    document = profile_document()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return len(document["requirements"])
