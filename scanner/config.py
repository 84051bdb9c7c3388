"""Project configuration: `kaic.yaml` or `[tool.kaic]` in pyproject.toml.

Looked up in the scanned root (the first PATH argument that is a directory, or the directory of
a file argument), then in the working directory; `--config FILE` names one explicitly. In each
directory `kaic.yaml` (or `kaic.yml`) wins over pyproject.toml. Keys are the long command-line
flags without dashes in front (`fail-on`, `output-dir`, `policy-dirs`); paths in the file are
relative to the file's directory. Precedence: command-line flags > config file > defaults.
Unknown keys are an error naming the file and line, so a typo never silently does nothing.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scanner.errors import InputError
from scanner.yamllines import LineDict, error_line, load_yaml

CONFIG_NAMES = ("kaic.yaml", "kaic.yml")
PYPROJECT = "pyproject.toml"


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class KaicConfig(BaseModel):
    """Defaults for `kaic scan` (and `kaic exceptions audit`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=_kebab,
                              populate_by_name=False)

    paths: list[str] = Field(default_factory=list, description="what to scan when no PATH is given")
    profile: str | None = None
    profile_file: str | None = Field(None, description="a team profile file")
    fail_on: Literal["must", "should", "never"] | None = None
    format: list[str] = Field(default_factory=list, description="output formats")
    output: str | None = None
    output_dir: str | None = None
    exceptions: str | None = Field(None, description="exceptions file")
    policy_dirs: list[str] = Field(default_factory=list, description="extra policy directories")
    baseline: str | None = None
    engine: str | None = None
    k8s_version: str | None = None
    jobs: int | None = Field(None, ge=0, description="processes evaluating checks (0: automatic)")

    @field_validator("format", "paths", "policy_dirs", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("k8s_version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # `k8s-version: 1.30` is the float 1.3 in YAML and TOML: refuse rather than guess.
        if isinstance(value, float):
            raise ValueError('write the version as a string, e.g. "1.34"')
        return value


class LoadedConfig(BaseModel):
    """A config and the file it came from; `resolve` turns its paths into usable ones."""

    model_config = ConfigDict(frozen=True)

    path: Path
    values: KaicConfig

    def resolve(self, value: str | None) -> Path | None:
        """A path from the file, relative to the file's directory."""
        if value is None:
            return None
        candidate = Path(value).expanduser()
        return candidate if candidate.is_absolute() else self.path.parent / candidate

    def given(self) -> set[str]:
        """Keys (python names) that the file sets."""
        return set(self.values.model_fields_set)


ALLOWED = [_kebab(n) for n in KaicConfig.model_fields]


def _unknown_key_message(key: str) -> str:
    close = difflib.get_close_matches(key.replace("_", "-"), ALLOWED, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}; allowed: {', '.join(ALLOWED)}"


def _toml_line(text: str, key: str | None) -> int | None:
    """Line of `key` inside the [tool.kaic] table (tomllib keeps no positions)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines)
                  if re.match(r"^\s*\[\s*tool\s*\.\s*kaic\s*\]", line)), None)
    if start is None:
        return None
    if key is None:
        return start + 1
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for i in range(start + 1, len(lines)):
        if lines[i].lstrip().startswith("["):
            break
        if pattern.match(lines[i]):
            return i + 1
    return start + 1


def _validate(raw: Any, path: Path, line_of: Any) -> KaicConfig:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputError(f"{path}:{line_of(())}: the kaic config must be a mapping of settings")
    try:
        return KaicConfig.model_validate(dict(raw))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        key = str(loc[0]) if loc else ""
        if err["type"] == "extra_forbidden":
            message = _unknown_key_message(key)
        else:
            message = f"{'.'.join(str(p) for p in loc)}: {err['msg']}"
        raise InputError(f"{path}:{line_of(loc)}: {message}") from None


def load_config(path: Path) -> LoadedConfig:
    """Load `kaic.yaml` / `kaic.yml`, or the `[tool.kaic]` table of a pyproject.toml."""
    if path.name == PYPROJECT or path.suffix == ".toml":
        try:
            text = path.read_text(encoding="utf-8")
            document = tomllib.loads(text)
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: invalid TOML: {exc}") from None
        raw = document.get("tool", {}).get("kaic")
        if raw is None:
            raise InputError(f"{path}: no [tool.kaic] table")
        values = _validate(raw, path, lambda loc: _toml_line(text, str(loc[0]) if loc else None))
        return LoadedConfig(path=path, values=values)
    document = load_yaml(path)
    values = _validate(document, path, lambda loc: error_line(document, loc) or 1
                       if isinstance(document, LineDict) else 1)
    return LoadedConfig(path=path, values=values)


def _has_kaic_table(pyproject: Path) -> bool:
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    # Cheap test before parsing: most pyproject files have no kaic table at all.
    return _toml_line(text, None) is not None


def find_config(roots: Iterable[str], cwd: Path | None = None) -> Path | None:
    """The config that applies to a scan of `roots`, or None."""
    directories: list[Path] = []
    for root in roots:
        if root == "-":
            continue
        p = Path(root)
        directories.append(p if p.is_dir() else p.parent)
        break
    directories.append(cwd or Path.cwd())
    for directory in directories:
        for name in CONFIG_NAMES:
            if (directory / name).is_file():
                return directory / name
        if (directory / PYPROJECT).is_file() and _has_kaic_table(directory / PYPROJECT):
            return directory / PYPROJECT
    return None
