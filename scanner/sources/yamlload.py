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
from scanner.limits import MAX_EXPANDED_NODES, MAX_NUMBER_CHARS, check_text_depth, check_value

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


def _bounded_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    # Python refuses to parse ints over 4300 digits (ValueError) and converts huge ones back to
    # text in quadratic time; Kubernetes integers are 64-bit anyway.
    if len(str(node.value)) > MAX_NUMBER_CHARS:
        raise yaml.constructor.ConstructorError(
            None, None, f"integer literal longer than {MAX_NUMBER_CHARS} characters",
            node.start_mark)
    return loader.construct_yaml_int(node)  # type: ignore[arg-type]


def _set_as_mapping(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    # `!!set {a, b}` is a mapping with null values; a Python set would not serialise to JSON.
    data: dict[Any, Any] = {}
    yield data
    data.update(loader.construct_mapping(node))  # type: ignore[arg-type]


def _flatten_mapping(loader: Any, node: yaml.MappingNode) -> None:
    """PyYAML's merge-key (`<<`) flattening, made linear: merged pairs are de-duplicated (the
    last occurrence of a key wins, as in PyYAML), so `a2: {<<: [*a1, *a1]}` chains do not
    double at every step (30 such lines otherwise take hours)."""
    merges = any(key.tag == "tag:yaml.org,2002:merge" for key, _ in node.value)
    yaml.constructor.SafeConstructor.flatten_mapping(loader, node)
    if not merges or len(node.value) < 2:
        return  # nothing was merged here: keys are as written (the common, fast case)
    seen: set[tuple[str, str]] = set()
    kept: list[tuple[yaml.Node, yaml.Node]] = []
    for key_node, value_node in reversed(node.value):
        if isinstance(key_node, yaml.ScalarNode):
            key = (key_node.tag, key_node.value)
            if key in seen:
                continue
            seen.add(key)
        kept.append((key_node, value_node))
    kept.reverse()
    node.value = kept
    loader.merged_pairs = getattr(loader, "merged_pairs", 0) + len(kept)
    if loader.merged_pairs > MAX_EXPANDED_NODES:
        raise yaml.constructor.ConstructorError(
            None, None, f"merge keys expand to more than {MAX_EXPANDED_NODES:,} entries",
            node.start_mark)


ManifestLoader.flatten_mapping = _flatten_mapping  # type: ignore[method-assign]
ManifestLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)
ManifestLoader.add_constructor("tag:yaml.org,2002:set", _set_as_mapping)
ManifestLoader.add_constructor("tag:yaml.org,2002:timestamp", _as_string)
ManifestLoader.add_constructor("tag:yaml.org,2002:binary", _as_string)
ManifestLoader.add_constructor("tag:yaml.org,2002:float", _finite_float)


def load_documents(text: str, uri: str) -> Iterator[tuple[int, Any]]:
    """Yield (document index, value) for each YAML document of `text`.

    Raises InputError `URI:LINE: problem` for invalid YAML and for documents beyond the limits of
    `scanner.limits` (nesting, alias and merge-key expansion, number length).
    """
    try:
        check_text_depth(text, uri)
        for index, doc in enumerate(yaml.load_all(text, Loader=ManifestLoader)):
            check_value(doc, uri, f"document {index + 1}")
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
    except (ValueError, TypeError, OverflowError) as exc:
        # A constructor that rejects a value (e.g. a float too large for sexagesimal notation).
        raise InputError(f"{uri}: invalid YAML value: {exc}".splitlines()[0]) from None


def load_one(text: str | bytes, uri: str) -> Any:
    """The first document of `text` (None when empty), under the same bounds as manifests: for
    small YAML files read from the scanned tree (Chart.yaml, kustomization.yaml), which are as
    untrusted as the manifests. Raises InputError."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"{uri}: not UTF-8 text (byte {exc.start})") from None
    for _, doc in load_documents(text, uri):
        return doc
    return None


class _BoundedSafeLoader(yaml.SafeLoader):
    """PyYAML's pure-Python SafeLoader (same values and error lines as `yaml.safe_load`) with the
    linear merge keys and bounded integers of ManifestLoader."""


_BoundedSafeLoader.flatten_mapping = _flatten_mapping  # type: ignore[method-assign]
_BoundedSafeLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)


def safe_load_bounded(text: str) -> Any:
    """A drop-in for `yaml.safe_load` under the manifest bounds (depth, aliases, merge keys,
    integer length), for policy METADATA blocks and profile files, which a repository can
    supply too. Limit violations raise `yaml.YAMLError`, so callers keep their handling."""
    try:
        check_text_depth(text, "<yaml>")
        value = yaml.load(text, Loader=_BoundedSafeLoader)  # noqa: S506 - a SafeLoader
        check_value(value, "<yaml>", "the document")
    except InputError as exc:
        message = str(exc).removeprefix("<yaml>: ")
        raise yaml.YAMLError(message.replace("<yaml>:", "line ", 1)) from None
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        raise yaml.YAMLError(f"invalid YAML: {exc}".splitlines()[0]) from None
    return value
