"""`kaic validate-product`: the official validator's offline rules for PRODUCT.yaml.

Mirrors cncf/k8s-ai-conformance `scripts/validate.go` without its network checks (URL
reachability, the CNCF member list): the template comes from kaic's bundled cncf-* profile.
Problems are split into *structure* (ids, statuses, N/A notes, evidence files) and *readiness*
(placeholders, MUSTs not Implemented), so a generated draft can be checked for structure alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.errors import InputError, PolicyError
from scanner.profiles import load_profile

ALLOWED_STATUSES = ("Implemented", "Not Implemented", "Partially Implemented", "N/A")
REQUIRED_METADATA = (
    "kubernetesVersion", "platformName", "platformVersion", "vendorName", "websiteUrl",
    "documentationUrl", "productLogoUrl", "description", "contactEmailAddress",
    "k8sConformanceUrl",
)
CONFORMANCE_URL = re.compile(
    r"^https://github.com/cncf/k8s-conformance/tree/(master|main)/v\d+\.\d+/[^/]+/?$"
)
_PATH_VERSION = re.compile(r"(?:^|/)v(\d+\.\d+)/[^/]+/PRODUCT\.yaml$")
_PLACEHOLDER = re.compile(r"^\[.*\]$")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


@dataclass
class ProductValidation:
    """Problems found in one PRODUCT.yaml."""

    version: str
    structure: list[str] = field(default_factory=list)
    readiness: list[str] = field(default_factory=list)

    def ok(self, structure_only: bool = False) -> bool:
        """True when nothing (or, with structure_only, no structural problem) was found."""
        return not self.structure and (structure_only or not self.readiness)


def validate_product(path: Path, version: str | None = None) -> ProductValidation:
    """Check a PRODUCT.yaml against the bundled template of its Kubernetes version."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: not a PRODUCT.yaml (expected a mapping)")
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    version = version or _version_from(path, metadata)
    try:
        template = load_profile(f"cncf-{version}")
    except PolicyError:
        raise InputError(f"{path}: no bundled template for Kubernetes v{version}") from None
    result = ProductValidation(version=version)
    _check_metadata(metadata, result)
    spec = raw.get("spec")
    if not isinstance(spec, dict):
        result.structure.append("spec: missing or not a mapping")
        return result
    for category in template.categories:
        items = spec.get(category.key)
        if not isinstance(items, list):
            result.structure.append(f"spec.{category.key}: category missing")
            continue
        by_id = {i.get("id"): i for i in items if isinstance(i, dict)}
        for req in (r for r in template.requirements if r.category == category.key):
            item = by_id.get(req.id)
            where = f"spec.{category.key}.{req.id}"
            if item is None:
                result.structure.append(f"{where}: requirement missing")
                continue
            _check_item(item, req.level.value, req.description, where, path.parent, result)
    return result


def _version_from(path: Path, metadata: dict[str, Any]) -> str:
    match = _PATH_VERSION.search(path.resolve().as_posix())
    if match:
        return match.group(1)
    declared = str(metadata.get("kubernetesVersion") or metadata.get("kubernetes_version") or "")
    found = re.match(r"^v?(\d+\.\d+)", declared)
    if not found:
        raise InputError(f"{path}: cannot tell the Kubernetes version (path vX.Y/<product>/ or "
                         "metadata.kubernetesVersion); pass --version")
    return found.group(1)


def _check_metadata(metadata: dict[str, Any], result: ProductValidation) -> None:
    for key in REQUIRED_METADATA:
        value = metadata.get(key, metadata.get(_snake(key)))
        if not isinstance(value, str) or not value.strip():
            result.readiness.append(f"metadata.{key}: required")
        elif _PLACEHOLDER.match(value.strip()):
            result.readiness.append(f"metadata.{key}: still a placeholder ({value})")
        elif key == "k8sConformanceUrl" and not CONFORMANCE_URL.match(value):
            result.readiness.append(f"metadata.{key}: must match {CONFORMANCE_URL.pattern}")


def _check_item(item: dict[str, Any], level: str, description: str, where: str, base: Path,
                result: ProductValidation) -> None:
    status = item.get("status") or ""
    evidence = item.get("evidence") or []
    if item.get("level") != level:
        result.structure.append(f"{where}: level must stay {level}")
    if item.get("description") != description:
        result.structure.append(f"{where}: description must be the template text, unchanged")
    if not isinstance(evidence, list):
        result.structure.append(f"{where}: evidence must be a list")
        evidence = []
    if level == "SHOULD" and not status and not evidence:
        return
    if status not in ALLOWED_STATUSES:
        if status:
            result.structure.append(f"{where}: status {status!r} is not one of {ALLOWED_STATUSES}")
        else:
            result.readiness.append(f"{where}: status not filled in")
        return
    if level == "MUST" and status != "Implemented":
        result.readiness.append(f"{where}: a MUST must be Implemented (is {status})")
    if status == "N/A" and not str(item.get("notes") or "").strip():
        result.structure.append(f"{where}: N/A needs notes explaining why it does not apply")
    for ref in evidence:
        ref = str(ref)
        if re.match(r"^https?://", ref):
            continue
        local = ref.removeprefix("file://").split("#", 1)[0]
        if not (base / local).exists():
            result.structure.append(f"{where}: evidence file {ref} does not exist")
