"""The evaluator: the status table, per-check error isolation, gating, fingerprints."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.errors import PolicyError
from scanner.evaluate import decide_status, failing_requirements, scan
from scanner.models import FindingKind, Status
from scanner.policies import load_library
from scanner.profiles import load_profile
from scanner.sources import load_inventory
from tests.conftest import CHECK, ROOT, without_timing


@pytest.mark.parametrize(("deny", "evidence", "unknown", "status"), [
    (True, True, False, Status.partial), (True, True, True, Status.partial),
    (True, False, False, Status.no), (True, False, True, Status.no),
    (False, True, False, Status.full), (False, True, True, Status.partial),
    (False, False, True, Status.unknown), (False, False, False, Status.no),
])
def test_status_table(deny: bool, evidence: bool, unknown: bool, status: Status) -> None:
    assert decide_status(deny, evidence, unknown) is status


def test_statuses_from_real_policies(team) -> None:
    status = {r.id: r.status for r in team.requirements}
    assert status == {"T-1": Status.full, "T-2": Status.partial, "T-3": Status.unknown,
                      "T-4": Status.unknown, "T-5": Status.unknown}


def test_broken_check_is_isolated_and_reported(team) -> None:
    assert [e.check_id for e in team.errors] == ["team-broken"]
    assert "expects numeric" in team.errors[0].message
    t3 = next(r for r in team.requirements if r.id == "T-3")
    assert any("could not be evaluated" in n for n in t3.notes)


def test_no_check_yet_is_unknown_not_no(team) -> None:
    t4 = next(r for r in team.requirements if r.id == "T-4")
    assert t4.notes == ["no check yet"]


def test_deny_is_located_on_the_field_line(team) -> None:
    t2 = next(r for r in team.requirements if r.id == "T-2")
    deny = [f for f in t2.findings if f.kind is FindingKind.deny]
    assert [(f.message, f.location.uri.endswith("cm.yaml"), f.location.line) for f in deny] == [
        ("cm is bad", True, 6)]


def test_gate_counts_violations_by_level(team) -> None:
    assert [r.id for r in failing_requirements(team, "must")] == ["T-2"]
    assert [r.id for r in failing_requirements(team, "never")] == []


def test_fingerprints_ignore_lines(tmp_path: Path, team) -> None:
    first = next(r for r in team.requirements if r.id == "T-2").findings
    cm = tmp_path / "cm.yaml"
    cm.write_text("# a new comment shifts every line\n\n" + cm.read_text())
    library = load_library([tmp_path / "policies"])
    again = scan(load_inventory([str(cm)]), library, load_profile(str(tmp_path / "profile.yaml")))
    second = next(r for r in again.requirements if r.id == "T-2").findings
    assert [f.fingerprint for f in first] == [f.fingerprint for f in second]
    assert [f.location.line for f in second if f.kind is FindingKind.deny] == [8]


def test_bad_metadata_fails_at_load_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.rego").write_text(CHECK.format(name="x", req="T-1", body="").replace(
        "severity: medium", "severity: extreme"))
    with pytest.raises(PolicyError, match=r"bad\.rego:1: invalid METADATA: custom\.severity"):
        load_library([tmp_path])


def test_duplicate_check_ids_are_rejected(tmp_path: Path) -> None:
    for n in ("a", "b"):
        (tmp_path / f"{n}.rego").write_text(
            CHECK.format(name="same", req="T-1", body="").replace("package team.same",
                                                                  f"package team.{n}"))
    with pytest.raises(PolicyError, match="check id 'team-same' is also used"):
        load_library([tmp_path])


def test_one_engine_serves_several_scans_with_one_batch_query_each() -> None:
    # regorus adds a module under a path it already has instead of replacing it: a second
    # batch module with the first one's name made the second scan's batch a rule conflict,
    # and every check was then queried one by one (same results, several times slower).
    from scanner.evaluate import prepare_engine

    library = load_library()
    engine = prepare_engine(library)
    queries: list[str] = []
    query = engine.query
    engine.query = lambda q: (queries.append(q), query(q))[1]  # type: ignore[method-assign]
    inventory = load_inventory([str(ROOT / "fixtures" / "examples" / "bad-bundle")])
    # Two profiles, so two different sets of checks: two batches with different results.
    profiles = [load_profile("whitepaper-0.9"), load_profile("cncf-1.35"),
                load_profile("whitepaper-0.9")]
    reports = [without_timing(scan(inventory, library, p, engine=engine, jobs=1))
               for p in profiles]
    assert len(queries) == 3, queries[:5]
    assert reports[0] == reports[2]
    fresh = scan(inventory, library, profiles[1], engine=prepare_engine(library), jobs=1)
    assert reports[1] == without_timing(fresh)
    assert any(r["findings"] for r in reports[0]["requirements"])
