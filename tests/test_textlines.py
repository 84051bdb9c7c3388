"""Field lines found in the text agree with the composed-node walk, or the text index declines."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner.sources.locate import walk_nodes
from scanner.sources.textlines import TextIndex
from scanner.sources.yamlload import ManifestLoader

ROOT = Path(__file__).resolve().parent.parent
# Real manifests: the upstream copies, examples and per-check fixtures of the repository.
FIXTURES = ROOT / "fixtures"


def paths(value: Any, prefix: tuple = ()) -> Iterator[list]:
    """Every path into `value`, plus one missing key and one index past the end per level."""
    yield list(prefix)
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str):
                yield from paths(child, (*prefix, key))
        yield [*prefix, "noSuchField"]
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from paths(child, (*prefix, i))
        yield [*prefix, len(value)]


def compare(text: str) -> tuple[int, int]:
    """(answered, declined) over every path of every document; asserts each answer."""
    index = TextIndex.build(text)
    nodes = list(yaml.compose_all(text, Loader=ManifestLoader))
    docs = list(yaml.load_all(text, Loader=ManifestLoader))
    answered = declined = 0
    for i, (node, doc) in enumerate(zip(nodes, docs, strict=True)):
        if doc is None:
            continue
        if index is None:
            declined += 1
            continue
        assert index.object_line(i) == node.start_mark.line + 1
        for path in paths(doc):
            got = index.locate(i, path)
            if got is None:
                declined += 1
                continue
            answered += 1
            _, found, line = walk_nodes(node, path)
            assert got == (line, found), (i, path)
    return answered, declined


MANIFEST = textwrap.dedent("""\
    # leading comment
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web   # trailing comment
      labels: {app: web}
    spec:
      template:
        spec:
          containers:
          - name: a
            image: busybox
            args:
              - -c
              - |
                echo "not: a key"
                name: neither
          -   name: b
              image: nginx
          volumes: []
    ---
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: cm
    data:
      script: >
        folded
      empty:
    """)


def test_block_yaml_lines_match_composed_nodes() -> None:
    answered, _ = compare(MANIFEST)
    assert answered > 20


@pytest.mark.parametrize("text", [
    "a: 1\n...\n", "%YAML 1.1\n---\na: 1\n", "--- {a: 1}\n", "a:\n\tb: 1\n",
])
def test_unmodelled_structure_declines(text: str) -> None:
    assert TextIndex.build(text) is None


def test_quoted_keys_and_flow_decline_instead_of_guessing() -> None:
    text = 'a:\n  "b": 1\n  c: {d: 1}\n'
    index = TextIndex.build(text)
    assert index is not None
    assert index.locate(0, ["a", "b"]) is None
    assert index.locate(0, ["a", "c", "d"]) is None


def test_upstream_manifests() -> None:
    answered = declined = 0
    for path in sorted(FIXTURES.rglob("*.yaml")):
        if "hostile" in path.relative_to(FIXTURES).parts:
            continue  # inputs that crash libyaml itself; kaic refuses them before parsing
        text = path.read_text(encoding="utf-8-sig")
        try:
            a, d = compare(text)
        except yaml.YAMLError:
            continue
        answered, declined = answered + a, declined + d
    assert answered > 10 * declined  # the text walk answers nearly everything
