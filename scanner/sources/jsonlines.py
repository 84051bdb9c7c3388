"""Lines of fields in JSON files, found in the text without composing it as YAML.

A finding in a JSON input (`kubectl get -o json` output, one big `kind: List` file) needs the
line of a field. Composing the file with PyYAML to learn it costs about a second per megabyte
and several times the file in memory: a 50 MB `List` never finished. Here the standard
library's C decoder (`raw_decode`) steps over every value that is not on the path, so a lookup
costs what decoding the values before it costs, and the start of every `items` element is
found once per file. The answers are those of `locate.walk_nodes` on the composed document
(first matching key, a key's line for keys, an element's line for elements);
`tests/test_jsonlines.py` compares the two path by path.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


@dataclass
class JsonIndex:
    """One JSON file's text, where its lines start, and its `items` elements once looked up."""

    text: str
    newlines: list[int]
    _items: list[int] | None = field(default=None)

    @classmethod
    def build(cls, text: str) -> JsonIndex | None:
        """Index `text`, or None when it is not a JSON object or array."""
        if not text.lstrip().startswith(("{", "[")):
            return None
        return cls(text, [m.start() for m in re.finditer("\n", text)])

    def line(self, position: int) -> int:
        """1-based line of the character at `position`."""
        return bisect_left(self.newlines, position) + 1

    def locate(self, item_index: int | None, parts: list[str | int]) -> tuple[int, bool] | None:
        """(line, found) for `parts` below the document (or below its `items[item_index]`):
        the line of the deepest key or element reached, and whether all of `parts` resolved.
        None when the text is not the JSON it was loaded as (the caller composes it)."""
        try:
            position = self._skip(0)
            if item_index is not None:
                items = self._item_starts(position)
                if item_index >= len(items):
                    return None
                position = items[item_index]
            return self._walk(position, parts)
        except (ValueError, IndexError):
            return None

    def _walk(self, position: int, parts: list[str | int]) -> tuple[int, bool]:
        line = self.line(position)
        for part in parts:
            opening = self.text[position]
            if opening == "{" and isinstance(part, str):
                member = next(((k, v) for key, k, v in self._members(position) if key == part),
                              None)
                if member is None:
                    return line, False
                line, position = self.line(member[0]), member[1]
            elif opening == "[" and isinstance(part, int):
                element = next((v for i, v in enumerate(self._elements(position)) if i == part),
                               None)
                if element is None:
                    return line, False
                line, position = self.line(element), element
            else:
                return line, False
        return line, True

    def _item_starts(self, root: int) -> list[int]:
        """Where each element of the root object's `items` array starts (cached)."""
        if self._items is None:
            items = next((v for key, _, v in self._members(root) if key == "items"), None)
            if items is None or self.text[items] != "[":
                raise ValueError("no items array")
            self._items = list(self._elements(items))
        return self._items

    def _skip(self, position: int) -> int:
        return _WHITESPACE.match(self.text, position).end()  # type: ignore[union-attr]

    def _members(self, position: int) -> Iterator[tuple[str, int, int]]:
        """(key, key start, value start) of each member of the object starting at `position`."""
        text = self.text
        entry = self._first(position, "}")
        while entry is not None:
            key, position = _DECODER.raw_decode(text, entry)
            position = self._skip(position)
            if text[position] != ":":
                raise ValueError("expected ':'")
            value_start = self._skip(position + 1)
            yield key, entry, value_start
            entry = self._after(value_start, "}")

    def _elements(self, position: int) -> Iterator[int]:
        """Start of each element of the array starting at `position`."""
        entry = self._first(position, "]")
        while entry is not None:
            yield entry
            entry = self._after(entry, "]")

    def _first(self, opening: int, closing: str) -> int | None:
        """Start of the first entry of the container opened at `opening`; None when empty."""
        position = self._skip(opening + 1)
        return None if self.text[position] == closing else position

    def _after(self, value_start: int, closing: str) -> int | None:
        """Start of the entry after the value at `value_start`; None at the closing bracket."""
        _, position = _DECODER.raw_decode(self.text, value_start)
        position = self._skip(position)
        if self.text[position] == closing:
            return None
        if self.text[position] != ",":
            raise ValueError(f"expected ',' or '{closing}'")
        return self._skip(position + 1)
