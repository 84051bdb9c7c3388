"""The GitHub Action and the pre-commit hooks: their files are well-formed, and the Action's
scan script really runs (with bash and a `kaic` on PATH) and leaves an uploadable SARIF."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from scanner.ci import drop_waived, main
from tests.conftest import FIXTURES, ROOT

CUSTOM = FIXTURES / "custom-policies"


def action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def test_action_is_a_composite_with_documented_inputs() -> None:
    doc = action()
    assert doc["runs"]["using"] == "composite"
    for name, spec in doc["inputs"].items():
        assert spec["description"] and "default" in spec, name
    assert set(doc["outputs"]) == {"sarif-file", "exit-code"}
    for step in doc["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash"
            # Inputs must reach scripts through env only (no `${{ inputs.x }}` in the script).
            assert "${{" not in step["run"], step.get("name")


def test_pre_commit_hooks_are_well_formed() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["kaic", "kaic-exceptions-audit"]
    for hook in hooks:
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        assert shlex.split(hook["entry"])[0] == "kaic"


@pytest.fixture
def kaic_on_path(tmp_path: Path) -> dict[str, str]:
    """An environment whose `kaic` runs this checkout (as `pip install` would provide)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "kaic"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m scanner \"$@\"\n")
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT)}


def run_action_scan(tmp_path: Path, env: dict[str, str], **inputs: str):
    script = next(s for s in action()["runs"]["steps"] if s.get("id") == "scan")
    out, summary = tmp_path / "github_output", tmp_path / "summary.md"
    step_env = dict.fromkeys(script["env"], "")
    step_env.update({"KAIC_PATH": ".", "KAIC_OUTPUT_DIR": "kaic-results",
                     "KAIC_UPLOAD_WAIVED": "false", "KAIC_FAIL": "true"})
    step_env.update(inputs)
    result = subprocess.run(
        ["bash", "-c", script["run"]], cwd=tmp_path / "repo", capture_output=True, text=True,
        env={**env, **step_env, "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)},
        timeout=120,
    )
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines()) \
        if out.exists() else {}
    return result, outputs, summary


def test_action_scan_step_leaves_sarif_without_waived_results(tmp_path: Path, kaic_on_path,
                                                             sarif_schema) -> None:
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy" / "app.yaml").write_text((FIXTURES / "adoption" / "workloads.yaml")
                                              .read_text())
    (repo / "team.yaml").write_text((CUSTOM / "acme-profile.yaml").read_text())
    result, outputs, summary = run_action_scan(
        tmp_path, kaic_on_path, KAIC_PATH="deploy", KAIC_POLICY_DIRS=str(CUSTOM),
        KAIC_PROFILE_FILE="team.yaml")
    assert result.returncode == 1, result.stderr  # ACME requirements fail: the job fails
    assert outputs["exit-code"] == "1"
    upload = repo / outputs["sarif-file"]
    full = json.loads((repo / "kaic-results" / "kaic.sarif").read_text())
    kept = json.loads(upload.read_text())
    jsonschema.validate(kept, sarif_schema)
    waived = [r for r in full["runs"][0]["results"] if r.get("suppressions")]
    assert len(waived) == 1  # the inline waiver on the trainer Deployment
    assert len(kept["runs"][0]["results"]) == len(full["runs"][0]["results"]) - 1
    assert "ACME platform requirements" in summary.read_text()
    assert "ACME-1" in result.stdout  # the table is in the log

    no_fail, outputs, _ = run_action_scan(
        tmp_path, kaic_on_path, KAIC_PATH="deploy", KAIC_POLICY_DIRS=str(CUSTOM),
        KAIC_PROFILE_FILE="team.yaml", KAIC_FAIL="false", KAIC_UPLOAD_WAIVED="true")
    assert no_fail.returncode == 0 and outputs["exit-code"] == "1"
    assert outputs["sarif-file"] == "kaic-results/kaic.sarif"

    broken, outputs, _ = run_action_scan(tmp_path, kaic_on_path, KAIC_PATH="missing-dir")
    assert broken.returncode == 2 and outputs["exit-code"] == "2"
    assert "kaic: error:" in broken.stderr


def test_drop_waived_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "kaic"}}, "results": [
        {"message": {"text": "a"}},
        {"message": {"text": "b"}, "suppressions": [{"kind": "inSource"}]},
        {"message": {"text": "c"}, "suppressions": [{"kind": "external",
                                                       "status": "rejected"}]},
    ]}]}
    filtered, removed = drop_waived(doc)
    assert removed == 1
    assert [r["message"]["text"] for r in filtered["runs"][0]["results"]] == ["a", "c"]
    source = tmp_path / "in.sarif"
    source.write_text(json.dumps(doc))
    assert main(["drop-waived", str(source), str(tmp_path / "out.sarif")]) == 0
    assert "1 waived result(s)" in capsys.readouterr().out
    assert main(["drop-waived", str(tmp_path / "nope"), str(tmp_path / "o")]) == 2
    assert main(["bogus"]) == 2
