"""The policy library as a whole: metadata, Rego unit tests, fixtures, profile coverage, and the
conftest `--combine` input shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scanner.engine import create_engine
from scanner.evaluate import prepare_engine
from scanner.policies import PolicyLibrary, load_library
from scanner.policy_tests import run_policy_tests
from scanner.profiles import available_profiles, load_profile
from scanner.sources import load_inventory
from tests.conftest import FIXTURES

LIBRARY = load_library()
CHECKS = {c.id: c for c in LIBRARY.checks}
CHECK_FIXTURES = FIXTURES / "checks"


def _fixture_files(kind: str) -> list[tuple[str, Path]]:
    return [
        (check_id, path)
        for check_id in sorted(CHECKS)
        for path in sorted((CHECK_FIXTURES / check_id / kind).glob("*.y*ml"))
    ]


_ENGINES: dict[int, Any] = {}


def _evaluate(library: PolicyLibrary, package: str, input_doc: Any) -> dict[str, Any]:
    # One engine per library for the whole module: compiling the library per case is slow.
    engine = _ENGINES.get(id(library))
    if engine is None:
        engine = _ENGINES[id(library)] = prepare_engine(library)
    engine.set_input_json(json.dumps(input_doc))
    value = engine.query(f"data.{package}")
    return value if isinstance(value, dict) else {}


def test_library_has_checks() -> None:
    assert CHECKS, "no checks were loaded"


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_every_check_has_tests_and_fixtures(check_id: str) -> None:
    check = CHECKS[check_id]
    test_file = check.path.with_name(check.path.stem + "_test.rego")
    assert test_file.is_file(), f"{check.path} has no {test_file.name}"
    assert list((CHECK_FIXTURES / check_id / "good").glob("*.y*ml")), "no good fixture"
    assert list((CHECK_FIXTURES / check_id / "bad").glob("*.y*ml")), "no bad fixture"
    assert check.metadata.custom.inputs, "METADATA must declare the inputs it reads"
    assert check.package.split(".")[0] == "kaic"


def test_rego_unit_tests_pass() -> None:
    results = run_policy_tests()
    assert results, "no Rego tests found"
    failed = [f"{r.package}.{r.rule}: {r.detail}" for r in results if not r.passed]
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize(("check_id", "path"), _fixture_files("good"),
                         ids=lambda v: v if isinstance(v, str) else v.name)
def test_good_fixture_passes(check_id: str, path: Path) -> None:
    inventory = load_inventory([str(path)])
    result = _evaluate(LIBRARY, CHECKS[check_id].package, inventory.input_document())
    assert not result.get("deny"), result.get("deny")
    assert result.get("evidence"), "a good fixture must show evidence"


@pytest.mark.parametrize(("check_id", "path"), _fixture_files("bad"),
                         ids=lambda v: v if isinstance(v, str) else v.name)
def test_bad_fixture_fails(check_id: str, path: Path) -> None:
    inventory = load_inventory([str(path)])
    result = _evaluate(LIBRARY, CHECKS[check_id].package, inventory.input_document())
    assert result.get("deny"), f"{path.name} should violate {check_id}"


@pytest.mark.parametrize(("check_id", "path"), _fixture_files("bad"),
                         ids=lambda v: v if isinstance(v, str) else v.name)
def test_conftest_combine_shape_gives_the_same_denies(check_id: str, path: Path) -> None:
    """conftest --combine passes [{path, contents}] with contents a document or a list."""
    inventory = load_inventory([str(path)])
    kaic = _evaluate(LIBRARY, CHECKS[check_id].package, inventory.input_document())
    combine = [{"path": str(path), "contents": inventory.objects}]
    conftest = _evaluate(LIBRARY, CHECKS[check_id].package, combine)
    assert sorted(d["msg"] for d in conftest.get("deny", [])) == sorted(
        d["msg"] for d in kaic.get("deny", []))


@pytest.mark.parametrize("profile_name", available_profiles())
def test_every_profile_requirement_has_a_check(profile_name: str) -> None:
    profile = load_profile(profile_name)
    missing = [r.id for r in profile.requirements if not profile.checks_for(r, LIBRARY.checks)]
    assert not missing, f"{profile_name}: requirements without a check: {missing}"


def test_checks_only_name_known_requirements() -> None:
    known: dict[str, set[str]] = {}
    for name in available_profiles():
        profile = load_profile(name)
        known.setdefault(profile.catalogue, set()).update(r.id for r in profile.requirements)
    for check in LIBRARY.checks:
        for catalogue, ids in check.metadata.custom.requirements.items():
            assert set(ids) <= known.get(catalogue, set()), (check.id, catalogue, ids)


def test_every_module_compiles_in_a_fresh_engine() -> None:
    engine = create_engine()
    for path, text in {**LIBRARY.modules, **LIBRARY.tests}.items():
        engine.add_module(path, text)


def test_bundled_metadata_fast_loader_reads_what_the_bounded_loader_reads() -> None:
    # kaic's own METADATA blocks are parsed with libyaml; custom policy directories with the
    # bounded pure-Python loader. Both must give the same metadata for every bundled check.
    from scanner.policies import parse_metadata

    for check in load_library().checks:
        text = check.path.read_text(encoding="utf-8")
        fast = parse_metadata(text, check.path, bundled=True)
        bounded = parse_metadata(text, check.path)
        assert fast is not None and fast == bounded == check.metadata, check.id
