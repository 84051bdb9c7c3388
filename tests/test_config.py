"""Config file: lookup (scanned root, cwd, pyproject), precedence flags > config > defaults,
paths relative to the file, and unknown keys as exit-2 errors naming file and line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from scanner.adoption import resolve_settings
from scanner.config import find_config, load_config
from scanner.errors import InputError
from tests.conftest import FIXTURES, invoke

CUSTOM = FIXTURES / "custom-policies"
BAD_IMAGE = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: a, namespace: agents}
    spec:
      template:
        spec:
          containers: [{name: c, image: docker.io/a:1}]
    """)


def project(tmp_path: Path, config: str, name: str = "kaic.yaml") -> Path:
    root = tmp_path / "repo"
    (root / "deploy").mkdir(parents=True)
    (root / "deploy" / "app.yaml").write_text(BAD_IMAGE)
    (root / "policies").mkdir()
    for rego in (CUSTOM / "acme").glob("*.rego"):
        (root / "policies" / rego.name).write_text(rego.read_text())
    (root / "team.yaml").write_text((CUSTOM / "acme-profile.yaml").read_text())
    (root / name).write_text(textwrap.dedent(config))
    return root


def test_config_in_scanned_root_sets_defaults_and_flags_override(cli, tmp_path: Path) -> None:
    # Config lives in the scanned root; its relative paths are relative to it.
    root = project(tmp_path, """\
        profile-file: team.yaml
        policy-dirs: [policies]
        fail-on: never
        format: json
        """)
    (root / "deploy" / "kaic.yaml").write_text((root / "kaic.yaml").read_text().replace(
        "team.yaml", "../team.yaml").replace("[policies]", "[../policies]"))
    result = invoke(cli, "scan", str(root / "deploy"))
    assert result.exit_code == 0, result.stderr  # fail-on never from the config
    report = json.loads(result.stdout)  # format json from the config
    assert report["profile"] == "acme-platform"
    assert "acme-approved-registry" in [c["id"] for c in report["checks"]]
    # A flag beats the config.
    flagged = invoke(cli, "scan", str(root / "deploy"), "--fail-on", "must")
    assert flagged.exit_code == 1 and "ACME-2" in flagged.stderr


def test_config_in_cwd_and_paths_default(cli, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path, """\
        paths: [deploy]
        profile-file: team.yaml
        policy-dirs: policies
        format: [json]
        output-dir: out
        """)
    monkeypatch.chdir(root)
    result = invoke(cli, "scan")
    assert result.exit_code == 1
    assert sorted(p.name for p in (root / "out").iterdir()) == ["kaic.json"]


def test_pyproject_tool_kaic(cli, tmp_path: Path) -> None:
    root = project(tmp_path, """\
        [project]
        name = "x"

        [tool.kaic]
        profile-file = "team.yaml"
        policy-dirs = ["policies"]
        fail-on = "never"
        """, name="pyproject.toml")
    (root / "kaic.yaml").unlink(missing_ok=True)
    assert find_config([str(root)]) == root / "pyproject.toml"
    result = invoke(cli, "scan", str(root), "-F", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["profile"] == "acme-platform"


def test_kaic_yaml_wins_over_pyproject_and_root_over_cwd(tmp_path: Path) -> None:
    root = project(tmp_path, "profile: cncf\n")
    (root / "pyproject.toml").write_text('[tool.kaic]\nprofile = "cncf-1.33"\n')
    assert find_config([str(root)], cwd=tmp_path) == root / "kaic.yaml"
    (tmp_path / "kaic.yaml").write_text("profile: cncf-1.34\n")
    assert find_config([str(root / "deploy" / "app.yaml")], cwd=tmp_path) == tmp_path / "kaic.yaml"
    assert find_config([], cwd=root) == root / "kaic.yaml"


def test_precedence_flags_config_defaults(tmp_path: Path) -> None:
    config = tmp_path / "kaic.yaml"
    config.write_text("profile: cncf-1.34\nfail-on: should\nexceptions: waivers.yaml\n")
    flags = {"paths": [str(tmp_path)], "profile": "whitepaper-0.9", "fail_on": "must",
             "format": None, "engine": "regorus"}
    from_config = resolve_settings(flags, set(), None)
    assert (from_config.profile, from_config.fail_on) == ("cncf-1.34", "should")
    assert from_config.exceptions == tmp_path / "waivers.yaml"
    assert from_config.formats == ["table"] and from_config.engine == "regorus"  # defaults
    from_flags = resolve_settings(flags, {"profile"}, None)
    assert (from_flags.profile, from_flags.fail_on) == ("whitepaper-0.9", "should")


def test_jobs_from_config_and_flag(tmp_path: Path) -> None:
    flags = {"paths": [str(tmp_path)], "jobs": 0}
    assert resolve_settings(flags, set(), None).jobs == 0  # the default: automatic
    (tmp_path / "kaic.yaml").write_text("jobs: 3\n")
    assert resolve_settings(flags, set(), None).jobs == 3
    assert resolve_settings({**flags, "jobs": 1}, {"jobs"}, None).jobs == 1  # the flag wins


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("kaic.yaml", "profile: cncf\nfail_on: never\n",
     r"kaic\.yaml:2: unknown key 'fail_on' \(did you mean 'fail-on'\?\); allowed: paths"),
    ("kaic.yaml", "fail-on: sometimes\n", r"kaic\.yaml:1: fail-on: Input should be 'must'"),
    ("kaic.yaml", "k8s-version: 1.30\n", r"kaic\.yaml:1: k8s-version: .*as a string"),
    ("kaic.yaml", "profile: cncf\njobs: -2\n", r"kaic\.yaml:2: jobs: Input should be greater"),
    ("kaic.yaml", "- profile\n", r"kaic\.yaml:1: the kaic config must be a mapping"),
    ("kaic.yaml", "profile: [a\n", r"kaic\.yaml:2: invalid YAML"),
    ("pyproject.toml", '[tool.kaic]\nprofile = "cncf"\n\nformats = ["json"]\n',
     r"pyproject\.toml:4: unknown key 'formats' \(did you mean 'format'\?\)"),
    ("pyproject.toml", "[tool.kaic\n", r"pyproject\.toml: invalid TOML"),
])
def test_bad_config_is_an_error_naming_file_and_line(cli, tmp_path: Path, name: str, text: str,
                                                     expected: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=expected):
        load_config(path)
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    result = invoke(cli, "scan", str(tmp_path / "ns.yaml"), "--config", str(path))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "kaic: error: " in result.stderr


def test_jobs_in_the_config_reach_the_evaluator(cli, tmp_path: Path, monkeypatch) -> None:
    from scanner import parallel

    asked: list[int] = []
    count = parallel.worker_count

    def recording(requested: int, objects: int, tasks: int) -> int:
        asked.append(requested)
        return count(requested, objects, tasks)

    monkeypatch.setattr(parallel, "worker_count", recording)
    (tmp_path / "kaic.yaml").write_text("jobs: 3\nfail-on: never\n")
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    assert invoke(cli, "scan", str(tmp_path), "-q").exit_code == 0
    assert invoke(cli, "scan", str(tmp_path), "-q", "--jobs", "1").exit_code == 0
    assert asked == [3, 1]
