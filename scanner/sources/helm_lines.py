"""Template lines for objects rendered from a Helm chart.

A finding on a rendered object should point at the line of the template its author edits, not
at the rendered output. kaic renders each chart twice with the real Helm engine: once as is
(the objects that are scanned) and once with a marker comment ` #@kaic:N@` appended to every
line N of every template, where that is safe (`inject_markers`). Each line of the marked output
then says which template line produced it: a line carries the marker of its own template line,
and lines without one (the output of `include`, `toYaml`, `tpl` spread over several lines) belong
to the next marker below them, because a template line's output always ends with its marker.

A field path is walked in the marked document (same structure as the scanned one; this is
checked per document, with markers stripped) and its rendered line is turned into a template
line. When the field is absent the nearest parent's line is reported, and when the marked
render is unusable the object's first line is: both are flagged `approximate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from scanner.models import SourceLocation
from scanner.sources.locate import parse_field_path, walk_nodes
from scanner.sources.yamlload import ManifestLoader

if TYPE_CHECKING:
    from scanner.inventory import Origin

MARKER_RE = re.compile(r" ?#@kaic:(\d+)@")
_BLOCK_OPENERS = frozenset({"if", "range", "with", "define", "block"})


def marker(line: int) -> str:
    """The comment appended to template line `line` (1-based)."""
    return f" #@kaic:{line}@"


def _action_word(inner: str) -> str:
    """First word of an action's text (`- if .x -` -> `if`), or '' for comments."""
    body = inner.strip()
    body = body[1:] if body.startswith("-") else body
    body = body.lstrip()
    if body.startswith("/*"):
        return ""
    m = re.match(r"[A-Za-z_]+", body)
    return m.group(0) if m else ""


def markable_lines(text: str) -> list[bool]:
    """For each line of a template, whether a marker may be appended to it.

    Not markable: lines that end inside an action (multi-line actions, comments, raw strings),
    lines inside `define`/`block` bodies (their output is reused by `include`, possibly quoted
    or truncated), lines that end with a right-trimming action `-}}` (a marker there would stop
    the trim and add a line break), and blank lines (a marker there could end a block scalar).
    """
    result: list[bool] = []
    i, n = 0, len(text)
    in_action = False
    stack: list[str] = []
    last_action_end = -1  # index just after the last `}}`
    last_trim_right = False
    line_start = 0
    while i < n:
        ch = text[i]
        if not in_action:
            if text.startswith("{{", i):
                in_action, action_start = True, i + 2
                i += 2
                continue
            if ch == "\n":
                line = text[line_start:i].rstrip("\r")
                tail = text[last_action_end:i] if last_action_end >= line_start else None
                trimmed_end = last_trim_right and tail is not None and not tail.strip()
                ok = bool(line.strip()) and "define" not in stack and "block" not in stack
                result.append(ok and not trimmed_end)
                line_start = i + 1
            i += 1
            continue
        # Inside an action: skip strings, raw strings and comments, find the closing `}}`.
        start = i
        if ch == '"' or ch == "'":
            i += 1
            while i < n and text[i] != ch and text[i] != "\n":
                i += 2 if text[i] == "\\" else 1
            i += 1
        elif ch == "`":
            end = text.find("`", i + 1)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif text.startswith("}}", i):
            inner = text[action_start:i]
            word = _action_word(inner)
            if word in _BLOCK_OPENERS:
                stack.append(word)
            elif word == "end" and stack:
                stack.pop()
            last_trim_right = inner.endswith("-") and inner[-2:-1] in (" ", "\t", "\n", "\r")
            in_action = False
            i += 2
            last_action_end = i
            continue
        else:
            i += 1
        # Lines that end inside an action (or inside a string or comment in it).
        i = min(i, n)
        for offset in range(start, i):
            if text[offset] == "\n":
                result.append(False)
                line_start = offset + 1
    if line_start < n or not result:
        line = text[line_start:]
        tail = text[last_action_end:] if last_action_end >= line_start else None
        trimmed_end = last_trim_right and tail is not None and not tail.strip()
        ok = (not in_action and bool(line.strip()) and "define" not in stack
              and "block" not in stack and not trimmed_end)
        result.append(ok)
    return result


def inject_markers(text: str) -> str:
    """The template with ` #@kaic:N@` appended to every markable line N (see `markable_lines`)."""
    flags = markable_lines(text)
    lines = text.split("\n")
    out = []
    for number, (line, ok) in enumerate(zip(lines, flags, strict=False), start=1):
        if ok:
            cr = line.endswith("\r")
            line = (line[:-1] if cr else line) + marker(number) + ("\r" if cr else "")
        out.append(line)
    out.extend(lines[len(flags):])
    return "\n".join(out)


def strip_markers(value: Any) -> Any:
    """A rendered value with every marker removed from its strings."""
    if isinstance(value, str):
        return MARKER_RE.sub("", value)
    if isinstance(value, dict):
        return {strip_markers(k): strip_markers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_markers(v) for v in value]
    return value


def _next_markers(text: str) -> list[int | None]:
    """For each rendered line, the template line it came from: its own first marker, or the
    first marker on a following line."""
    lines = text.split("\n")
    out: list[int | None] = [None] * len(lines)
    following: int | None = None
    for index in range(len(lines) - 1, -1, -1):
        m = MARKER_RE.search(lines[index])
        if m:
            following = int(m.group(1))
        out[index] = following
    return out


_DOC_START = re.compile(r"^---(?:[ \t]|$)")


def _compose_each(text: str) -> list[yaml.Node | None]:
    """Documents composed one by one, when a marker broke one of them (e.g. a plain scalar
    continued on the next line): the others keep exact lines, the broken one is None. Each
    chunk is preceded by blank lines so that its marks are lines of the whole text."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if _DOC_START.match(line)]
    chunks = list(zip([0, *starts], [*starts, len(lines)], strict=True))
    head = lines[:chunks[0][1]]
    if not any(ln.strip() and not ln.lstrip().startswith("#") for ln in head):
        chunks = chunks[1:]  # only comments before the first `---`: not a document
    nodes: list[yaml.Node | None] = []
    for start, end in chunks:
        try:
            nodes.append(yaml.compose("\n" * start + "\n".join(lines[start:end]),
                                      Loader=ManifestLoader))
        except (yaml.YAMLError, RecursionError):
            nodes.append(None)
    return nodes


def same_shape(node: yaml.Node, value: Any) -> bool:
    """Whether a marked document node has the structure of the scanned value: the same keys,
    the same list lengths, the same strings once markers are stripped. Non-string scalars are
    not compared (their text and their value differ in form, and they cannot move lines)."""
    if isinstance(node, yaml.MappingNode):
        if not isinstance(value, dict) or len(node.value) != len(value):
            return False
        by_text = {str(k): v for k, v in value.items()}
        for key_node, value_node in node.value:
            key = MARKER_RE.sub("", str(key_node.value))
            if key not in by_text or not same_shape(value_node, by_text[key]):
                return False
        return True
    if isinstance(node, yaml.SequenceNode):
        return (isinstance(value, list) and len(node.value) == len(value)
                and all(same_shape(n, v) for n, v in zip(node.value, value, strict=True)))
    if isinstance(value, dict | list):
        return False
    return not isinstance(value, str) or MARKER_RE.sub("", node.value) == value


@dataclass
class MarkedTemplate:
    """The marked render of one template, parsed lazily: documents as nodes, line map."""

    text: str
    _nodes: list[yaml.Node | None] | None = None
    _lines: list[int | None] | None = None
    _same: dict[int, bool] = field(default_factory=dict)

    def _parse(self) -> None:
        if self._nodes is not None:
            return
        try:
            # Composed (by libyaml when present), never constructed: only lines are needed.
            self._nodes = list(yaml.compose_all(self.text, Loader=ManifestLoader))
        except (yaml.YAMLError, RecursionError):
            self._nodes = _compose_each(self.text)
        self._lines = _next_markers(self.text)

    def document(self, index: int, expected: Any) -> tuple[yaml.Node | None, bool]:
        """The node of document `index`, and whether it has the structure of `expected`
        (the scanned document): only then can its field lines be trusted."""
        self._parse()
        assert self._nodes is not None
        if index >= len(self._nodes) or self._nodes[index] is None:
            return None, False
        node = self._nodes[index]
        if index not in self._same:
            try:
                self._same[index] = same_shape(node, expected)
            except RecursionError:
                self._same[index] = False
        return node, self._same[index]

    def template_line(self, rendered_line: int) -> int | None:
        """Template line (1-based) of a rendered line (1-based)."""
        self._parse()
        assert self._lines is not None
        if 1 <= rendered_line <= len(self._lines):
            return self._lines[rendered_line - 1]
        return None


@dataclass
class RenderedTemplate:
    """What the locator knows about one rendered template."""

    key: str  # Helm's name for it: `<chart>/templates/x.yaml`, `<chart>/charts/<sub>/templates/…`
    uri: str  # the template file for reports (or the chart archive it is packed in)
    on_disk: bool  # False for templates inside a .tgz: no line can be shown for them
    source: str = ""  # template source text, for the last-resort heuristic
    documents: list[Any] = field(default_factory=list)  # scanned documents (by index)
    marked: MarkedTemplate | None = None


_KIND_LINE = re.compile(r"^kind:\s*[\"']?([A-Za-z0-9]+)")


@dataclass
class HelmLocator:
    """Locates fields of rendered objects in the chart's template sources."""

    templates: dict[str, RenderedTemplate] = field(default_factory=dict)

    def locate(self, origin: Origin, field_path: str | None) -> SourceLocation:
        """Template line of `field_path` in the object of `origin` (key: template, doc, item)."""
        key, doc_index, item_index = origin.key
        tpl = self.templates[key]
        if not tpl.on_disk:
            return SourceLocation(uri=tpl.uri, line=None, template=key)
        parts: list[str | int] = [] if item_index is None else ["items", item_index]
        parts += parse_field_path(field_path) if field_path else []
        expected = tpl.documents[doc_index] if doc_index < len(tpl.documents) else None
        node, same = (None, False)
        if tpl.marked is not None:
            node, same = tpl.marked.document(doc_index, expected)
        if node is not None and tpl.marked is not None:
            if same:
                _, found, rendered = walk_nodes(node, parts)
            else:
                found, rendered = False, node.start_mark.line + 1
            line = tpl.marked.template_line(rendered)
            if line is not None:
                return SourceLocation(uri=tpl.uri, line=line, template=key,
                                      approximate=not found)
        return SourceLocation(uri=tpl.uri, line=self._first_line(tpl, expected), template=key,
                              approximate=True)

    @staticmethod
    def _first_line(tpl: RenderedTemplate, obj: Any) -> int:
        """Last resort: the template line that declares the object's kind, else line 1."""
        kind = obj.get("kind") if isinstance(obj, dict) else None
        for number, line in enumerate(tpl.source.splitlines(), start=1):
            m = _KIND_LINE.match(line)
            if m and m.group(1) == kind:
                return number
        return 1
