"""Unreadable data is never a verdict: which of a check's inputs the collector could not read.

The policies themselves emit `unknown` when `input.cluster.unreadable` lists a resource they
need; this module enforces the same rule in Python, so a check that forgets to cannot make a
requirement Full or No on data that was not read (see evaluate.judge_requirement).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# What each reason means for the operator, and which verbs would fix a permission gap.
_HINTS = {
    "forbidden": "needs get/list",
    "never collected": "kaic never reads secrets",
    "never listed (name one object)": "kaic reads configmaps only by name",
    "not in snapshot": "take a new snapshot with this kaic version",
}


def _matches(inp: Any, entry: dict[str, Any]) -> bool:
    if entry.get("group", "") != inp.group or entry.get("resource") not in (inp.resource, "*"):
        return False
    name, ns = entry.get("name"), entry.get("namespace")
    if name and inp.name and name != inp.name:
        return False
    # A list forbidden in one namespace blinds every check that lists that resource.
    return not (ns and inp.namespace and ns != inp.namespace)


def unread_notes(inputs: Iterable[Any], unreadable: Iterable[dict[str, Any]] | None
                 ) -> list[str]:
    """One note per unreadable input of a check, naming the missing permission:
    `cannot list storage.k8s.io/csidrivers: forbidden (needs get/list)`."""
    entries = list(unreadable or [])
    notes: list[str] = []
    for inp in inputs:
        for entry in entries:
            if not _matches(inp, entry):
                continue
            group, resource = entry.get("group", ""), entry.get("resource", "")
            what = f"{group}/{resource}" if group else resource
            verb = "get" if entry.get("name") else "list"
            if entry.get("name"):
                what += f" {entry.get('namespace') + '/' if entry.get('namespace') else ''}"
                what += str(entry["name"])
            elif entry.get("namespace"):
                what += f" in namespace {entry['namespace']}"
            reason = str(entry.get("reason", "unreadable"))
            hint = _HINTS.get(reason)
            if reason == "forbidden" and entry.get("name"):
                hint = "needs get"
            note = f"cannot {verb} {what}: {reason}" + (f" ({hint})" if hint else "")
            if note not in notes:
                notes.append(note)
    return notes
