"""The policy library: Rego modules plus their METADATA annotations, parsed and validated here.

Neither embedded engine implements `rego.metadata.*`, so kaic reads OPA's annotation comments
itself: the `# METADATA` block before `package` is YAML, validated into `CheckMetadata`, and a
bad block fails at load time naming the file.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scanner.engine.modules import package_of
from scanner.errors import PolicyError
from scanner.models import CheckInfo, Severity
from scanner.sources.yamlload import safe_load_bounded

_TEST_RULE = re.compile(r"^(test_\w+)\s*(?:if\b|:?=|\{)", re.MULTILINE)
CHECK_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class ResourceInput(BaseModel):
    """One group/resource a check reads; the live collector lists exactly these."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    group: str = Field(description='API group, "" for the core group')
    resource: str = Field(description="plural resource name, e.g. runtimeclasses")
    name: str | None = Field(None, description="a single named object (e.g. one ConfigMap)")
    namespace: str | None = None


class CustomMetadata(BaseModel):
    """The `custom:` part of a check's METADATA (DESIGN: the policy contract)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    requirements: dict[str, list[str]] = Field(min_length=1)
    severity: Severity
    scope: str = Field(pattern=r"^(platform|workload)$")
    inputs: list[ResourceInput] = Field(default_factory=list)
    remediation: str = ""
    docs: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not CHECK_ID.match(value):
            raise ValueError("must be lowercase letters, digits and dashes")
        return value


class CheckMetadata(BaseModel):
    """A check's package-scope METADATA annotation."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    title: str
    description: str
    custom: CustomMetadata


@dataclass(frozen=True)
class Check:
    """One loaded check: its package, file and metadata."""

    package: str
    path: Path
    metadata: CheckMetadata

    @property
    def id(self) -> str:
        """The check's stable id."""
        return self.metadata.custom.id

    def info(self) -> CheckInfo:
        """The metadata subset that reports carry."""
        c = self.metadata.custom
        return CheckInfo(
            id=c.id,
            title=self.metadata.title,
            description=self.metadata.description.strip(),
            severity=c.severity,
            scope=c.scope,
            requirements={k: list(v) for k, v in c.requirements.items()},
            remediation=c.remediation.strip(),
            docs=list(c.docs),
            package=self.package,
        )


@dataclass
class PolicyLibrary:
    """All modules of one or more policy directories."""

    roots: list[Path]
    modules: dict[str, str] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    tests: dict[str, str] = field(default_factory=dict)

    def check(self, check_id: str) -> Check:
        """The check with this id; PolicyError if there is none."""
        for check in self.checks:
            if check.id == check_id:
                return check
        raise PolicyError(f"no check with id {check_id!r} (see `kaic policies list`)")


def default_policy_dir() -> Path:
    """The bundled library: `policies/` beside the source tree, or the installed copy."""
    beside = Path(__file__).resolve().parent.parent / "policies"
    if (beside / "lib").is_dir():
        return beside
    # `kaic_policies` is data only (no __init__.py), i.e. a namespace package: its
    # `resources.files()` is a MultiplexedPath whose str() is a repr, not a path. The spec's
    # search locations are real directories.
    spec = importlib.util.find_spec("kaic_policies")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(str(resources.files("kaic_policies")))


# kaic's own METADATA blocks are parsed with libyaml (~10x faster: the pure-Python parser
# took a quarter of a second of every scan); blocks from other policy directories, which a
# repository supplies, keep the bounded loader's limits and error lines.
_BUNDLED_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_metadata(text: str, path: Path, *, bundled: bool = False) -> CheckMetadata | None:
    """The package-scope METADATA block of a module, or None when it has none. `bundled`: the
    module ships with kaic, so its YAML is trusted and parsed with the fast loader."""
    lines = text.splitlines()
    package_line = next((i for i, line in enumerate(lines) if line.startswith("package ")), None)
    if package_line is None:
        raise PolicyError(f"{path}: no package declaration")
    start = None
    for i in range(package_line - 1, -1, -1):
        stripped = lines[i].strip()
        if not stripped.startswith("#"):
            break
        if stripped.lstrip("#").strip() == "METADATA":
            start = i
    if start is None:
        return None
    body = [_uncomment(line) for line in lines[start + 1 : package_line]]
    try:
        block = "\n".join(body)
        raw: Any = (yaml.load(block, Loader=_BUNDLED_LOADER)  # noqa: S506 - a SafeLoader
                    if bundled else safe_load_bounded(block))
    except yaml.YAMLError as exc:
        # One line, at the offending comment line (the block starts on the line after
        # `# METADATA`), not PyYAML's multi-line report about "<unicode string>".
        mark = getattr(exc, "problem_mark", None)
        line = start + 2 + (mark.line if mark is not None else 0)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PolicyError(f"{path}:{line}: METADATA is not valid YAML: {problem}") from None
    if not isinstance(raw, dict) or "custom" not in raw:
        return None
    try:
        return CheckMetadata.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise PolicyError(f"{path}:{start + 1}: invalid METADATA: {where}: {err['msg']}") from None


def _uncomment(line: str) -> str:
    stripped = line.lstrip()
    if stripped.startswith("# "):
        return stripped[2:]
    return stripped[1:] if stripped.startswith("#") else stripped


def test_rules(text: str) -> list[str]:
    """Names of the `test_*` rules defined in a test module."""
    return sorted(set(_TEST_RULE.findall(text)))


def load_library(extra_dirs: list[Path] | None = None) -> PolicyLibrary:
    """Load the bundled library and any extra policy directories (custom checks)."""
    roots = [default_policy_dir(), *(extra_dirs or [])]
    library = PolicyLibrary(roots=roots)
    seen_ids: dict[str, Path] = {}
    seen_packages: dict[str, Path] = {}
    for root in roots:
        if not root.is_dir():
            raise PolicyError(f"{root}: policy directory not found")
        for path in sorted(root.rglob("*.rego")):
            rel = path.relative_to(root)
            if any(part.startswith(".") for part in rel.parts):
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise PolicyError(f"{path}: cannot read: {exc}") from None
            package = package_of(text)
            if package is None:
                raise PolicyError(f"{path}: no package declaration")
            # Extra (custom) directories keep the path the user gave, so that a Rego parse
            # error, which names the module, points at the file they can open.
            key = f"{root.name}/{rel.as_posix()}" if root == roots[0] else path.as_posix()
            if path.name.endswith("_test.rego"):
                library.tests[key] = text
                continue
            library.modules[key] = text
            metadata = parse_metadata(text, path, bundled=root == roots[0])
            if metadata is None:
                continue
            if package in seen_packages:
                raise PolicyError(f"{path}: package {package} is also defined by "
                                  f"{seen_packages[package]}")
            if metadata.custom.id in seen_ids:
                raise PolicyError(f"{path}: check id {metadata.custom.id!r} is also used by "
                                  f"{seen_ids[metadata.custom.id]}")
            seen_packages[package] = path
            seen_ids[metadata.custom.id] = path
            library.checks.append(Check(package=package, path=path, metadata=metadata))
    library.checks.sort(key=lambda c: c.id)
    return library
