"""The issue's done-when on two example bundles, per whitepaper requirement: a well-equipped AI
platform (fixtures/examples/full-platform) is Full or Partial on every requirement, and a bare
bundle (fixtures/examples/bare) is No on every one (No: no evidence and/or violations, never
Unknown).

Requirements that no check decides yet are skipped with the reason, so the test tightens by
itself as the remaining checks are merged."""

from __future__ import annotations

import pytest

from scanner.models import RequirementResult, Status
from scanner.policies import PolicyLibrary, load_library
from scanner.profiles import load_profile
from tests.conftest import FIXTURES, run_scan

PROFILE = load_profile("whitepaper-0.9")
LIBRARY = load_library()
REQUIREMENTS = [r.id for r in PROFILE.requirements]

def _decided(requirement_id: str) -> None:
    requirement = next(r for r in PROFILE.requirements if r.id == requirement_id)
    if not PROFILE.checks_for(requirement, LIBRARY.checks):
        pytest.skip(f"{requirement_id}: no check decides it yet (its check is on another branch)")


def _scan(name: str, library: PolicyLibrary) -> dict[str, RequirementResult]:
    report = run_scan([FIXTURES / "examples" / name], library=library)
    assert not report.errors, report.errors
    return {r.id: r for r in report.requirements}


@pytest.fixture(scope="module")
def full_platform(library: PolicyLibrary):
    return _scan("full-platform", library)


@pytest.fixture(scope="module")
def bare(library: PolicyLibrary):
    return _scan("bare", library)


def test_every_whitepaper_requirement_is_reported(full_platform, bare) -> None:
    assert sorted(full_platform) == sorted(REQUIREMENTS)
    assert sorted(bare) == sorted(REQUIREMENTS)


@pytest.mark.parametrize("requirement_id", REQUIREMENTS)
def test_full_platform_is_full_or_partial(full_platform, requirement_id: str) -> None:
    _decided(requirement_id)
    result = full_platform[requirement_id]
    assert result.status in (Status.full, Status.partial), (result.status, result.notes)
    assert any(f.kind.value == "evidence" for f in result.findings)


@pytest.mark.parametrize("requirement_id", REQUIREMENTS)
def test_bare_bundle_is_no(bare, requirement_id: str) -> None:
    _decided(requirement_id)
    result = bare[requirement_id]
    assert result.status == Status.no, (result.status, result.notes)
    assert not any(f.kind.value == "evidence" for f in result.findings)
