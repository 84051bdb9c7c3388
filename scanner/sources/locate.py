"""Line numbers for objects and fields in YAML files, computed only when a finding needs them.

Scanning parses every file with the fast C loader, which keeps no marks. When a finding names an
object (and maybe a field path such as `spec.template.spec.containers[0].image`), the file is
composed once more into nodes with line marks, cached, and the path is walked there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from scanner.errors import InputError
from scanner.limits import check_text_depth, read_file
from scanner.models import SourceLocation
from scanner.sources.jsonlines import JsonIndex
from scanner.sources.textlines import TextIndex
from scanner.sources.yamlload import ManifestLoader

if TYPE_CHECKING:
    from scanner.inventory import Origin

# Parsed files kept for line lookups; the evaluator resolves findings file by file, so a few
# suffice, and memory stays flat however many files a scan has.
CACHED_FILES = 32

_TOKEN = re.compile(r'\.?([^.\[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def parse_field_path(path: str) -> list[str | int]:
    """Split `a.b[0]["x.y/z"].c` into keys and indexes; unparseable tails are dropped."""
    parts: list[str | int] = []
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None or m.end() == pos:
            break
        key, index, quoted = m.groups()
        if index is not None:
            parts.append(int(index))
        elif quoted is not None:
            parts.append(quoted.replace('\\"', '"'))
        else:
            parts.append(key)
        pos = m.end()
    return parts


def walk_nodes(node: yaml.Node, parts: list[str | int]) -> tuple[yaml.Node, bool, int]:
    """Follow `parts` from `node`; return the deepest node reached, whether all parts resolved,
    and the line (1-based) to report: a mapping key's line for keys, the item's line for items."""
    line = node.start_mark.line + 1
    for part in parts:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == part:
                    node, line = value_node, key_node.start_mark.line + 1
                    break
            else:
                return node, False, line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node, False, line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return node, False, line
    return node, True, line


_T = TypeVar("_T")
_I = TypeVar("_I")


def _cached(cache: dict[str, _T], path: str, build: Callable[[], _T]) -> _T:
    """`cache[path]`, built on first use; at most CACHED_FILES entries, the oldest evicted."""
    if path not in cache:
        if len(cache) >= CACHED_FILES:
            del cache[next(iter(cache))]
        cache[path] = build()
    return cache[path]


def _built(build: Callable[[str], _I | None], text: str | None) -> _I | None:
    """An index of `text`, or None when the file could not be read."""
    return build(text) if text is not None else None


@dataclass
class YamlLocator:
    """Finds lines in files on disk (or in text kept from stdin); one composed tree per file."""

    texts: dict[str, str] = field(default_factory=dict)
    _trees: dict[str, list[yaml.Node | None]] = field(default_factory=dict)
    _indexes: dict[str, TextIndex | None] = field(default_factory=dict)
    _json_indexes: dict[str, JsonIndex | None] = field(default_factory=dict)

    def _read(self, path: str) -> str | None:
        text = self.texts.get(path)
        if text is None:
            try:
                text = Path(path).read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError):
                return None
        return text

    def _fast(self, origin: Origin, field_path: str | None) -> SourceLocation | None:
        """The answer from the text itself (see textlines), or None to compose the file."""
        path, doc_index, item_index = origin.key
        if item_index is not None:
            return None
        index = _cached(self._indexes, path, lambda: _built(TextIndex.build, self._read(path)))
        if index is None:
            return None
        if not field_path:
            line = index.object_line(doc_index)
            return None if line is None else SourceLocation(uri=origin.uri, line=line)
        answer = index.locate(doc_index, parse_field_path(field_path))
        if answer is None:
            return None
        line, found = answer
        return SourceLocation(uri=origin.uri, line=line, approximate=not found)

    def _json(self, origin: Origin, field_path: str | None) -> SourceLocation | None:
        """The answer for a JSON file, from its text (see jsonlines), or None to compose it."""
        path, doc_index, item_index = origin.key
        if doc_index != 0 or not path.endswith(".json"):
            return None
        index = _cached(self._json_indexes, path,
                        lambda: _built(JsonIndex.build, self._read(path)))
        if index is None:
            return None
        answer = index.locate(item_index, parse_field_path(field_path) if field_path else [])
        if answer is None:
            return None
        line, found = answer
        return SourceLocation(uri=origin.uri, line=line, approximate=not found)

    def _documents(self, origin: Origin) -> list[yaml.Node | None]:
        path = origin.key[0]
        return _cached(self._trees, path, lambda: self._compose(path, origin.uri))

    def _compose(self, path: str, uri: str) -> list[yaml.Node | None]:
        try:
            text = self.texts.get(path)
            if text is None:
                # Bounded like the first read: the file may have changed since.
                text = read_file(Path(path), uri).decode("utf-8-sig")
            check_text_depth(text, uri)
            return list(yaml.compose_all(text, Loader=ManifestLoader))
        except (InputError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
            return []

    def locate(self, origin: Origin, field_path: str | None) -> SourceLocation:
        """Line of the field in the object's document; the object's own line if not found."""
        fast = self._json(origin, field_path)
        if fast is None:
            fast = self._fast(origin, field_path)
        if fast is not None:
            return fast
        _, doc_index, item_index = origin.key
        docs = self._documents(origin)
        if doc_index >= len(docs) or docs[doc_index] is None:
            return SourceLocation(uri=origin.uri, line=None, approximate=True)
        root: Any = docs[doc_index]
        if item_index is not None:
            root, found, _ = walk_nodes(root, ["items", item_index])
            if not found:
                return SourceLocation(uri=origin.uri, line=None, approximate=True)
        object_line = root.start_mark.line + 1
        if not field_path:
            return SourceLocation(uri=origin.uri, line=object_line)
        _, found, line = walk_nodes(root, parse_field_path(field_path))
        return SourceLocation(uri=origin.uri, line=line, approximate=not found)
