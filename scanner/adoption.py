"""Glue for adopting kaic on a repository that already has findings: settings from flags and
the config file, waivers, baselines, and the gate decision. The CLI stays parsing-only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.baseline import Baseline, load_baseline, mark, new_failures
from scanner.config import LoadedConfig, find_config, load_config
from scanner.evaluate import Waiver, failing_requirements
from scanner.exceptions import (
    Clock,
    WaiverSet,
    check_requirement_map,
    find_exceptions_file,
    load_exceptions,
    utc_today,
)
from scanner.inventory import Inventory
from scanner.models import Finding, RequirementResult, ScanReport
from scanner.policies import PolicyLibrary
from scanner.profiles import Profile

# Built once the library and profile are known (the waiver needs the check -> requirement map).
HookFactory = Callable[[PolicyLibrary, Profile], Waiver]

DEFAULTS: dict[str, Any] = {
    "profile": "whitepaper-0.9",
    "fail_on": "must",
    "format": ["table"],
    "engine": "regorus",
    "jobs": 0,
}


@dataclass
class ScanSettings:
    """Everything `kaic scan` needs after flags and config are merged."""

    paths: list[str]
    profile: str = "whitepaper-0.9"
    profile_file: Path | None = None
    k8s_version: str | None = None
    fail_on: str = "must"
    formats: list[str] = field(default_factory=lambda: ["table"])
    output: Path | None = None
    output_dir: Path | None = None
    engine: str = "regorus"
    exceptions: Path | None = None
    policy_dirs: list[Path] = field(default_factory=list)
    baseline: Path | None = None
    jobs: int = 0
    config: Path | None = None


def resolve_settings(flags: dict[str, Any], given: set[str], config_path: Path | None,
                     cwd: Path | None = None) -> ScanSettings:
    """Merge command-line `flags` (only those in `given` were typed by the user) over the
    config file (found next to the scanned root or in `cwd` unless `config_path` is given)
    over the defaults."""
    paths = list(flags.get("paths") or [])
    found = config_path or find_config(paths, cwd)
    loaded: LoadedConfig | None = load_config(found) if found is not None else None

    def unset(value: Any) -> bool:
        return value is None or (isinstance(value, list | tuple) and not value)

    def pick(name: str, config_key: str | None = None, is_path: bool = False) -> Any:
        if name in given and not unset(flags.get(name)):
            return flags[name]
        if loaded is not None and (config_key or name) in loaded.given():
            value = getattr(loaded.values, config_key or name)
            if is_path:
                return ([loaded.resolve(v) for v in value] if isinstance(value, list)
                        else loaded.resolve(value))
            return value
        return DEFAULTS.get(name) if unset(flags.get(name)) else flags[name]

    if not paths and loaded is not None and loaded.values.paths:
        paths = [str(loaded.resolve(p)) for p in loaded.values.paths]
    return ScanSettings(
        paths=paths,
        profile=pick("profile"),
        profile_file=pick("profile_file", is_path=True),
        k8s_version=pick("k8s_version"),
        fail_on=str(pick("fail_on")),
        formats=list(pick("format") or ["table"]),
        output=pick("output", is_path=True),
        output_dir=pick("output_dir", is_path=True),
        engine=pick("engine"),
        exceptions=pick("exceptions", is_path=True),
        policy_dirs=list(pick("policy_dirs", is_path=True) or []),
        baseline=pick("baseline", is_path=True),
        jobs=int(pick("jobs")),
        config=found,
    )


def build_waivers(settings: ScanSettings, today: Clock = utc_today,
                  cwd: Path | None = None) -> WaiverSet:
    """The exceptions file (explicit, or `.kaic-exceptions.yaml` found beside the scanned root
    or in the working directory) plus inline annotations."""
    path = settings.exceptions
    if path is None:
        roots = [Path(p) for p in settings.paths if p != "-"]
        path = find_exceptions_file(roots[:1], cwd)
    files = [load_exceptions(path)] if path is not None else []
    return WaiverSet(files=files, today=today)


def hook_factories(waivers: WaiverSet, baseline: Baseline | None) -> list[HookFactory]:
    """Scan hooks: waivers first, then baseline marking."""

    def waiver_hook(library: PolicyLibrary, profile: Profile) -> Waiver:
        mapping = check_requirement_map(library.checks, profile)
        return waivers.bind(mapping, (r.id for r in profile.requirements))

    factories: list[HookFactory] = [waiver_hook]
    if baseline is not None:
        factories.append(lambda library, profile: mark(baseline))
    return factories


def compose(hooks: Iterable[Waiver]) -> Waiver:
    """One hook that runs `hooks` in order."""
    chain = list(hooks)

    def run(findings: list[Finding], inventory: Inventory) -> list[Finding]:
        for hook in chain:
            findings = hook(findings, inventory)
        return findings

    return run


def gate(report: ScanReport, fail_on: str, baseline: Baseline | None) -> list[RequirementResult]:
    """Requirements that fail the gate: all failures, or only new ones against a baseline."""
    if baseline is None:
        return failing_requirements(report, fail_on)
    return new_failures(report, fail_on, baseline)


def open_baseline(path: Path | None) -> Baseline | None:
    """Load the baseline named by --baseline or the config, if any."""
    return load_baseline(path) if path is not None else None
