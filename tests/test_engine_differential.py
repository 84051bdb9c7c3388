"""Differential test: every check on every fixture, evaluated by regorus (the default engine) and
by regopy (rego-cpp, an independent implementation).

Each check is evaluated with only the modules it reaches (its import closure, computed from
the module texts), one engine pair per check for all fixtures: a module rego-cpp cannot
compile or crashes on then costs the checks that use it, not every check. Two comparisons
per check and fixture:

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
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from scanner.engine import RegoRuntimeError, close_engine, create_engine
from scanner.engine.modules import import_closure
from scanner.errors import EngineError
from scanner.evaluate import RULES
from scanner.policies import Check, load_library
from scanner.sources import load_inventory
from tests.conftest import FIXTURES

pytest.importorskip("regopy", reason="regopy (kaic[regopy]) has no wheel for this platform")

# Engine bugs behind the listed divergences (docs/engines.md numbers them and has the
# reproductions, which tests/test_engine_regopy.py runs). None is a policy bug: rewriting the
# affected lines portably (given in docs/engines.md) makes the divergence disappear; the
# library was so rewritten where bugs 8, 9, 10 and 11 hit it (dra_support, netpol,
# gpu_sharing and the (?i) patterns, distinct names for same-named functions).
_IMAGES = ("rego-cpp bugs 2 and 5: lib/images.rego builds normalized references and glob "
           "regexes with sprintf of computed strings, which rego-cpp renders with quotes, so "
           "no sigstore glob matches; and `every v in x.verifiers { not _enforced_in(…) }` "
           "always holds under rego-cpp, so covered images are also warned about")
_Q = ("rego-cpp bug 3: sprintf has no %q, so the message of a result that quotes a name "
      "differs (the objects agree)")
# (comparison, check id, fixture directory relative to fixtures/) -> why the engines differ.
# The fixture "*" stands for every fixture (the check cannot be evaluated at all); it must
# then diverge on each of them.
KNOWN_DIVERGENCES: dict[tuple[str, str, str], str] = {
    ("objects", "image-signatures", "checks/image-signatures/bad"): _IMAGES,
    ("objects", "image-signatures", "checks/image-signatures/good"): _IMAGES,
    ("objects", "image-signatures", "examples/ai-platform"): _IMAGES,
    ("objects", "image-signatures", "examples/bad-bundle"): _IMAGES,
    ("results", "dra-support", "checks/driver-runtime-management/bad"): _Q,
    ("results", "driver-runtime-management", "checks/sandbox-runtime/bad"): _Q,
}

# The documented rego-cpp sprintf bug shows as this runtime error (scanner/engine/regopy_worker).
SPRINTF_BUG = "rego-cpp returned malformed JSON"

# regopy is slow on large inputs: the differential test keeps to small fixtures.
MAX_FIXTURE_BYTES = 200_000

LIBRARY = load_library()


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


def closure_modules(check: Check) -> dict[str, str]:
    """The check's module, the library modules it reaches, and its objects module."""
    modules = dict(LIBRARY.modules)
    modules[f"differential/{check.id}.rego"] = objects_module(check)
    return {path: modules[path]
            for path in import_closure(modules, [_objects_package(check), check.package])}


class _Engines:
    """One regorus and one regopy engine with one check's closure loaded; regopy restarts
    after a crash so that one crash costs one comparison, not the rest of the check."""

    def __init__(self, check: Check) -> None:
        self.modules = closure_modules(check)
        self.regorus = self._load("regorus")
        self.regopy = self._load("regopy")
        self.input_json = "{}"

    def _load(self, name: str) -> Any:
        engine = create_engine(name)
        for path, text in self.modules.items():
            engine.add_module(path, text)
        return engine

    def set_input_json(self, input_json: str) -> None:
        self.input_json = input_json
        self.regorus.set_input_json(input_json)
        self.regopy.set_input_json(input_json)

    def evaluate(self, engine_name: str, query: str) -> dict[str, Any] | str:
        """The query's value (a document), or the error as a string."""
        engine = getattr(self, engine_name)
        try:
            value = engine.query(query)
        except RegoRuntimeError as exc:
            return f"runtime error: {exc}"
        except EngineError as exc:  # a rego-cpp crash: a divergence, then a fresh worker
            close_engine(self.regopy)
            self.regopy = self._load("regopy")
            self.regopy.set_input_json(self.input_json)
            return f"crash: {exc}"
        return value if isinstance(value, dict) else {}

    def close(self) -> None:
        close_engine(self.regopy)


@pytest.fixture(scope="module")
def inputs() -> dict[str, str]:
    """Each fixture's input document, read once for every check."""
    return {str(d.relative_to(FIXTURES)): load_inventory([str(d)]).input_json()
            for d in FIXTURE_DIRS}


def _canonical(document: dict[str, Any] | str) -> dict[str, Any] | str:
    """Each rule's results as a sorted list of JSON texts (unknown of the objects module: a
    count); an error stays as it is."""
    if isinstance(document, str):
        return document
    sets: dict[str, Any] = {}
    for kind in RULES:
        value = document.get(kind.value)
        if isinstance(value, int):
            sets[kind.value] = value
            continue
        items = value.values() if isinstance(value, dict) else (value or [])
        sets[kind.value] = sorted(json.dumps(i, sort_keys=True) for i in items)
    return sets


def _objects(document: dict[str, Any] | str) -> dict[str, Any] | str:
    """What the objects module computes, from a check's full results (Python's view of it)."""
    if isinstance(document, str):
        return document
    named: dict[str, Any] = {}
    for kind in RULES:
        value = document.get(kind.value)
        items = list(value.values() if isinstance(value, dict) else (value or []))
        named[kind.value] = (len(items) if kind.value == "unknown" else
                             [i.get("ref") if isinstance(i, dict) else i for i in items])
    return _canonical(named)


def _difference(a: dict[str, Any] | str, b: dict[str, Any] | str) -> str:
    if isinstance(a, str) or isinstance(b, str):
        return (f"regorus: {a if isinstance(a, str) else 'ok'}; "
                f"regopy: {b if isinstance(b, str) else 'ok'}")[:400]
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


def _divergences(check: Check, inputs: dict[str, str]) -> dict[tuple[str, str, str], str]:
    """Every (comparison, check id, fixture) on which the engines differ, with the difference.

    One query per engine and fixture: the objects are read from the full results. Only where
    rego-cpp's results cannot be read (its sprintf bug) is the objects module asked instead."""
    engines = _Engines(check)
    diverging: dict[tuple[str, str, str], str] = {}
    try:
        for rel, input_json in inputs.items():
            engines.set_input_json(input_json)
            expected = engines.evaluate("regorus", f"data.{check.package}")
            got = engines.evaluate("regopy", f"data.{check.package}")
            got_objects = _objects(got)
            if isinstance(got, str) and SPRINTF_BUG in got:
                got_objects = _canonical(
                    engines.evaluate("regopy", f"data.{_objects_package(check)}"))
            else:  # the documented rego-cpp sprintf bug is not a results divergence
                if _canonical(got) != _canonical(expected):
                    diverging[("results", check.id, rel)] = _difference(
                        _canonical(expected), _canonical(got))
            if got_objects != _objects(expected):
                diverging[("objects", check.id, rel)] = _difference(_objects(expected),
                                                                    got_objects)
    finally:
        engines.close()
    return diverging


@pytest.mark.parametrize("check_id", [c.id for c in LIBRARY.checks])
def test_regorus_and_regopy_agree(inputs, check_id: str) -> None:
    check = LIBRARY.check(check_id)
    diverging = _divergences(check, inputs)
    known: set[tuple[str, str, str]] = set()
    for comparison, cid, fixture in KNOWN_DIVERGENCES:
        if cid == check_id:
            known |= ({(comparison, cid, rel) for rel in inputs} if fixture == "*"
                      else {(comparison, cid, fixture)})
    unexpected = {k: v for k, v in diverging.items() if k not in known}
    vanished = sorted(known - set(diverging))
    assert not unexpected, "new engine divergence(s):\n" + "\n".join(
        f"  {comparison} of {cid} on {fx}: {why}"
        for (comparison, cid, fx), why in sorted(unexpected.items()))
    assert not vanished, f"listed divergences no longer occur, remove them: {vanished}"


def test_known_divergences_name_real_checks_and_fixtures() -> None:
    fixtures = {str(d.relative_to(FIXTURES)) for d in FIXTURE_DIRS} | {"*"}
    ids = {c.id for c in LIBRARY.checks}
    for comparison, cid, fixture in KNOWN_DIVERGENCES:
        assert comparison in ("objects", "results")
        assert cid in ids, cid
        assert fixture in fixtures, fixture


def test_every_check_has_fixtures_in_the_differential_test() -> None:
    assert FIXTURE_DIRS, "no fixtures found under fixtures/checks and fixtures/examples"
    covered = {d.parent.name for d in FIXTURE_DIRS if d.parent.parent.name == "checks"}
    missing = sorted({c.id for c in LIBRARY.checks} - covered)
    assert not missing, f"checks without fixtures/checks/<id>/: {missing}"


def test_each_check_is_evaluated_with_its_import_closure() -> None:
    # Guard against a vacuous closure: a check that imports the library gets it, and no
    # check gets the whole library.
    closure = closure_modules(LIBRARY.check("dra-support"))
    assert "policies/accelerators/dra_support.rego" in closure
    assert "policies/lib/k8s.rego" in closure and "policies/lib/accelerators.rego" in closure
    assert "policies/lib/otel.rego" not in closure
    assert all(len(closure_modules(c)) < len(LIBRARY.modules) for c in LIBRARY.checks)


def test_a_rego_cpp_crash_is_a_divergence_of_one_comparison(inputs) -> None:
    engines = _Engines(LIBRARY.check("ai-operator-crds"))
    try:
        engines.set_input_json(inputs["examples/bad-bundle"])
        os.kill(engines.regopy.pid, signal.SIGSEGV)  # what a rego-cpp segfault does
        query = "data.kaic.operators.ai_operator_crds"
        assert str(engines.evaluate("regopy", query)).startswith(
            "crash: the regopy engine crashed (signal 11, SIGSEGV)")
        assert engines.evaluate("regopy", query) == engines.evaluate("regorus", query)
    finally:
        engines.close()


def test_the_objects_comparison_sees_a_real_difference(inputs) -> None:
    # Guard against a vacuous comparison: objects read from the results in Python equal what
    # the objects module computes in Rego, and name flagged objects.
    engine = create_engine("regorus")
    for check in LIBRARY.checks:
        engine.add_module(f"differential/{check.id}.rego", objects_module(check))
    for path, text in LIBRARY.modules.items():
        engine.add_module(path, text)
    engine.set_input_json(inputs["examples/bad-bundle"])
    flagged = 0
    for check in LIBRARY.checks:
        objects = _canonical(engine.query(f"data.{_objects_package(check)}"))
        assert objects == _objects(engine.query(f"data.{check.package}")), check.id
        flagged += len(objects["deny"])
    assert flagged > 0
