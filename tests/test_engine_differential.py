"""Differential test: every check on every fixture, evaluated by regorus (the default engine) and
by regopy (rego-cpp, an independent implementation).

Two comparisons per check and fixture:

- **objects**: which objects each rule flags (the `ref` of every deny, warn and evidence result,
  and the number of unknown results) must be identical. This compares the policy logic.
- **results**: the full deny/warn/evidence/unknown sets (messages and fields included) must be
  identical, except where rego-cpp hits its known sprintf bug and returns malformed JSON
  (docs/engines.md); that one engine bug is recognised by its error, not listed pair by pair.

Every other divergence must be listed in KNOWN_DIVERGENCES with its cause (and in
docs/engines.md); a new divergence, or a listed one that no longer occurs, fails the test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scanner.engine import RegoRuntimeError, close_engine, create_engine
from scanner.errors import EngineError, KaicError
from scanner.evaluate import RULES
from scanner.policies import Check, PolicyLibrary, load_library
from scanner.sources import load_inventory
from tests.conftest import FIXTURES

pytest.importorskip("regopy", reason="regopy (kaic[regopy]) has no wheel for this platform")

# Engine bugs behind the listed divergences (docs/engines.md has the reproductions). Rewriting
# the few affected lines portably (concat instead of sprintf in lib/images.rego, a count instead
# of `every … { not … }` in image_signatures) makes every listed divergence disappear, which
# shows there is no other cause.
_IMAGES = ("rego-cpp bugs 2 and 5: lib/images.rego builds normalized references and glob "
           "regexes with sprintf of computed strings, which rego-cpp renders with quotes, so "
           "no sigstore glob matches; and `every v in x.verifiers { not _enforced_in(…) }` "
           "always holds under rego-cpp, so covered images are also warned about")

# (comparison, check id, fixture directory relative to fixtures/) -> why the engines differ.
KNOWN_DIVERGENCES: dict[tuple[str, str, str], str] = {
    ("objects", "image-signatures", "checks/image-signatures/bad"): _IMAGES,
    ("objects", "image-signatures", "checks/image-signatures/good"): _IMAGES,
    ("objects", "image-signatures", "examples/ai-platform"): _IMAGES,
    ("objects", "image-signatures", "examples/bad-bundle"): _IMAGES,
}

# The documented rego-cpp sprintf bug shows as this runtime error (scanner/engine/regopy_worker).
SPRINTF_BUG = "rego-cpp returned malformed JSON"

# regopy is slow on large inputs: the differential test keeps to small fixtures.
MAX_FIXTURE_BYTES = 200_000


def _fixture_dirs() -> list[Path]:
    dirs = sorted(d for d in (FIXTURES / "checks").glob("*/*") if d.is_dir())
    dirs += sorted(d for d in (FIXTURES / "examples").glob("*") if d.is_dir())
    return [d for d in dirs
            if sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) <= MAX_FIXTURE_BYTES]


FIXTURE_DIRS = _fixture_dirs()


def _objects_package(check: Check) -> str:
    return f"kaic_differential.{check.package}"


def objects_module(check: Check) -> str:
    """A helper module that reduces a check's results to the objects they name, avoiding the
    strings rego-cpp's sprintf gets wrong (refs come straight from the input)."""
    rules = "\n".join(
        f"{kind.value} := [_ref(r) | some r in data.{check.package}.{kind.value}]"
        for kind in RULES if kind.value != "unknown"
    )
    return (f"package {_objects_package(check)}\n\nimport rego.v1\n\n{rules}\n\n"
            f"unknown := count([r | some r in data.{check.package}.unknown])\n\n"
            '_ref(r) := object.get(r, "ref", null) if is_object(r)\n\n'
            "_ref(r) := r if not is_object(r)\n")


class _Engines:
    """One regorus and one regopy engine with the library loaded; regopy restarts after a
    crash so that one crash costs one comparison, not the rest of the run."""

    def __init__(self, library: PolicyLibrary) -> None:
        self.library = library
        self.modules = dict(library.modules)
        for check in library.checks:
            self.modules[f"differential/{check.id}.rego"] = objects_module(check)
        self.regorus = self._load("regorus")
        self.regopy = self._load("regopy")

    def _load(self, name: str) -> Any:
        engine = create_engine(name)
        for path, text in self.modules.items():
            engine.add_module(path, text)
        return engine

    def restart_regopy(self, input_json: str) -> None:
        close_engine(self.regopy)
        self.regopy = self._load("regopy")
        self.regopy.set_input_json(input_json)


@pytest.fixture(scope="module")
def engines():
    """Both engines, shared by every fixture of this module."""
    try:
        pair = _Engines(load_library())
    except KaicError as exc:
        # rego-cpp 1.5.2 rejects or crashes on the merged library ("Unable to unify due to
        # cycle", SIGSEGV; docs/engines.md). Recorded as an expected failure, not a pass.
        pytest.xfail(f"regopy cannot load the full library: {str(exc)[:200]}")
    # Probe once: rego-cpp 1.5.2 aborts (SIGABRT in basic_string_view::substr) on every query
    # once the whole library is loaded; restarting it per check would take an hour of CI.
    probe = load_inventory([str(FIXTURES / "examples" / "bad-bundle")]).input_json()
    pair.regopy.set_input_json(probe)
    for check in pair.library.checks:  # the crash is not deterministic: probe every check
        try:
            pair.regopy.query(f"data.{check.package}")
        except EngineError as exc:
            close_engine(pair.regopy)
            pytest.xfail(f"regopy crashes on the full library: {str(exc)[:200]}")
        except RegoRuntimeError:
            pass
    yield pair
    close_engine(pair.regopy)


def _canonical(document: Any) -> dict[str, Any]:
    document = document if isinstance(document, dict) else {}
    sets: dict[str, Any] = {}
    for kind in RULES:
        value = document.get(kind.value)
        if isinstance(value, int):
            sets[kind.value] = value
            continue
        items = value.values() if isinstance(value, dict) else (value or [])
        sets[kind.value] = sorted(json.dumps(i, sort_keys=True) for i in items)
    return sets


def _evaluate(engines: _Engines, engine_name: str, query: str, input_json: str
              ) -> dict[str, Any] | str:
    engine = getattr(engines, engine_name)
    try:
        return _canonical(engine.query(query))
    except RegoRuntimeError as exc:
        return f"runtime error: {exc}"
    except EngineError as exc:  # a rego-cpp crash (docs/engines.md): restart for the next test
        engines.restart_regopy(input_json)
        pytest.xfail(f"regopy crashed: {str(exc)[:200]}")


def _difference(a: dict[str, Any] | str, b: dict[str, Any] | str) -> str:
    if isinstance(a, str) or isinstance(b, str):
        return (f"regorus: {a if isinstance(a, str) else 'ok'}; "
                f"regopy: {b if isinstance(b, str) else 'ok'}")
    parts = []
    for kind in a:
        if a[kind] != b[kind]:
            if isinstance(a[kind], int):
                parts.append(f"{kind}: regorus {a[kind]}, regopy {b[kind]}")
                continue
            only_a = sorted(set(a[kind]) - set(b[kind]))
            only_b = sorted(set(b[kind]) - set(a[kind]))
            parts.append(f"{kind}: only regorus {only_a}, only regopy {only_b}")
    return "; ".join(parts)


@pytest.mark.parametrize("fixture", FIXTURE_DIRS,
                         ids=[str(d.relative_to(FIXTURES)) for d in FIXTURE_DIRS])
def test_regorus_and_regopy_agree(engines, fixture: Path) -> None:
    rel = str(fixture.relative_to(FIXTURES))
    input_json = load_inventory([str(fixture)]).input_json()
    engines.regorus.set_input_json(input_json)
    engines.regopy.set_input_json(input_json)
    diverging: dict[tuple[str, str, str], str] = {}
    for check in engines.library.checks:
        for comparison, query in (("objects", f"data.{_objects_package(check)}"),
                                  ("results", f"data.{check.package}")):
            expected = _evaluate(engines, "regorus", query, input_json)
            got = _evaluate(engines, "regopy", query, input_json)
            if got == expected:
                continue
            if comparison == "results" and isinstance(got, str) and SPRINTF_BUG in got:
                continue  # the documented rego-cpp sprintf bug
            diverging[(comparison, check.id, rel)] = _difference(expected, got)
    known = {k for k in KNOWN_DIVERGENCES if k[2] == rel}
    unexpected = {k: v for k, v in diverging.items() if k not in known}
    vanished = sorted(known - set(diverging))
    assert not unexpected, "new engine divergence(s):\n" + "\n".join(
        f"  {comparison} of {cid} on {fx}: {why}"
        for (comparison, cid, fx), why in unexpected.items())
    assert not vanished, f"listed divergences no longer occur, remove them: {vanished}"


def test_every_check_has_fixtures_in_the_differential_test(library) -> None:
    assert FIXTURE_DIRS, "no fixtures found under fixtures/checks and fixtures/examples"
    covered = {d.parent.name for d in FIXTURE_DIRS if d.parent.parent.name == "checks"}
    missing = sorted({c.id for c in library.checks} - covered)
    assert not missing, f"checks without fixtures/checks/<id>/: {missing}"


def test_the_objects_comparison_sees_a_real_difference(engines) -> None:
    # Guard against a vacuous comparison: the objects query must name flagged objects.
    bad = FIXTURES / "examples" / "bad-bundle"
    engines.regorus.set_input_json(load_inventory([str(bad)]).input_json())
    flagged = [
        engines.regorus.query(f"data.{_objects_package(c)}") for c in engines.library.checks
    ]
    assert any(doc and doc.get("deny") for doc in flagged)
