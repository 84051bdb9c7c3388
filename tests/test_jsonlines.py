"""Field lines found in JSON text agree with the composed-node walk, path by path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner.inventory import Origin
from scanner.sources.jsonlines import JsonIndex
from scanner.sources.locate import YamlLocator, walk_nodes
from scanner.sources.yamlload import ManifestLoader
from tests.test_textlines import FIXTURES, paths


def _upstream_objects() -> list[dict[str, Any]]:
    objects = []
    for path in sorted((FIXTURES / "upstream").rglob("*.yaml")):
        try:
            objects += [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
        except yaml.YAMLError:
            continue
    return objects


OBJECTS = _upstream_objects()[:60]

# The shapes JSON inputs come in: kubectl's indented output, compact one-line files, odd
# spacing; a single object and a `List` of them.
LAYOUTS = {
    "indented": lambda v: json.dumps(v, indent=4),
    "compact": lambda v: json.dumps(v, separators=(",", ":")),
    "spaced": lambda v: json.dumps(v, indent="\t", separators=(" ,\n ", " :  ")),
}


def _composed_answer(text: str, item_index: int | None, parts: list) -> tuple[int, bool]:
    root: Any = yaml.compose(text, Loader=ManifestLoader)
    if item_index is not None:
        root, found, _ = walk_nodes(root, ["items", item_index])
        assert found
    _, found, line = walk_nodes(root, parts)
    return line, found


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_list_items_every_path_matches_the_composed_walk(layout: str) -> None:
    document = {"apiVersion": "v1", "kind": "List", "items": OBJECTS}
    text = LAYOUTS[layout](document)
    index = JsonIndex.build(text)
    assert index is not None
    composed: Any = yaml.compose(text, Loader=ManifestLoader)
    checked = 0
    for i, obj in enumerate(OBJECTS):
        item, found, _ = walk_nodes(composed, ["items", i])
        assert found
        for parts in paths(obj):
            _, found, line = walk_nodes(item, parts)
            assert index.locate(i, parts) == (line, found), (layout, i, parts)
            checked += 1
    assert checked > 2_000


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_single_object_paths_match(layout: str) -> None:
    obj = OBJECTS[0]
    text = LAYOUTS[layout](obj)
    index = JsonIndex.build(text)
    assert index is not None
    for parts in paths(obj):
        assert index.locate(None, parts) == _composed_answer(text, None, parts)


def test_escapes_duplicates_and_odd_values() -> None:
    # Keys with escapes, a duplicated key (the first one is reported, as the walk does), empty
    # containers, numbers and literals to step over.
    text = ('{"a\\"b": {"x": 1},\n "dup": [1],\n "dup": [2, 3],\n "e": {}, "f": [],\n'
            ' "n": -1.5e3, "t": true, "z": null, "s": "}]\\n{[",\n "last": {"k": "v"}}')
    index = JsonIndex.build(text)
    assert index is not None
    for parts in (['a"b', "x"], ["dup", 0], ["dup", 1], ["e", "nope"], ["f", 0], ["last", "k"],
                  ["s", 0], ["n"], ["missing"]):
        assert index.locate(None, parts) == _composed_answer(text, None, parts), parts


def test_not_json_or_not_a_list_declines() -> None:
    assert JsonIndex.build("kind: List\nitems: []\n") is None
    index = JsonIndex.build('{"kind": "Pod"}')
    assert index is not None and index.locate(0, ["kind"]) is None  # no items array
    assert JsonIndex.build('{"items": [1]}').locate(5, []) is None  # type: ignore[union-attr]


def test_locator_answers_list_items_from_the_text(tmp_path: Path) -> None:
    # The locator answers from the JSON index without composing the file as YAML.
    document = {"apiVersion": "v1", "kind": "List", "items": OBJECTS[:5]}
    path = tmp_path / "objects.json"
    path.write_text(json.dumps(document, indent=2))
    locator = YamlLocator()
    origin = Origin(str(path), locator, (str(path), 0, 3))
    location = locator.locate(origin, "metadata.name")
    line, found = _composed_answer(path.read_text(), 3, ["metadata", "name"])
    assert (location.line, location.approximate) == (line, not found)
    assert not locator._trees  # nothing was composed
