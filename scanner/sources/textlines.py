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


@dataclass(frozen=True, slots=True)
class _Line:
    number: int  # 0-based line number in the file
    indent: int  # column where the content starts
    text: str  # content from `indent` on, trailing CR removed


@dataclass
class TextIndex:
    """The content lines of one file grouped by document; None when the file is not modelled."""

    documents: list[list[_Line]] = field(default_factory=list)

    @classmethod
    def build(cls, text: str) -> TextIndex | None:
        """Index `text`, or None when its document structure is outside the modelled subset."""
        if "\t" in text or "\n..." in text or text.startswith("...") or "\n%" in text \
                or text.startswith("%"):
            return None
        documents: list[list[_Line]] = [[]]
        explicit = False  # whether the current document was opened by `---`
        for number, raw in enumerate(text.split("\n")):
            line = raw.rstrip("\r")
            stripped = line.lstrip(" ")
            if not stripped or stripped.startswith("#"):
                continue
            if line.startswith("---") and _MARKER.match(line):
                if line.rstrip() != "---" and not line[3:].lstrip().startswith("#"):
                    return None  # content on the marker line: `--- value`
                if documents[-1] or explicit:
                    documents.append([])
                explicit = True
                continue
            documents[-1].append(_Line(number, len(line) - len(stripped), stripped))
        if not documents[-1] and not explicit:
            documents.pop()  # a text without content has no document at all
        return cls(documents)

    def object_line(self, doc_index: int) -> int | None:
        """1-based line where document `doc_index` starts, None if it is empty or absent."""
        if doc_index >= len(self.documents) or not self.documents[doc_index]:
            return None
        return self.documents[doc_index][0].number + 1

    def locate(self, doc_index: int, parts: list[str | int]) -> tuple[int, bool] | None:
        """(1-based line, found) as `walk_nodes` reports it, or None when not modelled."""
        if doc_index >= len(self.documents) or not self.documents[doc_index]:
            return None
        lines = self.documents[doc_index]
        # The current node: lines[start:end], a block whose entries start at column `indent`.
        start, end, indent = 0, len(lines), lines[0].indent
        line_no = lines[0].number + 1
        for step, part in enumerate(parts):
            last = step == len(parts) - 1
            first = lines[start]
            if _unmodelled(first.text):
                return None
            is_sequence = first.text == "-" or first.text.startswith("- ")
            if isinstance(part, str):
                if is_sequence:
                    return line_no, False  # a key asked of a sequence: not found
                found = _find_key(lines, start, end, indent, part)
                if found is None:
                    return None
                if found < 0:
                    return line_no, False
                key_line = lines[found]
                line_no = key_line.number + 1
                if last:
                    break
                rest = key_line.text[len(part) + 1:].strip()
                if rest and not rest.startswith("#"):
                    return None  # an inline value (scalar, flow, alias, tag) with parts left
                start = found + 1
                if start >= end or lines[start].indent < indent or (
                        lines[start].indent == indent and not lines[start].text.startswith("-")):
                    return line_no, False  # an empty value (null): nothing below it
                child_indent = lines[start].indent
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
                if dash.text == "-":
                    return None
                line_no = dash.number + 1
                if last:
                    break
                item_end = _item_end(lines, item, end, indent)
                # Continue inside the item: its first entry sits on the dash line.
                body = dash.text[2:].lstrip(" ")
                offset = dash.indent + len(dash.text) - len(body)
                lines = [*lines[:item], _Line(dash.number, offset, body), *lines[item + 1:]]
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
        if line.indent != indent or line.text == "-" or line.text.startswith("- "):
            continue  # nested content, or the items of an indentless sequence
        if _unmodelled(line.text) or ":" not in line.text:
            return None  # a quoted/complex key, or a continuation of a multi-line scalar
        if line.text.startswith(prefix) and (len(line.text) == len(prefix)
                                             or line.text[len(prefix)] == " "):
            return i
        if line.text.startswith(key) and line.text[len(key):].lstrip(" ").startswith(":"):
            return None  # `key :` with spaces before the colon
    return -1


def _find_item(lines: list[_Line], start: int, end: int, indent: int, index: int) -> int | None:
    """Index of the `index`-th `-` entry at `indent`; -1 when there are fewer."""
    seen = 0
    for i in range(start, end):
        line = lines[i]
        if line.indent != indent:
            continue
        if not (line.text == "-" or line.text.startswith("- ")):
            return None
        if seen == index:
            return i
        seen += 1
    return -1


def _block_end(lines: list[_Line], start: int, end: int, indent: int) -> int:
    """End of the block that starts at `start` with entries at `indent`. An indentless
    sequence (`key:` then `- item` at the key's own column) ends at the first non-dash line."""
    sequence = lines[start].text.startswith("-")
    for i in range(start + 1, end):
        line = lines[i]
        if line.indent < indent or (sequence and line.indent == indent
                                    and not line.text.startswith("-")):
            return i
    return end


def _item_end(lines: list[_Line], item: int, end: int, indent: int) -> int:
    """End of the sequence item at `item`: the next line at or left of the dash column."""
    for i in range(item + 1, end):
        if lines[i].indent <= indent:
            return i
    return end
