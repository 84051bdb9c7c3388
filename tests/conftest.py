"""Shared fixtures: paths, the CLI runner, and a scan helper over the real engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scanner.cli import app
from scanner.evaluate import prepare_engine, scan
from scanner.models import ScanReport
from scanner.policies import PolicyLibrary, load_library
from scanner.profiles import load_profile
from scanner.sources import load_inventory

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="session")
def library() -> PolicyLibrary:
    """The bundled policy library, loaded once."""
    return load_library()


@pytest.fixture(scope="session")
def sarif_schema() -> dict[str, Any]:
    """The official SARIF 2.1.0 JSON schema."""
    return json.loads(SARIF_SCHEMA.read_text())


@pytest.fixture
def cli() -> CliRunner:
    """Typer's runner; stderr kept apart so tests can assert on each stream."""
    return CliRunner()


def run_scan(paths: list[str | Path], profile: str = "whitepaper-0.9",
             library: PolicyLibrary | None = None) -> ScanReport:
    """Scan paths through the real source, engine and evaluator."""
    library = library or load_library()
    inventory = load_inventory([str(p) for p in paths])
    return scan(inventory, library, load_profile(profile), engine=prepare_engine(library))


def invoke(runner: CliRunner, *args: str, input: str | None = None):
    """Run `kaic ARGS...` in-process."""
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)
