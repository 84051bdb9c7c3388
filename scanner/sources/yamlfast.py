"""A fast path for loading YAML, with exactly the values PyYAML's loader would produce.

PyYAML's C loader parses in C but builds every node and value in Python, ~0.4 ms per
Kubernetes document: for 2,000 documents that alone is more time than a whole scan may take.
`ryaml` (Rust; serde_yaml over unsafe-libyaml, the same libyaml grammar as PyYAML's C parser)
builds the values natively, 4-7x faster. Its schema is YAML 1.2's, while PyYAML's is 1.1's (and
kaic's loader turns timestamps, binary and non-finite floats into strings), so the two disagree
on some plain scalars: `yes`/`on`/`off`, `0644`, `1e3`, `1_000`, `12:30`, `.inf`, merge keys.

`fast_documents` therefore uses ryaml only when it can show the result is the same:

- texts with constructs whose meaning may differ (tags, anchors and aliases, merge keys,
  directives, complex keys, tabs, backslash escapes, characters YAML forbids) go to PyYAML;
- every other plain scalar that either schema could read as a non-string (it starts with a
  digit, sign or dot, or is a bool/null/inf/nan word) is resolved by both parsers, once per
  distinct spelling (cached), and one disagreement sends the whole text to PyYAML;
- any error from ryaml sends the text to PyYAML, so errors (and their messages) are PyYAML's.

A false alarm costs only speed. Without ryaml installed everything goes to PyYAML.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

try:  # optional: an accelerator, never a requirement
    import ryaml as _ryaml
except ImportError:  # pragma: no cover - exercised when the wheel is unavailable
    _ryaml = None

# Constructs whose meaning may differ between the schemas, or that PyYAML rejects and ryaml may
# not. Plain `in` tests first (C speed); the regexes run only when their character occurs.
_PLAIN_MARKS = ("\t", "\\", "<<")
_TAG_OR_KEY = re.compile(r"(?:^|[\s\[{,:])(?:!|\?(?:[ \t\r]|$))", re.MULTILINE)
_DIRECTIVE = re.compile(r"^%", re.MULTILINE)
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
# Splits a whitespace-separated token into the plain scalars it may hold (flow indicators,
# key colons); the token itself is kept too, for sexagesimal `1:30`.
_PIECES = re.compile(r"[\[\]{},:]+")
# A plain scalar that some schema could resolve to a non-string: a number in any notation of
# either schema (bases, exponents, `_`, sexagesimal `1:30`), `.inf`/`.nan`, null or `=`.
# Timestamps need no comparison: kaic's loader keeps them as the same string ryaml returns.
_NUMBERISH = re.compile(
    r"[-+]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|\.?[0-9][0-9_.:]*"
    r"(?:[eE][-+]?[0-9_]*)?)|[-+]?\.[A-Za-z]+|~|="
)
# Words either schema may resolve (compared case-insensitively: a superset of both).
_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "inf", "nan",
                    "infinity"})
# Cheap first filter over distinct tokens: could any piece of this token be typed?
_MAYBE_TYPED = re.compile(
    r"(?:^|[\[\]{},:])(?:[-+]?\.?[0-9]|[-+]?\.[A-Za-z]|[~=]"
    r"|(?i:y|n|yes|no|on|off|true|false|null|inf|nan|infinity)(?:$|[\[\]{},:]))"
)
_MARKER = re.compile(r"^(?:---|\.\.\.)(?:[ \t\r]|$)", re.MULTILINE)
_CACHE_LIMIT = 100_000
_agrees: dict[str, bool] = {}


def available() -> bool:
    """True when the accelerator is installed."""
    return _ryaml is not None


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and not math.isfinite(a):
        return False
    return bool(a == b)


def scalar_agrees(token: str, loader: type) -> bool:
    """Whether PyYAML (with `loader`) and ryaml read the plain scalar `token` identically."""
    cached = _agrees.get(token)
    if cached is None:
        text = f"k: {token}\n"
        try:
            cached = _same(yaml.load(text, Loader=loader)["k"], _ryaml.loads(text)["k"])
        except Exception:
            cached = False
        if len(_agrees) >= _CACHE_LIMIT:
            _agrees.clear()
        _agrees[token] = cached
    return cached


def _structural_risk(text: str) -> bool:
    if any(mark in text for mark in _PLAIN_MARKS) or ("&" in text and "*" in text):
        return True
    if ("!" in text or "?" in text) and _TAG_OR_KEY.search(text):
        return True
    if "%" in text and _DIRECTIVE.search(text):
        return True
    return _FORBIDDEN.search(text) is not None


def _candidates(token: str) -> list[str]:
    """The plain scalars a whitespace-separated token may be or contain."""
    if not _PIECES.search(token):
        return [token]
    return [token.strip("[]{},:"), *(p for p in _PIECES.split(token) if p)]


def safe_for_fast_path(text: str, loader: type) -> bool:
    """True when ryaml's values for `text` are guaranteed to equal PyYAML's (see module doc).

    Every plain scalar is a whitespace-separated token or a piece of one, so comparing the
    distinct tokens that look like numbers or bool/null words covers them all; tokens from
    comments, quoted strings and block text are compared too, which can only cost speed.
    """
    if _structural_risk(text):
        return False
    for token in filter(_MAYBE_TYPED.search, set(text.split())):
        for candidate in _candidates(token):
            looks_typed = candidate.lower() in _WORDS or _NUMBERISH.fullmatch(candidate)
            if looks_typed and not scalar_agrees(candidate, loader):
                return False
    return True


def fast_documents(text: str, loader: type) -> list[Any] | None:
    """Every document of `text` (None for empty ones), or None when PyYAML must load it."""
    if _ryaml is None or not safe_for_fast_path(text, loader):
        return None
    try:
        docs = _ryaml.loads_all(text)
    except Exception:
        return None
    if docs is None:
        return []
    # ryaml reports a text without content (comments only) as one empty document, PyYAML as
    # none; with an explicit `---` both report the empty document.
    if docs == [None] and not _MARKER.search(text):
        return []
    return docs
