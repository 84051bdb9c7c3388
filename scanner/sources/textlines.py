"""Lines of objects and fields found in the YAML text itself, without composing nodes.

Composing a file into PyYAML nodes (to learn their lines) costs ~0.5 ms per Kubernetes
document: when violations are spread over every file of a large repository, that was most of a
scan. Manifests are nearly always plain block YAML, where a key's line can be found by its
indentation alone. `TextIndex.locate` walks a field path that way and answers exactly what
`locate.walk_nodes` would answer on the composed tree, or returns None whenever the text uses
anything it does not model (flow collections on the path, quoted or complex keys, anchors,
tags, `...` markers, tabs, a `-` alone on its line), and the caller composes as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MARKER = re.compile(r"---(?:[ \t\r]|$)")
# A marker line `---` (optionally with a comment); `--- value` is not modelled.
_MARKER_LINE = re.compile(r"^---[ \t]*(?:#[^\n]*)?\r?$", re.MULTILINE)
_MARKER_VALUE = re.compile(r"^---[ \t]+[^#\s]", re.MULTILINE)
_UNMODELLED = re.compile(r"\t|^\.\.\.|^%", re.MULTILINE)
# A content line: indentation, then anything but a comment; CR excluded.
_CONTENT = re.compile(r"^( *)([^ \n\r#][^\n\r]*)", re.MULTILINE)


# A content line: (0-based line number, column where the content starts, the content from
# there on without a trailing CR). Plain tuples: millions are made on large repositories.
_Line = tuple[int, int, str]
NUMBER, INDENT, TEXT = 0, 1, 2


@dataclass
class TextIndex:
    """Where each document of one file starts; its lines are split on first use."""

    text: str
    spans: list[tuple[int, int, int]]  # (start offset, end offset, 0-based line of start)
    _documents: dict[int, list[_Line]] = field(default_factory=dict)

    @classmethod
    def build(cls, text: str) -> TextIndex | None:
        """Index `text`, or None when its document structure is outside the modelled subset."""
        if _UNMODELLED.search(text) or _MARKER_VALUE.search(text):
            return None
        spans: list[tuple[int, int, int]] = []
        position, line, explicit = 0, 0, False
        for marker in _MARKER_LINE.finditer(text):
            if explicit or _CONTENT.search(text, position, marker.start()):
                spans.append((position, marker.start(), line))
            line += text.count("\n", position, marker.end()) + 1
            position = min(marker.end() + 1, len(text))
            explicit = True
        if explicit or _CONTENT.search(text, position):
            spans.append((position, len(text), line))
        return cls(text, spans)

    @property
    def documents(self) -> list[list[_Line]]:
        """Content lines of every document (for tests and debugging)."""
        return [self._lines(i) for i in range(len(self.spans))]

    def _lines(self, doc_index: int) -> list[_Line]:
        lines = self._documents.get(doc_index)
        if lines is None:
            start, end, base = self.spans[doc_index]
            lines = [
                (base + n, len(raw) - len(content), content.rstrip("\r"))
                for n, raw in enumerate(self.text[start:end].split("\n"))
                if (content := raw.lstrip(" ")) and content[0] not in "#\r"
            ]
            self._documents[doc_index] = lines
        return lines

    def object_line(self, doc_index: int) -> int | None:
        """1-based line where document `doc_index` starts, None if it is empty or absent."""
        if doc_index >= len(self.spans):
            return None
        start, end, base = self.spans[doc_index]
        first = _CONTENT.search(self.text, start, end)
        if first is None:
            return None
        return base + self.text.count("\n", start, first.start()) + 1

    def locate(self, doc_index: int, parts: list[str | int]) -> tuple[int, bool] | None:
        """(1-based line, found) as `walk_nodes` reports it, or None when not modelled."""
        if doc_index >= len(self.spans) or not self._lines(doc_index):
            return None
        lines = self._lines(doc_index)
        # The current node: lines[start:end], a block whose entries start at column `indent`.
        start, end, indent = 0, len(lines), lines[0][INDENT]
        line_no = lines[0][NUMBER] + 1
        for step, part in enumerate(parts):
            last = step == len(parts) - 1
            first = lines[start]
            if _unmodelled(first[TEXT]):
                return None
            is_sequence = first[TEXT] == "-" or first[TEXT].startswith("- ")
            if isinstance(part, str):
                if is_sequence:
                    return line_no, False  # a key asked of a sequence: not found
                found = _find_key(lines, start, end, indent, part)
                if found is None:
                    return None
                if found < 0:
                    return line_no, False
                key_line = lines[found]
                line_no = key_line[NUMBER] + 1
                if last:
                    break
                rest = key_line[TEXT][len(part) + 1:].strip()
                if rest and not rest.startswith("#"):
                    return None  # an inline value (scalar, flow, alias, tag) with parts left
                start = found + 1
                if start >= end or lines[start][INDENT] < indent or (
                        lines[start][INDENT] == indent and not lines[start][TEXT].startswith("-")):
                    return line_no, False  # an empty value (null): nothing below it
                child_indent = lines[start][INDENT]
                end = _block_end(lines, start, end, child_indent)
                indent = child_indent
            else:
                if not is_sequence:
                    return line_no, False
                item = _find_item(lines, start, end, indent, part)
                if item is None:
                    return None
                if item < 0:
                    return line_no, False
                dash = lines[item]
                if dash[TEXT] == "-":
                    return None
                line_no = dash[NUMBER] + 1
                if last:
                    break
                item_end = _item_end(lines, item, end, indent)
                # Continue inside the item: its first entry sits on the dash line.
                body = dash[TEXT][2:].lstrip(" ")
                offset = dash[INDENT] + len(dash[TEXT]) - len(body)
                lines = [*lines[:item], (dash[NUMBER], offset, body), *lines[item + 1:]]
                start, end, indent = item, item_end, offset
        return line_no, True


def _unmodelled(text: str) -> bool:
    """Entries that the walk does not model: flow, quotes, anchors, tags, complex keys."""
    body = text[2:].lstrip(" ") if text.startswith("- ") else text
    return body[:1] in ("{", "[", '"', "'", "&", "*", "!", "?", "|", ">")


def _find_key(lines: list[_Line], start: int, end: int, indent: int, key: str) -> int | None:
    """Index of the line with `key:` at `indent`; -1 when absent; None when not modelled."""
    prefix = key + ":"
    for i in range(start, end):
        line = lines[i]
        if line[INDENT] != indent or line[TEXT] == "-" or line[TEXT].startswith("- "):
            continue  # nested content, or the items of an indentless sequence
        if _unmodelled(line[TEXT]) or ":" not in line[TEXT]:
            return None  # a quoted/complex key, or a continuation of a multi-line scalar
        if line[TEXT].startswith(prefix) and (len(line[TEXT]) == len(prefix)
                                             or line[TEXT][len(prefix)] == " "):
            return i
        if line[TEXT].startswith(key) and line[TEXT][len(key):].lstrip(" ").startswith(":"):
            return None  # `key :` with spaces before the colon
    return -1


def _find_item(lines: list[_Line], start: int, end: int, indent: int, index: int) -> int | None:
    """Index of the `index`-th `-` entry at `indent`; -1 when there are fewer."""
    seen = 0
    for i in range(start, end):
        line = lines[i]
        if line[INDENT] != indent:
            continue
        if not (line[TEXT] == "-" or line[TEXT].startswith("- ")):
            return None
        if seen == index:
            return i
        seen += 1
    return -1


def _block_end(lines: list[_Line], start: int, end: int, indent: int) -> int:
    """End of the block that starts at `start` with entries at `indent`. An indentless
    sequence (`key:` then `- item` at the key's own column) ends at the first non-dash line."""
    sequence = lines[start][TEXT].startswith("-")
    for i in range(start + 1, end):
        line = lines[i]
        if line[INDENT] < indent or (sequence and line[INDENT] == indent
                                    and not line[TEXT].startswith("-")):
            return i
    return end


def _item_end(lines: list[_Line], item: int, end: int, indent: int) -> int:
    """End of the sequence item at `item`: the next line at or left of the dash column."""
    for i in range(item + 1, end):
        if lines[i][INDENT] <= indent:
            return i
    return end
