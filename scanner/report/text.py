"""Escaping for text outputs: object names and messages come from untrusted manifests."""

from __future__ import annotations

import html
import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def strip_control(text: str) -> str:
    """Remove control characters (ANSI escapes start with ESC) and fold newlines."""
    return _CONTROL.sub("", text.replace("\r", " ").replace("\n", " "))


def markdown_cell(text: str) -> str:
    """Text safe inside a Markdown table cell: no control chars, HTML escaped, specials quoted."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(strip_control(text), quote=False))
