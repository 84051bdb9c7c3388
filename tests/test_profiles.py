"""Profiles: catalogue contents per version and the cncf version picker."""

from __future__ import annotations

import pytest

from scanner.errors import PolicyError
from scanner.profiles import available_profiles, cncf_profile_for, load_profile

EXPECTED = {"whitepaper-0.9": 18, "cncf-1.33": 9, "cncf-1.34": 9, "cncf-1.35": 12,
            "cncf-1.36": 14, "cncf-1.37": 15}


@pytest.mark.parametrize(("name", "count"), sorted(EXPECTED.items()))
def test_profile_sizes_and_unique_ids(name: str, count: int) -> None:
    profile = load_profile(name)
    ids = [r.id for r in profile.requirements]
    assert len(ids) == count
    assert len(set(ids)) == count


def test_all_bundled_profiles_are_known() -> None:
    assert set(available_profiles()) == set(EXPECTED)


def test_dra_support_level_changes_by_version() -> None:
    def level(version: str) -> str | None:
        reqs = {r.id: r for r in load_profile(f"cncf-{version}").requirements}
        return reqs["dra_support"].level.value if "dra_support" in reqs else None

    assert [level(v) for v in ("1.33", "1.34", "1.35", "1.36", "1.37")] == [
        "SHOULD", "MUST", "MUST", None, None]


def test_whitepaper_keeps_the_chinese_original() -> None:
    req = {r.id: r for r in load_profile("whitepaper-0.9").requirements}["HW-1.1"]
    assert req.description_original == "支持DRA管理AI加速器"
    assert req.level.value == "MUST"


@pytest.mark.parametrize(("version", "expected"), [
    ("v1.35.2", "cncf-1.35"), ("1.33", "cncf-1.33"), ("1.30", "cncf-1.33"),
    ("1.40", "cncf-1.37"), (None, "cncf-1.37"),
])
def test_cncf_version_picker(version: str | None, expected: str) -> None:
    assert cncf_profile_for(version) == expected


def test_unknown_profile_and_bad_version_are_clear_errors() -> None:
    with pytest.raises(PolicyError, match="unknown profile 'nope'.*whitepaper-0.9"):
        load_profile("nope")
    with pytest.raises(PolicyError, match="not a Kubernetes version"):
        cncf_profile_for("latest")


def test_crosswalk_is_symmetric() -> None:
    wp = load_profile("whitepaper-0.9")
    cncf = {r.id: r for name in EXPECTED if name.startswith("cncf")
            for r in load_profile(name).requirements}
    for req in wp.requirements:
        for other in req.crosswalk:
            assert req.id in cncf[other].crosswalk, (req.id, other)
