"""`kaic scan --engine opa|regopy`: the same report as the default engine, clear exit-2 errors,
and OPA left as kaic found it."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import FIXTURES, invoke
from tests.opa_server import OpaServer

# `with input as <rule>`: valid Rego (OPA and regorus agree) that crashes rego-cpp 1.5.2.
CRASHING_MODULE = ("package custom.crash\n\nimport rego.v1\n\nd := 1\n\n"
                   "x if {\n\tdata.custom.crash.m with input as d\n}\n\nm if input == 1\n")
# The same as a custom check (METADATA, in the default profile): evaluating it crashes rego-cpp.
CRASHING_CHECK = ("# METADATA\n# title: Crash\n# description: Crashes rego-cpp.\n# custom:\n"
                  "#   id: crash\n#   requirements: {whitepaper: [SEC-5.3]}\n#   severity: low\n"
                  "#   scope: workload\n"
                  "package kaic.custom.crash\n\nimport rego.v1\n\nd := 1\n\n"
                  'warn contains {"msg": "x"} if {\n'
                  "\tdata.kaic.custom.crash.m with input as d\n}\n\nm if input == 1\n")
BUNDLES = [FIXTURES / "examples" / "ai-platform", FIXTURES / "examples" / "bad-bundle"]
TOKEN = "s3cr3t-opa-token-4e9a"


def _report(result) -> dict:
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    report["summary"].pop("duration_seconds")
    return report


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.name)
def test_opa_gives_the_same_report_and_cleans_up(cli, bundle) -> None:
    default = invoke(cli, "scan", str(bundle), "-F", "json")
    with OpaServer(token=TOKEN) as opa:
        result = invoke(cli, "scan", str(bundle), "-F", "json", "--engine", "opa",
                        "--opa-url", opa.url, "--opa-token", TOKEN)
        assert _report(result) == _report(default)
        assert result.exit_code == default.exit_code
        assert opa.state.policies == {}  # removed after the scan
        assert any(m == "POST" for m, _ in opa.state.log)
    assert TOKEN not in result.stdout + result.stderr


def test_opa_token_from_the_environment_and_keep_policies(cli, monkeypatch) -> None:
    monkeypatch.setenv("KAIC_OPA_TOKEN", TOKEN)
    with OpaServer(token=TOKEN) as opa:
        result = invoke(cli, "scan", str(BUNDLES[0]), "-F", "json", "--engine", "opa",
                        "--opa-url", opa.url, "--opa-keep-policies")
        assert result.exit_code in (0, 1), result.stderr
        kept = list(opa.state.policies)
        assert kept and all(i.startswith("kaic/policies/") for i in kept)
        assert "kaic/policies/lib/k8s.rego" in kept


def test_a_failed_cleanup_is_a_warning_and_the_result_stands(cli) -> None:
    default = invoke(cli, "scan", str(BUNDLES[0]), "-F", "json")
    with OpaServer() as opa:
        opa.state.refuse_deletes = True
        result = invoke(cli, "scan", str(BUNDLES[0]), "-F", "json", "--engine", "opa",
                        "--opa-url", opa.url)
        assert result.exit_code == default.exit_code
        assert _report(result) == _report(default)
        assert "kaic: warning: could not remove " in result.stderr
        assert "kaic/policies/" in result.stderr


def test_opa_errors_exit_2_with_one_line(cli) -> None:
    with OpaServer(token=TOKEN) as opa:
        url = opa.url
        wrong = invoke(cli, "scan", str(BUNDLES[0]), "--engine", "opa", "--opa-url", url,
                       "--opa-token", "not-" + TOKEN)
        assert wrong.exit_code == 2
        assert wrong.stderr.startswith(f"kaic: error: OPA at {url} rejected kaic's request")
        assert len(wrong.stderr.strip().splitlines()) == 1
        assert TOKEN not in wrong.stdout + wrong.stderr
    down = invoke(cli, "scan", str(BUNDLES[0]), "--engine", "opa", "--opa-url", url)
    assert down.exit_code == 2
    assert down.stderr == f"kaic: error: cannot reach OPA at {url}: connection refused\n"
    early = invoke(cli, "scan", "/no/such/dir", "--engine", "opa", "--opa-url", "opa:8181")
    assert early.exit_code == 2 and "--opa-url must look like" in early.stderr  # before input
    no_url = invoke(cli, "scan", str(BUNDLES[0]), "--engine", "opa")
    assert no_url.exit_code == 2 and "--engine opa needs" in no_url.stderr
    stray = invoke(cli, "scan", str(BUNDLES[0]), "--opa-url", url)
    assert stray.exit_code == 2 and "--opa-url applies to --engine opa only" in stray.stderr


def test_a_module_opa_rejects_exits_2_with_file_and_line(cli, tmp_path) -> None:
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "broken.rego").write_text("package custom.broken\n\nx := {\n")
    with OpaServer() as opa:
        result = invoke(cli, "scan", str(BUNDLES[0]), "--engine", "opa", "--opa-url", opa.url,
                        "--policy-dir", str(custom))
        assert result.exit_code == 2
        assert re.fullmatch(rf"kaic: error: OPA at {opa.url} rejected (\S+/custom/broken.rego): "
                            r"\1:\d+:\d+: rego_parse_error: .+\n", result.stderr)
        assert opa.state.policies == {}  # what was uploaded before the failure is gone
        assert not any("//" in p for _, p in opa.state.log)  # ids without a leading slash


def test_unknown_engine_is_a_usage_error(cli) -> None:
    result = invoke(cli, "scan", str(BUNDLES[0]), "--engine", "nope")
    assert result.exit_code == 2
    assert "unknown engine 'nope'; available: regorus, regopy, opa" in result.stderr


# Why a check cannot be evaluated under regopy 1.5.2: its sprintf bug makes the result
# unparseable (docs/engines.md, bug 2).
REGOPY_CANNOT_EVALUATE = "rego-cpp returned malformed JSON"


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.name)
def test_regopy_agrees_or_says_it_cannot_decide(cli, bundle) -> None:
    # Where rego-cpp cannot evaluate a check, its requirements must be Unknown with the
    # reason, never a different verdict.
    pytest.importorskip("regopy", reason="regopy (kaic[regopy]) has no wheel for this platform")
    default = _report(invoke(cli, "scan", str(bundle), "-F", "json"))
    run = invoke(cli, "scan", str(bundle), "-F", "json", "--engine", "regopy")
    regopy = _report(run)
    assert [r["id"] for r in regopy["requirements"]] == [r["id"] for r in default["requirements"]]
    errors = {e["check_id"]: e["message"] for e in regopy["errors"]}
    assert all(m.startswith(REGOPY_CANNOT_EVALUATE) for m in errors.values()), errors
    for ours, reference in zip(regopy["requirements"], default["requirements"], strict=True):
        if ours["status"] == reference["status"]:
            continue
        assert ours["status"] == "Unknown", (ours["id"], ours["status"], reference["status"])
        assert any(f"could not be evaluated: {REGOPY_CANNOT_EVALUATE}" in n
                   for n in ours["notes"]), ours["notes"]
    assert errors, "no check hit a documented rego-cpp bug: update docs/engines.md"
    assert len(errors) < len(default["checks"]) / 2, errors  # most checks evaluate


def test_a_real_rego_cpp_crash_exits_2_naming_the_check(cli, tmp_path) -> None:
    # `with input as <rule>` crashes rego-cpp 1.5.2 (docs/engines.md, bug 6): a custom check
    # that uses it must stop the scan with one clear line, not kill kaic or pass silently.
    pytest.importorskip("regopy", reason="regopy (kaic[regopy]) has no wheel for this platform")
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "crash.rego").write_text(CRASHING_CHECK)
    result = invoke(cli, "scan", str(BUNDLES[0]), "--engine", "regopy",
                    "--policy-dir", str(custom))
    assert result.exit_code == 2
    assert re.match(r"kaic: error: the regopy engine crashed \(signal \d+, SIG[A-Z]+\) while "
                    r"evaluating data\.kaic\.", result.stderr), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
