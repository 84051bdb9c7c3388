"""Escaping for text outputs: object names and messages come from untrusted manifests."""

from __future__ import annotations

import html
import re

# C0/C1 controls (ANSI escape sequences start with ESC, \x1b or \x9b), Unicode line and
# paragraph separators, and the bidirectional overrides/isolates of "Trojan Source" (which
# make a terminal or a rendered page show text in another order than it is).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
# An `@` where a mention starts (`@user`, `@org/team` after a space, `(`, `[` or `,`), not the
# `@` of `image@sha256:` or of an e-mail address.
_MENTION = re.compile(r"(?<![^\s(\[,])@(?=[A-Za-z0-9])")


def strip_control(text: str) -> str:
    """Remove control characters (ANSI escapes start with ESC) and fold newlines."""
    return _CONTROL.sub("", text.replace("\r", " ").replace("\n", " ").replace("\t", " "))


def markdown_cell(text: str) -> str:
    """Text safe inside a Markdown table cell: no control chars, HTML escaped, specials quoted,
    and `@` as an entity so a name like `@org/team` pings nobody when the checklist is posted
    as a pull-request comment."""
    escaped = _MD_SPECIAL.sub(r"\\\1", html.escape(strip_control(text), quote=False))
    return _MENTION.sub("&#64;", escaped)


def one_line(text: str, limit: int = 1000) -> str:
    """A message for one stderr line: control characters removed, newlines folded, capped."""
    text = " ".join(strip_control(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
