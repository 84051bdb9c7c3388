"""Shared pieces of the hardening tests: the hostile policy set, how a fuzz case reaches kaic
(FEEDS), and how every output is validated (VALIDATORS).

Adding a source or a reporter to the fuzz suite is one line: a FEEDS entry for a new input
shape (Helm chart, Kustomize folder, snapshot ...), a VALIDATORS entry for a new format (every
member of OutputFormat is rendered anyway; the validator makes the check stricter than "renders
without an exception").
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from typer.testing import CliRunner, Result

from scanner.cli import app
from scanner.report import OutputFormat

TESTS = Path(__file__).resolve().parent
HOSTILE_POLICIES = TESTS / "data" / "hostile-policies"
SARIF_SCHEMA = TESTS / "data" / "sarif-schema-2.1.0.json"
ESC = "\x1b"


def write(path: Path, data: bytes) -> Path:
    """Write bytes, creating parent folders; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def chart(tmp: Path, template: bytes) -> Path:
    """A Helm chart whose only template is `template`."""
    write(tmp / "chart" / "Chart.yaml", b"apiVersion: v2\nname: fuzz\nversion: 0.1.0\n")
    write(tmp / "chart" / "templates" / "x.yaml", template)
    return tmp / "chart"


def kustomization(tmp: Path, resource: bytes) -> Path:
    """A Kustomize directory with one resource file."""
    write(tmp / "kust" / "kustomization.yaml", b"resources: [x.yaml]\n")
    write(tmp / "kust" / "x.yaml", resource)
    return tmp / "kust"


SNAPSHOT_HEAD = (b'{"schema":"kaic.dev/snapshot/v1","kind":"KaicSnapshot","metadata":{"server":'
                 b'"https://k"},"cluster":{"version":{"gitVersion":"v1.35.0"},"api_resources":[],'
                 b'"unreadable":[]},"objects":[')


def snapshot(tmp: Path, objects: bytes) -> Path:
    """A snapshot file whose `objects` list is the fuzz case (often invalid JSON by then)."""
    return write(tmp / "state.json", SNAPSHOT_HEAD + objects + b"]}")


# How one fuzz case (bytes) is handed to `kaic scan`: (extra CLI args, stdin bytes or None).
Feed = Callable[[Path, bytes], tuple[list[str], bytes | None]]
FEEDS: dict[str, Feed] = {
    "yaml-file": lambda tmp, data: ([str(write(tmp / "in.yaml", data))], None),
    "json-file": lambda tmp, data: ([str(write(tmp / "in.json", data))], None),
    "stdin": lambda tmp, data: (["-"], data),
    "folder": lambda tmp, data: ([str(write(tmp / "repo" / "deploy" / "x.yml", data).parents[1])],
                                 None),
    "helm-template": lambda tmp, data: ([str(chart(tmp, data))], None),
    "kustomize-resource": lambda tmp, data: ([str(kustomization(tmp, data))], None),
    "kaic.yaml": lambda tmp, data: ([str(write(tmp / "r" / "kaic.yaml", data).parent)], None),
    "snapshot": lambda tmp, data: ([str(snapshot(tmp, data))], None),
    "exceptions-file": lambda tmp, data: (
        [str(write(tmp / "r" / ".kaic-exceptions.yaml", data).parent)], None),
}


@lru_cache(maxsize=1)
def sarif_validator() -> jsonschema.protocols.Validator:
    """A validator for the official SARIF 2.1.0 schema, built once."""
    schema = json.loads(SARIF_SCHEMA.read_text())
    return jsonschema.validators.validator_for(schema)(schema)


def _sarif(text: str) -> None:
    sarif_validator().validate(json.loads(text))


_TABLE_ROW = re.compile(r"^\|.*\|$")


def _markdown(text: str) -> None:
    # Every table row keeps its five cells: no cell text broke out with `|` or a newline.
    rows = [line for line in text.splitlines() if _TABLE_ROW.match(line)]
    assert rows, "no table"
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row)[1:-1]
        assert len(cells) == 5, row
    assert "<script" not in text.lower()


def _junit(text: str) -> None:
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag in ("testsuite", "testsuites")


def _plain_terminal(text: str) -> None:
    assert ESC not in text and "\x9b" not in text


# Format -> a check that raises AssertionError/ValueError when the output is invalid.
VALIDATORS: dict[OutputFormat, Callable[[str], Any]] = {
    OutputFormat.sarif: _sarif,
    OutputFormat.json: json.loads,
    OutputFormat.checklist: _markdown,
    OutputFormat.junit: _junit,
    OutputFormat.cncf: partial(yaml.load, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)),
    OutputFormat.table: _plain_terminal,
}


# Profiles the fuzz suite scans with: one per catalogue.
PROFILES = ["whitepaper-0.9", "cncf-1.35"]
# Formats that only some profiles support (the CNCF draft needs a CNCF profile).
FORMAT_NEEDS: dict[OutputFormat, Callable[[str], bool]] = {
    OutputFormat.cncf: lambda profile: profile.startswith("cncf"),
}


def formats_for(profile: str) -> list[OutputFormat]:
    """Every OutputFormat the profile can be rendered in."""
    return [f for f in OutputFormat if FORMAT_NEEDS.get(f, lambda _: True)(profile)]


def validate_output(fmt: OutputFormat, text: str) -> None:
    """Validate one rendered output; formats without a validator must at least be text without
    terminal escapes."""
    assert isinstance(text, str) and text
    VALIDATORS.get(fmt, _plain_terminal)(text)
    if fmt is not OutputFormat.json and fmt is not OutputFormat.sarif:
        assert ESC not in text, f"{fmt}: ESC leaked"


def run_cli(args: list[str], stdin: bytes | None = None) -> Result:
    """`kaic ARGS` in-process, exceptions caught (the test asserts there were none). `kaic scan`
    gets `--policy-dir` with the hostile test checks on top of the bundled library."""
    if args and args[0] == "scan":
        args = [*args, "--policy-dir", str(HOSTILE_POLICIES)]
    runner = CliRunner()
    return runner.invoke(app, args, input=stdin, catch_exceptions=True)


def assert_clean_exit(result: Result) -> None:
    """The CLI contract: exit 0/1, or exit 2 with exactly one `kaic: error:` line; never an
    exception other than SystemExit, never a traceback."""
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), (
        f"unexpected {type(exc).__name__}: {exc}\n{result.stderr}")
    assert result.exit_code in (0, 1, 2), result.exit_code
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("kaic: error: "), result.stderr
        assert ESC not in lines[0]
