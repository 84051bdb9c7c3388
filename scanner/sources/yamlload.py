"""Safe, fast YAML loading for untrusted manifests.

PyYAML's C loader parses; a few constructors are replaced so that every value is plain JSON
(timestamps and binary stay strings, NaN/Inf become strings), and documents whose aliases would
expand beyond a fixed budget are rejected before anything serialises them (a "billion laughs"
document is tiny in memory, because aliases share objects, but explodes when turned into JSON).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import yaml

from scanner.errors import InputError
from scanner.sources.yamlfast import fast_documents

# Expanded size (containers + scalars) allowed per document once aliases are followed.
MAX_EXPANDED_NODES = 2_000_000

try:
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader


class ManifestLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """CSafeLoader whose output is always JSON-compatible."""


def _as_string(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


def _finite_float(loader: yaml.SafeLoader, node: yaml.Node) -> float | str:
    value = loader.construct_yaml_float(node)  # type: ignore[arg-type]
    return value if math.isfinite(value) else str(loader.construct_scalar(node))  # type: ignore[arg-type]


ManifestLoader.add_constructor("tag:yaml.org,2002:timestamp", _as_string)
ManifestLoader.add_constructor("tag:yaml.org,2002:binary", _as_string)
ManifestLoader.add_constructor("tag:yaml.org,2002:float", _finite_float)


def load_documents(text: str, uri: str) -> Iterator[tuple[int, Any]]:
    """Yield (document index, value) for each YAML document of `text`.

    Raises InputError `URI:LINE: problem` for invalid YAML and for alias bombs.
    """
    fast = fast_documents(text, ManifestLoader)
    if fast is not None:
        # Same values as PyYAML's (see yamlfast), built natively; aliases never take this path.
        yield from enumerate(fast)
        return
    check_aliases = "&" in text and "*" in text
    try:
        for index, doc in enumerate(yaml.load_all(text, Loader=ManifestLoader)):
            if check_aliases and isinstance(doc, dict | list):
                _check_expansion(doc, uri, index)
            yield index, doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"{mark.line + 1}:" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(f"{uri}:{line} invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{uri}: invalid YAML: {exc}".splitlines()[0]) from None
    except RecursionError:
        raise InputError(f"{uri}: YAML nesting too deep") from None


def _check_expansion(doc: Any, uri: str, index: int) -> None:
    """Reject a document whose alias-expanded size exceeds the budget, or that is recursive."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(value: Any) -> int:
        if not isinstance(value, dict | list):
            return 1
        key = id(value)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise InputError(f"{uri}: document {index + 1} is recursive (an alias contains itself)")
        in_progress.add(key)
        children = value.values() if isinstance(value, dict) else value
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_EXPANDED_NODES:
                raise InputError(
                    f"{uri}: document {index + 1} expands to more than {MAX_EXPANDED_NODES:,} "
                    "nodes through YAML aliases (alias bomb?)"
                )
        in_progress.discard(key)
        sizes[key] = total
        return total

    try:
        size(doc)
    except RecursionError:
        raise InputError(f"{uri}: document {index + 1}: YAML nesting too deep") from None
