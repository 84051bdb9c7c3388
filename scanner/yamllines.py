"""YAML for kaic's own small files (exceptions, config, baselines), with line numbers kept.

Errors in these files must name the file and line. PyYAML's nodes know their lines; this loader
builds plain dicts that also remember where each mapping and each of its keys started, so a
validation error found later (by pydantic) can still point at `FILE:LINE`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scanner.errors import InputError
from scanner.limits import check_text_depth, check_value, read_text
from scanner.sources.yamlload import _bounded_int, _flatten_mapping


class LineDict(dict):  # type: ignore[type-arg]
    """A dict from YAML that knows the 1-based line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """Line of `key`, or of the mapping when the key is absent."""
        return self.key_lines.get(key, self.line)


class LineList(list):  # type: ignore[type-arg]
    """A list from YAML that knows the 1-based line of each item."""

    item_lines: list[int]


try:
    _Base: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader


class _LineLoader(_Base):  # type: ignore[misc,valid-type]
    """Safe loader whose mappings are LineDicts; dates stay strings (the models parse them)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "mapping keys must be plain scalars", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _as_string(loader: _LineLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _as_string)
# These files sit in the scanned repository, so they are as untrusted as its manifests: the
# same merge-key and integer bounds as the manifest loader (scanner/limits.py).
_LineLoader.flatten_mapping = _flatten_mapping  # type: ignore[method-assign]
_LineLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)


def load_yaml(path: Path, text: str | None = None) -> Any:
    """Parse one YAML document from `path`; InputError `PATH:LINE: ...` when it is not valid."""
    if text is None:
        text = read_text(path, str(path), encoding="utf-8")
    try:
        check_text_depth(text, str(path))
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
        check_value(document, str(path), "the document")
        return document
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"{mark.line + 1}:" if mark is not None else ""
        raise InputError(f"{path}:{line} invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: YAML nesting too deep") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise InputError(f"{path}: invalid YAML value: {exc}".splitlines()[0]) from None


def error_line(document: Any, loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest mapping key along a pydantic error location `loc`."""
    line = document.line if isinstance(document, LineDict) else None
    node = document
    for part in loc:
        if isinstance(node, LineDict):
            line = node.line_of(str(part)) if str(part) in node.key_lines else node.line
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            if isinstance(node, LineList):
                line = node.item_lines[part]
            node = node[part]
            if isinstance(node, LineDict):
                line = node.line
        else:
            break
    return line
