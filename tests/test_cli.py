"""The command line: exit codes, formats, outputs, stdin and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, ROOT, invoke

NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"


def test_version_and_help(cli) -> None:
    assert invoke(cli, "--version").stdout.startswith("kaic ")
    assert "scan" in invoke(cli, "--help").stdout


def test_invalid_yaml_exits_2_with_one_line(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\nb: }\n")
    result = invoke(cli, "scan", str(bad))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.yaml:2: invalid YAML" in lines[0]


def test_missing_path_and_no_path(cli, tmp_path: Path) -> None:
    assert invoke(cli, "scan", str(tmp_path / "nope")).exit_code == 2
    assert "nothing to scan" in invoke(cli, "scan").stderr


def test_unknown_format_and_profile(cli, tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_text(NAMESPACE)
    result = invoke(cli, "scan", str(tmp_path), "--format", "html")
    assert result.exit_code == 2 and "unknown --format" in result.stderr
    result = invoke(cli, "scan", str(tmp_path), "--profile", "nope")
    assert result.exit_code == 2 and "unknown profile" in result.stderr


def test_stdin_json_output(cli) -> None:
    result = invoke(cli, "scan", "-", "--format", "json", "--fail-on", "never", input=NAMESPACE)
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["summary"]["objects"] == 1
    assert len(report["requirements"]) == 18


def test_fail_on_gates_exit_code(cli, tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_text(NAMESPACE)
    must = invoke(cli, "scan", str(tmp_path), "-q", "--fail-on", "must")
    never = invoke(cli, "scan", str(tmp_path), "-q", "--fail-on", "never")
    assert (must.exit_code, never.exit_code) == (1, 0)
    assert "fail at --fail-on must" in must.stderr


def test_output_dir_writes_every_format(cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["scan", str(FIXTURES / "examples" / "ai-platform"), "--output-dir", str(out),
            "--profile", "cncf", "--k8s-version", "1.35", "--fail-on", "never"]
    for fmt in ("sarif", "json", "checklist", "junit", "cncf"):
        args += ["--format", fmt]
    assert invoke(cli, *args).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "PRODUCT.yaml", "kaic-checklist.md", "kaic-junit.xml", "kaic.json", "kaic.sarif"]
    assert "- kaic.sarif" in (out / "PRODUCT.yaml").read_text()
    check = invoke(cli, "validate-product", str(out / "PRODUCT.yaml"), "--structure-only")
    assert check.exit_code == 0, check.stdout


def test_output_and_several_formats_conflict(cli, tmp_path: Path) -> None:
    result = invoke(cli, "scan", "x", "-o", str(tmp_path / "r"), "-F", "json", "-F", "sarif")
    assert result.exit_code == 2 and "--output takes one --format" in result.stderr


def test_policies_list_and_show_unknown(cli) -> None:
    assert invoke(cli, "policies", "list").exit_code == 0
    result = invoke(cli, "policies", "show", "no-such-check")
    assert result.exit_code == 2 and "no check with id" in result.stderr


def test_console_entry_point_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    proc = subprocess.run([sys.executable, "-m", "scanner", "scan", str(bad)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
