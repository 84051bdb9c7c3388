"""Shared fixtures: paths, the CLI runner, and a scan helper over the real engine."""

from __future__ import annotations

import json
import textwrap
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
             library: PolicyLibrary | None = None, jobs: int = 0) -> ScanReport:
    """Scan paths through the real source, engine and evaluator."""
    library = library or load_library()
    inventory = load_inventory([str(p) for p in paths])
    return scan(inventory, library, load_profile(profile), engine=prepare_engine(library),
                jobs=jobs)


def without_timing(report: ScanReport) -> dict[str, Any]:
    """The report as JSON data without its duration, to compare two scans of one input."""
    return report.model_dump(mode="json", exclude={"summary": {"duration_seconds"}})


def invoke(runner: CliRunner, *args: str, input: str | None = None):
    """Run `kaic ARGS...` in-process."""
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


CHECK = textwrap.dedent("""\
    # METADATA
    # title: Team check {name}
    # description: Looks at ConfigMaps named after rules.
    # custom:
    #   id: team-{name}
    #   requirements:
    #     team: [{req}]
    #   severity: medium
    #   scope: workload
    #   inputs:
    #     - {{group: "", resource: configmaps}}
    package team.{name}

    import rego.v1

    {body}
    """)

PROFILE = textwrap.dedent("""\
    schema: kaic.dev/profile/v1
    name: team
    title: Team profile
    catalogue: team
    categories: [{key: ops, title: Operations}]
    requirements:
      - {id: T-1, category: ops, level: MUST, title: Evidence only, description: d}
      - {id: T-2, category: ops, level: MUST, title: Deny and evidence, description: d}
      - {id: T-3, category: ops, level: SHOULD, title: Broken check, description: d}
      - {id: T-4, category: ops, level: MUST, title: No check, description: d}
      - {id: T-5, category: ops, level: MUST, title: Unknown only, description: d}
    """)

BODIES = {
    "evidence": ("T-1", 'evidence contains {"msg": "ok", "ref": {"kind": "ConfigMap"}} if true'),
    "deny": ("T-2", textwrap.dedent("""\
        deny contains {"msg": sprintf("%s is bad", [o.metadata.name]), "ref": {
          "apiVersion": "v1", "kind": "ConfigMap", "namespace": "", "name": o.metadata.name},
          "field": "data.bad"} if {
          some o in input.objects
          o.data.bad
        }
        evidence contains {"msg": "seen"} if true""")),
    "broken": ("T-3", 'deny contains {"msg": x} if { some o in input.objects; x := o.kind + 1 }'),
    "unknown": ("T-5", 'unknown contains {"msg": "cannot see nodes"} if true'),
}


def write_team(tmp_path: Path) -> PolicyLibrary:
    """Write the tiny team library (policies/), its profile.yaml and cm.yaml under tmp_path;
    return the library."""
    policies = tmp_path / "policies"
    policies.mkdir()
    for name, (req, body) in BODIES.items():
        (policies / f"{name}.rego").write_text(CHECK.format(name=name, req=req, body=body))
    (tmp_path / "profile.yaml").write_text(PROFILE)
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  bad: 'yes'\n")
    return load_library([policies])


@pytest.fixture
def team(tmp_path: Path) -> ScanReport:
    """A report from a tiny team library + profile covering every status and an error."""
    library = write_team(tmp_path)
    inventory = load_inventory([str(tmp_path / "cm.yaml")])
    profile = load_profile(str(tmp_path / "profile.yaml"))
    return scan(inventory, library, profile, engine=prepare_engine(library))
