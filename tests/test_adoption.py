"""The README's adoption story end to end: a repository with findings waives what it accepts,
baselines the rest, and from then on CI fails only on new problems."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, invoke

CUSTOM = FIXTURES / "custom-policies"


def test_waive_baseline_then_fail_only_on_new_problems(cli, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "adoption", repo / "deploy")
    shutil.copytree(CUSTOM, repo / "policies")
    (repo / "kaic.yaml").write_text(textwrap.dedent("""\
        paths: [deploy]
        profile-file: policies/acme-profile.yaml
        policy-dirs: [policies]
        fail-on: should
        """))
    monkeypatch.chdir(repo)

    # 1. Existing findings fail the gate.
    first = invoke(cli, "scan", "-F", "json")
    assert first.exit_code == 1 and "ACME-1" in first.stderr

    # 2. Accept one risk with a reason, an owner and an end date.
    (repo / ".kaic-exceptions.yaml").write_text(textwrap.dedent("""\
        exceptions:
          - check: acme-owner-label
            name: trainer
            justification: ownership moves to the ML team in PLAT-51
            owner: platform-team
            expires: "2999-12-31"
        """))
    # 3. Baseline what is left (the SHOULD-level sandbox violations) and point the config at it.
    assert invoke(cli, "scan", "-q", "--write-baseline", ".kaic-baseline.json").exit_code == 1
    with (repo / "kaic.yaml").open("a") as config:
        config.write("baseline: .kaic-baseline.json\n")
    clean = invoke(cli, "scan", "-q")
    assert clean.exit_code == 0, clean.stderr
    audit = invoke(cli, "exceptions", "audit")
    assert audit.exit_code == 0, audit.stdout

    # 4. Unrelated edits keep passing; a new violation fails, and only it is "new".
    app = repo / "deploy" / "workloads.yaml"
    app.write_text("# reformatted\n\n" + app.read_text().replace("image: registry.acme.example"
                                                              "/web:1.0",
                                                              "image: registry.acme.example"
                                                              "/web:1.1"))
    assert invoke(cli, "scan", "-q").exit_code == 0
    app.write_text(app.read_text() + textwrap.dedent("""\
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: intruder, namespace: agents, labels: {team: ml}}
        spec:
          template:
            spec:
              containers: [{name: c, image: docker.io/evil:1}]
        """))
    new = invoke(cli, "scan")
    assert new.exit_code == 1 and "fail new at --fail-on should: ACME-2" in new.stderr


def test_real_bundle_waived_by_both_catalogues_ids_then_baselined(cli, tmp_path: Path) -> None:
    """The bundled checks on the example bundle: a whitepaper id and a CNCF id both select
    findings, and what remains is baselined."""
    deploy = tmp_path / "deploy"
    shutil.copytree(FIXTURES / "examples" / "bad-bundle", deploy)
    (deploy / ".kaic-exceptions.yaml").write_text(textwrap.dedent("""\
        exceptions:
          - requirement: SEC-5.1
            kind: Deployment
            justification: egress policies land with the mesh rollout (NET-88)
            owner: platform-team
            expires: "2999-03-31"
          - requirement: workload_sandboxing
            name: research-agent
            justification: gVisor node pool arrives in Q2 (PLAT-42)
            owner: agents-team
        """))
    baseline = tmp_path / "baseline.json"
    assert invoke(cli, "scan", str(deploy), "-q", "--write-baseline", str(baseline)
                  ).exit_code == 1  # NET-3.1 still fails before the baseline
    result = invoke(cli, "scan", str(deploy), "-F", "json", "--baseline", str(baseline))
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    waived = {(f["check_id"], f["ref"]["name"]) for r in report["requirements"]
              for f in r["findings"] if f["waived"]}
    assert waived == {("egress-control", "vllm"), ("egress-control", "research-agent"),
                      ("sandbox-runtime", "research-agent")}
    audit = invoke(cli, "exceptions", "audit", str(deploy))
    assert audit.exit_code == 0 and "2 used, 0 unused" in audit.stdout
