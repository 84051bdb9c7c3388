"""The benchmark corpus is deterministic, and holds what its description claims."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bench import corpus
from scanner.sources import load_inventory


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_and_prefix_stable(tmp_path: Path) -> None:
    a = corpus.generate(tmp_path / "a", 200, snapshot=False)
    b = corpus.generate(tmp_path / "b", 200, snapshot=False)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert a == b
    # A bigger corpus starts with the smaller one: scaling runs add more of the same.
    corpus.generate(tmp_path / "big", 300, snapshot=False)
    small, big = _files(tmp_path / "a" / "manifests"), _files(tmp_path / "big" / "manifests")
    assert all(big[name] == data for name, data in small.items())
    other = corpus.generate(tmp_path / "c", 200, seed=7, snapshot=False)
    assert other["yaml_sha256"] != a["yaml_sha256"]


def test_description_matches_the_files(tmp_path: Path) -> None:
    description = corpus.generate(tmp_path, 300, snapshot=False)
    files = sorted((tmp_path / "manifests").rglob("*.yaml"))
    assert len(files) == description["files"] == 30
    documents = [d for f in files for d in yaml.safe_load_all(f.read_text())]
    assert len(documents) == 300
    assert dict(Counter(d["kind"] for d in documents)) == description["kinds"]
    big = json.loads((tmp_path / "objects.json").read_text())
    assert big["kind"] == "List" and big["items"] == documents
    # Planted violations are really there.
    agents = [d for d in documents if d["kind"] == "Deployment"
              and d["metadata"]["labels"].get("kaic.dev/workload") == "agent"]
    unsandboxed = [d for d in agents if "runtimeClassName" not in d["spec"]["template"]["spec"]]
    assert len(unsandboxed) == description["violations"]["agent-without-sandbox"] > 0
    assert description["kinds"]["NetworkPolicy"] == 30 - description["violations"][
        "no-network-policy"]
    images = [c["image"] for d in documents if d["kind"] in ("Deployment", "JobSet")
              for c in _containers(d)]
    assert sum("@sha256:" not in i for i in images) == description["violations"]["image-by-tag"]


def test_kaic_reads_every_document_in_both_shapes(tmp_path: Path) -> None:
    corpus.generate(tmp_path, 100, snapshot=False)
    from_yaml = load_inventory([str(tmp_path / "manifests")])
    from_json = load_inventory([str(tmp_path / "objects.json")])
    assert len(from_yaml.objects) == len(from_json.objects) == 100
    assert from_yaml.objects == from_json.objects
    assert not from_yaml.skipped


def test_rejects_counts_that_are_not_whole_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="multiple of 10"):
        corpus.generate(tmp_path, 15)


def _containers(doc: dict) -> list[dict]:
    if doc["kind"] == "JobSet":
        return doc["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"][
            "containers"]
    return doc["spec"]["template"]["spec"]["containers"]


def test_all_checks_profile_selects_every_check(tmp_path: Path) -> None:
    # The benchmark scans with every check loaded, not one catalogue's selection.
    from bench import allchecks
    from scanner.policies import load_library
    from scanner.profiles import load_profile

    path = tmp_path / "all.yaml"
    written = allchecks.write_profile(path)
    library = load_library()
    profile = load_profile(str(path))
    selected = {c.id for r in profile.requirements for c in profile.checks_for(r, library.checks)}
    assert written == len(library.checks)
    assert selected == {c.id for c in library.checks}
