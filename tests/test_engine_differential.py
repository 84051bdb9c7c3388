"""Differential test: every check on every fixture, evaluated by regorus (the default engine) and
by regopy (rego-cpp, an independent implementation), must give identical deny, warn, evidence
and unknown sets. Each known divergence is listed in KNOWN_DIVERGENCES with its cause and in
docs/engines.md; a new divergence, or a listed one that disappeared, fails the test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scanner.engine import RegoRuntimeError, close_engine, create_engine
from scanner.errors import EngineError
from scanner.evaluate import RULES
from scanner.policies import PolicyLibrary, load_library
from scanner.sources import load_inventory
from tests.conftest import FIXTURES

pytest.importorskip("regopy", reason="regopy (kaic[regopy]) has no wheel for this platform")

# (check id, fixture directory relative to fixtures/) -> why the engines differ there.
KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

# regopy is slow on large inputs: the differential test keeps to small fixtures.
MAX_FIXTURE_BYTES = 200_000


def _fixture_dirs() -> list[Path]:
    dirs = sorted(d for d in (FIXTURES / "checks").glob("*/*") if d.is_dir())
    dirs += sorted(d for d in (FIXTURES / "examples").glob("*") if d.is_dir())
    return [d for d in dirs
            if sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) <= MAX_FIXTURE_BYTES]


FIXTURE_DIRS = _fixture_dirs()


class _Engines:
    """One regorus and one regopy engine with the library loaded; regopy restarts after a
    crash so that one crash costs one comparison, not the rest of the run."""

    def __init__(self, library: PolicyLibrary) -> None:
        self.library = library
        self.regorus = self._load("regorus")
        self.regopy = self._load("regopy")

    def _load(self, name: str):
        engine = create_engine(name)
        for path, text in self.library.modules.items():
            engine.add_module(path, text)
        return engine

    def restart_regopy(self) -> None:
        close_engine(self.regopy)
        self.regopy = self._load("regopy")


@pytest.fixture(scope="module")
def engines():
    """Both engines, shared by every fixture of this module."""
    pair = _Engines(load_library())
    yield pair
    close_engine(pair.regopy)


def _results(engine: Any, package: str) -> dict[str, Any] | str:
    """The check's rule sets as sorted canonical JSON, or the error text."""
    try:
        document = engine.query(f"data.{package}")
    except RegoRuntimeError as exc:
        return f"runtime error: {exc}"
    document = document if isinstance(document, dict) else {}
    sets = {}
    for kind in RULES:
        value = document.get(kind.value) or []
        items = value.values() if isinstance(value, dict) else value
        sets[kind.value] = sorted(json.dumps(i, sort_keys=True) for i in items)
    return sets


def _difference(a: dict[str, Any] | str, b: dict[str, Any] | str) -> str:
    if isinstance(a, str) or isinstance(b, str):
        return f"regorus: {a if isinstance(a, str) else 'ok'}; regopy: " \
               f"{b if isinstance(b, str) else 'ok'}"
    parts = []
    for kind in a:
        only_a = sorted(set(a[kind]) - set(b[kind]))
        only_b = sorted(set(b[kind]) - set(a[kind]))
        if only_a or only_b:
            parts.append(f"{kind}: only regorus {only_a}, only regopy {only_b}")
    return "; ".join(parts)


@pytest.mark.parametrize("fixture", FIXTURE_DIRS,
                         ids=[str(d.relative_to(FIXTURES)) for d in FIXTURE_DIRS])
def test_regorus_and_regopy_agree(engines, fixture: Path) -> None:
    rel = str(fixture.relative_to(FIXTURES))
    input_json = load_inventory([str(fixture)]).input_json()
    engines.regorus.set_input_json(input_json)
    engines.regopy.set_input_json(input_json)
    diverging: dict[tuple[str, str], str] = {}
    for check in engines.library.checks:
        expected = _results(engines.regorus, check.package)
        try:
            got = _results(engines.regopy, check.package)
        except EngineError as exc:  # a rego-cpp crash
            got = f"engine error: {exc}"
            engines.restart_regopy()
            engines.regopy.set_input_json(input_json)
        if got != expected:
            diverging[(check.id, rel)] = _difference(expected, got)
    known = {k: v for k, v in KNOWN_DIVERGENCES.items() if k[1] == rel}
    unexpected = {k: v for k, v in diverging.items() if k not in known}
    vanished = sorted(set(known) - set(diverging))
    assert not unexpected, "new engine divergence(s):\n" + "\n".join(
        f"  {cid} on {fx}: {why}" for (cid, fx), why in unexpected.items())
    assert not vanished, f"listed divergences no longer occur, remove them: {vanished}"


def test_the_differential_test_covers_every_check_and_fixture(library) -> None:
    assert FIXTURE_DIRS, "no fixtures found under fixtures/checks and fixtures/examples"
    covered = {d.parent.name for d in FIXTURE_DIRS if d.parent.parent.name == "checks"}
    assert {c.id for c in library.checks} <= covered | {c for c, _ in KNOWN_DIVERGENCES}
