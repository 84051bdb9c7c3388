"""The YAML fast path returns exactly what PyYAML's loader returns, or declines."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import InputError
from scanner.sources import yamlfast
from scanner.sources.yamlload import ManifestLoader, load_documents

pytestmark = pytest.mark.skipif(not yamlfast.available(), reason="ryaml is not installed")

ROOT = Path(__file__).resolve().parent.parent
# Real manifests: the upstream copies, examples and per-check fixtures of the repository.
FIXTURES = ROOT / "fixtures"


def pyyaml(text: str) -> list:
    return list(yaml.load_all(text, Loader=ManifestLoader))


# Spellings where YAML 1.1 (PyYAML) and 1.2 (ryaml) disagree, in key and value position.
DISAGREEING = ["yes", "No", "on", "OFF", "0644", "1e3", "1_000", "12:30", ".inf", "-.Inf",
               ".nan", "0o17", "+.5", "1.0e5", "0755"]


@pytest.mark.parametrize("token", DISAGREEING)
@pytest.mark.parametrize("template", ["a: {t}\n", "- {t}\n", "{t}: x\n", "a: [b, {t}]\n",
                                      "a: {{b: {t}}}\n", "a: 1\r\nb: {t}\r\n"])
def test_disagreeing_scalars_take_the_pyyaml_path(token: str, template: str) -> None:
    text = template.format(t=token)
    assert yamlfast.fast_documents(text, ManifestLoader) is None
    assert [doc for _, doc in load_documents(text, "t.yaml")] == pyyaml(text)


@pytest.mark.parametrize("text", [
    "a: &x 1\nb: *x\n",            # aliases: the bomb check needs PyYAML
    "a: !!str 1\n",                # tags
    "x: &a {k: 1}\ny:\n  <<: *a\n",  # merge keys
    "%YAML 1.1\n---\na: 1\n",      # directives
    "? a\n: b\n",                  # complex keys
    'a: "tab\\tbackslash"\n',      # escapes
    "a: b\x07\n",                  # a character YAML forbids
])
def test_constructs_with_other_meanings_take_the_pyyaml_path(text: str) -> None:
    assert yamlfast.fast_documents(text, ManifestLoader) is None


@pytest.mark.parametrize("text", [
    "", "\n", "# only a comment\n", "---\n", "---\n---\n", "a: 1\n---\n", "---\na: 1\n",
    "a: 1\n...\n---\nb: 2\n", "# c\n---\na: 1\n---\n# c\n", "a: 1\n---\n\n---\nb: 2\n",
    "- a\n- b\n", "x\n", "--- a\n--- b\n",
    "a: 1\nb: -2\nc: 1.5\nd: true\ne: null\nf: ~\ng:\nh: 64Gi\ni: 2024-01-01\nj: 'on'\n",
    "ports: [{port: 80, name: http}]\nlabels: {app: web, tier: '1'}\n",
    "dup: 1\nother: 2\ndup: 3\n",
])
def test_fast_path_values_and_document_indexes_equal_pyyaml(text: str) -> None:
    fast = yamlfast.fast_documents(text, ManifestLoader)
    expected = pyyaml(text)
    if fast is not None:
        assert fast == expected
    assert [doc for _, doc in load_documents(text, "t.yaml")] == expected


def test_common_manifest_takes_the_fast_path() -> None:
    text = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
            "  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: a\n"
            "        image: nginx:1.27\n        resources: {limits: {cpu: '2', memory: 4Gi}}\n")
    assert yamlfast.fast_documents(text, ManifestLoader) == pyyaml(text)


def test_errors_are_pyyamls() -> None:
    with pytest.raises(InputError, match=r"^bad\.yaml:2: invalid YAML"):
        list(load_documents("a: [1, 2\nb: c\n", "bad.yaml"))


SCALAR_CHARS = st.sampled_from(list("0123456789+-._:eExXoObBaAfFnNyYsStTuUlLiI~= "))


@settings(max_examples=400, deadline=None)
@given(st.text(SCALAR_CHARS, min_size=1, max_size=8))
def test_any_scalar_either_declines_or_agrees(token: str) -> None:
    """Random number- and word-like scalars in several positions: whenever the fast path
    answers, its answer is PyYAML's."""
    for template in ("a: {t}\n", "- {t}\n", "{t}: x\n", "a: [{t}, b]\n"):
        text = template.format(t=token)
        try:
            expected = pyyaml(text)
        except yaml.YAMLError:
            continue
        fast = yamlfast.fast_documents(text, ManifestLoader)
        assert fast is None or fast == expected, (text, fast, expected)


def test_upstream_manifests_read_identically() -> None:
    files = sorted(FIXTURES.rglob("*.yaml")) + sorted(FIXTURES.rglob("*.yml"))
    # fixtures/hostile holds inputs that crash libyaml itself (kaic refuses them earlier).
    files = [f for f in files if "hostile" not in f.relative_to(FIXTURES).parts]
    fast = 0
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        try:
            expected = pyyaml(text)
        except yaml.YAMLError:
            continue
        got = yamlfast.fast_documents(text, ManifestLoader)
        if got is not None:
            fast += 1
            assert got == expected, path
    assert fast > len(files) // 2  # the fast path is the common case on real manifests
