"""The manifest source: documents, lists, skipping, errors, lines of fields, hostile YAML."""

from __future__ import annotations

import io
import sys
import textwrap
from pathlib import Path

import pytest

from scanner.errors import InputError
from scanner.inventory import object_ref
from scanner.sources.locate import parse_field_path
from scanner.sources.manifests import ManifestSource

DEPLOYMENT = textwrap.dedent("""\
    # a comment line
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      namespace: agents
    spec:
      template:
        spec:
          containers:
            - name: a
              image: busybox:1.36
            - name: b
              image: nginx:1.27
    ---
    apiVersion: v1
    kind: List
    items:
      - apiVersion: v1
        kind: Service
        metadata: {name: svc}
      - just a string
    ---
    foo: bar
    ---
    """)


def load(tmp_path: Path, text: str, name: str = "m.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return ManifestSource().load([str(path)])


def test_multi_document_list_unwrapped_and_non_objects_counted(tmp_path: Path) -> None:
    inv = load(tmp_path, DEPLOYMENT)
    assert [o["kind"] for o in inv.objects] == ["Deployment", "Service"]
    reasons = sorted(s.reason for s in inv.skipped)
    assert reasons == ["document 3 is not a Kubernetes object",
                       "item 2 of document 2 is not a Kubernetes object"]


def test_field_paths_resolve_to_exact_lines(tmp_path: Path) -> None:
    inv = load(tmp_path, DEPLOYMENT)
    origin = inv.origins[0]
    assert origin.locate(None).line == 2
    assert origin.locate("spec.template.spec.containers[1].image").line == 14
    assert origin.locate("spec.template.spec.containers[0]").line == 11
    assert origin.locate("metadata.namespace").line == 6
    missing = origin.locate("spec.template.spec.runtimeClassName")
    assert (missing.line, missing.approximate) == (9, True)
    assert inv.origins[1].locate("metadata.name").line == 21


def test_field_path_parser_handles_quoted_keys() -> None:
    assert parse_field_path('metadata.labels["kaic.dev/workload"]') == [
        "metadata", "labels", "kaic.dev/workload"]
    assert parse_field_path("spec.a[0].b[12]") == ["spec", "a", 0, "b", 12]


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"bad\.yaml:3: invalid YAML"):
        load(tmp_path, "a: 1\nb: [1, 2\nc: }\n", "bad.yaml")


def test_json_files_and_invalid_json(tmp_path: Path) -> None:
    inv = load(tmp_path, '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}',
               "ns.json")
    assert object_ref(inv.objects[0]).name == "n"
    with pytest.raises(InputError, match=r"broken\.json:1: invalid JSON"):
        load(tmp_path, '{"apiVersion": ', "broken.json")


def test_values_stay_json_compatible(tmp_path: Path) -> None:
    inv = load(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
                         "data: {when: 2024-01-02, nan: .nan, bin: !!binary aGk=}\n")
    assert inv.objects[0]["data"] == {"when": "2024-01-02", "nan": ".nan", "bin": "aGk="}
    inv.input_json()  # must not raise


def test_alias_bomb_is_rejected_quickly(tmp_path: Path) -> None:
    rows = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    rows += [f"a{i}: &a{i} [" + ",".join([f"*a{i-1}"] * 10) + "]" for i in range(1, 10)]
    with pytest.raises(InputError, match="alias"):
        load(tmp_path, "\n".join(rows) + "\n", "bomb.yaml")


def test_recursive_alias_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="recursive"):
        load(tmp_path, "a: &x [1, *x]\n", "loop.yaml")


def test_directory_walk_is_recursive_sorted_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    for rel in ("b/z.yml", "a.yaml", ".git/x.yaml", "notes.txt"):
        (tmp_path / rel).write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n")
    inv = ManifestSource().load([str(tmp_path)])
    assert [o.key[0] for o in inv.origins] == [str(tmp_path / "a.yaml"), str(tmp_path / "b/z.yml")]


def test_missing_path_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        ManifestSource().load([str(tmp_path / "nope")])
    (tmp_path / "latin1.yaml").write_bytes(b"a: \xe9\xff\n")
    with pytest.raises(InputError, match="not UTF-8"):
        ManifestSource().load([str(tmp_path / "latin1.yaml")])


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(DEPLOYMENT))
    inv = ManifestSource().load(["-"])
    assert inv.origins[0].uri == "<stdin>"
    assert inv.origins[0].locate("spec.template.spec.containers[1].image").line == 14
