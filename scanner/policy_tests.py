"""Runs the library's `*_test.rego` files (OPA's `test_` convention) in the embedded engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scanner.engine import RegoRuntimeError, create_engine
from scanner.engine.modules import package_of
from scanner.policies import load_library, test_rules


@dataclass(frozen=True)
class PolicyTestResult:
    """Outcome of one `test_*` rule."""

    file: str
    package: str
    rule: str
    passed: bool
    detail: str = ""


def run_policy_tests(extra_dirs: list[Path] | None = None,
                     engine_name: str = "regorus") -> list[PolicyTestResult]:
    """Load modules and tests into one engine; a test passes when its rule is exactly true."""
    library = load_library(extra_dirs)
    engine = create_engine(engine_name)
    for path, text in library.modules.items():
        engine.add_module(path, text)
    for path, text in library.tests.items():
        engine.add_module(path, text)
    engine.set_input_json("{}")
    results = []
    for path, text in sorted(library.tests.items()):
        package = package_of(text)
        if package is None:
            continue
        for rule in test_rules(text):
            try:
                value = engine.query(f"data.{package}.{rule}")
            except RegoRuntimeError as exc:
                results.append(PolicyTestResult(path, package, rule, False, str(exc)))
                continue
            detail = "" if value is True else f"evaluated to {value!r} (None: a body failed)"
            results.append(PolicyTestResult(path, package, rule, value is True, detail))
    return results
