"""Custom policies: `--policy-dir` checks follow the same contract, show up in every output,
map into bundled profiles (metadata) or a team profile file, and fail clearly when broken."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest

from scanner.errors import PolicyError
from scanner.policies import load_library
from scanner.policy_tests import run_policy_tests
from tests.conftest import FIXTURES, invoke

CUSTOM = FIXTURES / "custom-policies"
ACME = CUSTOM / "acme-profile.yaml"
ADOPTION = FIXTURES / "adoption"

META = textwrap.dedent("""\
    # METADATA
    # title: T
    # description: D
    # custom:
    #   id: {id}
    #   requirements: {{team: [T-1]}}
    #   severity: {severity}
    #   scope: workload
    package {package}

    import rego.v1

    deny contains {{"msg": "x"}} if false
    """)


def test_custom_check_maps_into_a_bundled_profile_and_every_output(cli, sarif_schema) -> None:
    # acme-approved-registry declares `whitepaper: [SEC-5.5]`: it joins the default profile.
    base = ["scan", str(ADOPTION), "--policy-dir", str(CUSTOM), "--fail-on", "never"]
    sarif = json.loads(invoke(cli, *base, "-F", "sarif").stdout)
    jsonschema.validate(sarif, sarif_schema)
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["acme-approved-registry"]["properties"]["requirements"] == ["ACME-2", "SEC-5.5"]
    report = json.loads(invoke(cli, *base, "-F", "json").stdout)
    sec55 = next(r for r in report["requirements"] if r["id"] == "SEC-5.5")
    assert "acme-approved-registry" in sec55["checks"]
    assert any("runs only images from registry.acme.example" in n for n in sec55["notes"])
    checklist = invoke(cli, *base, "-F", "checklist").stdout
    row = next(line for line in checklist.splitlines() if "| SEC-5.5 |" in line)
    assert "registry.acme.example" in row
    # The check that only serves the `acme` catalogue is not part of the whitepaper profile.
    assert "acme-owner-label" not in rules


def test_team_profile_file_uses_custom_and_bundled_checks(cli) -> None:
    result = invoke(cli, "scan", str(ADOPTION), "--policy-dir", str(CUSTOM), "--profile-file",
                    str(ACME), "-F", "json")
    report = json.loads(result.stdout)
    assert report["profile"] == "acme-platform"
    checks = {r["id"]: r["checks"] for r in report["requirements"]}
    assert checks == {"ACME-1": ["acme-owner-label"], "ACME-2": ["acme-approved-registry"],
                      "ACME-3": ["sandbox-runtime"]}
    assert result.exit_code == 1 and "ACME-1" in result.stderr


def test_custom_rego_tests_run_with_policies_test(cli) -> None:
    results = [r for r in run_policy_tests([CUSTOM]) if r.package.startswith("acme.")]
    assert len(results) == 4 and all(r.passed for r in results)
    listed = invoke(cli, "policies", "list", "--policy-dir", str(CUSTOM)).stdout
    assert "acme-owner-label" in listed and "acme:ACME-1" in listed


def write_policy(root: Path, name: str, text: str) -> Path:
    root.mkdir(exist_ok=True)
    path = root / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(("files", "expected"), [
    ({"m.rego": META.format(id="c1", severity="urgent", package="t.a")},
     r"m\.rego:1: invalid METADATA: custom\.severity: Input should be 'critical'"),
    ({"m.rego": META.format(id="Bad_Id", severity="low", package="t.a")},
     r"m\.rego:1: invalid METADATA: custom\.id: Value error, must be lowercase"),
    ({"m.rego": META.format(id="sandbox-runtime", severity="low", package="t.a")},
     r"m\.rego: check id 'sandbox-runtime' is also used by .*sandbox_runtime\.rego"),
    ({"a.rego": META.format(id="c1", severity="low", package="t.same"),
      "b.rego": META.format(id="c2", severity="low", package="t.same")},
     r"b\.rego: package t\.same is also defined by .*a\.rego"),
    ({"m.rego": "# METADATA\n# title: [unclosed\npackage t.a\n"},
     r"m\.rego:2: METADATA is not valid YAML"),
    ({"m.rego": "deny contains 1 if true\n"}, r"m\.rego: no package declaration"),
])
def test_broken_custom_policies_are_clear_errors(cli, tmp_path: Path, files: dict[str, str],
                                                 expected: str) -> None:
    root = tmp_path / "team"
    for name, text in files.items():
        write_policy(root, name, text)
    with pytest.raises(PolicyError, match=expected):
        load_library([root])
    result = invoke(cli, "scan", str(ADOPTION), "--policy-dir", str(root))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_rego_syntax_error_names_the_file_and_position(cli, tmp_path: Path) -> None:
    path = write_policy(tmp_path / "team", "broken.rego",
                        META.format(id="c1", severity="low", package="t.a")
                        + "deny contains msg if {\n  msg :=\n}\n")
    result = invoke(cli, "scan", str(ADOPTION), "--policy-dir", str(tmp_path / "team"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"kaic: error: {path}:15:")


def test_missing_policy_dir_and_profile_file(cli, tmp_path: Path) -> None:
    missing = invoke(cli, "scan", str(ADOPTION), "--policy-dir", str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "policy directory not found" in missing.stderr
    no_profile = invoke(cli, "scan", str(ADOPTION), "--profile-file", str(tmp_path / "p.yaml"))
    assert no_profile.exit_code == 2 and "p.yaml: no such profile file" in no_profile.stderr
    (tmp_path / "bad.yaml").write_text("schema: kaic.dev/profile/v1\nname: x\n")
    bad = invoke(cli, "scan", str(ADOPTION), "--profile-file", str(tmp_path / "bad.yaml"))
    assert bad.exit_code == 2 and "bad.yaml: invalid profile" in bad.stderr
