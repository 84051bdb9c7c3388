"""Profiles: requirement catalogues as data (`policies/profiles/<name>.yaml`).

A profile lists the requirements of one catalogue version (id, category, level, text). Checks
map themselves to requirements through their metadata (`custom.requirements.<catalogue>`); a
profile may add explicit `checks` too (team profiles).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scanner.errors import PolicyError
from scanner.models import Level
from scanner.policies import Check, default_policy_dir
from scanner.sources.yamlload import safe_load_bounded

CNCF_ALIAS = "cncf"


class Category(BaseModel):
    """One category of a catalogue, in display order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    title: str
    title_original: str | None = None


class Requirement(BaseModel):
    """One requirement of one catalogue version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    category: str
    level: Level
    title: str
    description: str
    description_original: str | None = None
    detail_original: str | None = None
    active_test: bool = False
    crosswalk: list[str] = Field(default_factory=list)
    checks: list[str] = Field(default_factory=list)


class Profile(BaseModel):
    """A requirement catalogue version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_: str = Field(alias="schema", pattern=r"^kaic\.dev/profile/v1$")
    name: str
    title: str
    catalogue: str
    kubernetes_version: str | None = None
    source: str = ""
    categories: list[Category]
    requirements: list[Requirement]

    def checks_for(self, requirement: Requirement, checks: list[Check]) -> list[Check]:
        """Checks that decide `requirement`: mapped by their metadata or named by the profile."""
        return [
            c for c in checks
            if requirement.id in c.metadata.custom.requirements.get(self.catalogue, [])
            or c.id in requirement.checks
        ]


def profile_dir() -> Path:
    """Where bundled profiles live."""
    return default_policy_dir() / "profiles"


def available_profiles() -> list[str]:
    """Names of the bundled profiles."""
    return sorted(p.stem for p in profile_dir().glob("*.yaml"))


def cncf_profile_for(minor: str | None) -> str:
    """`cncf-1.NN` for a Kubernetes version (`1.34`, `v1.34.2`); the newest when unknown or
    newer than any bundled catalogue, the oldest when older."""
    versions = sorted(
        (n for n in available_profiles() if n.startswith("cncf-")),
        key=lambda n: tuple(int(x) for x in n.removeprefix("cncf-").split(".")),
    )
    if not versions:
        raise PolicyError("no cncf-* profiles are installed")
    if not minor:
        return versions[-1]
    parts = minor.lstrip("v").split(".")
    try:
        wanted = (int(parts[0]), int(parts[1]))
    except (IndexError, ValueError):
        raise PolicyError(f"{minor!r} is not a Kubernetes version like 1.34") from None
    by_version = {tuple(int(x) for x in n.removeprefix("cncf-").split(".")): n for n in versions}
    if wanted in by_version:
        return by_version[wanted]
    return versions[-1] if wanted > max(by_version) else versions[0]


def load_profile(name_or_path: str) -> Profile:
    """Load a bundled profile by name, or a profile file by path."""
    path = Path(name_or_path)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        path = profile_dir() / f"{name_or_path}.yaml"
        if not path.is_file():
            raise PolicyError(
                f"unknown profile {name_or_path!r}; available: "
                f"{', '.join([*available_profiles(), CNCF_ALIAS])}"
            )
    try:
        raw = safe_load_bounded(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: cannot read profile: {exc}") from None
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise PolicyError(f"{path}: invalid profile: {where}: {err['msg']}") from None
    categories = {c.key for c in profile.categories}
    for req in profile.requirements:
        if req.category not in categories:
            raise PolicyError(f"{path}: requirement {req.id} has unknown category {req.category!r}")
    return profile
