"""The Inventory: every object a scan looks at, the cluster facts, and where each object came from.

The Rego input document (DESIGN: "The Inventory") is built from it once per scan. Origins stay
on the Python side: policies never see file paths, reporters never see YAML.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from scanner.errors import InputError
from scanner.models import ObjectRef, Skipped, SourceLocation


class Locator(Protocol):
    """Turns an object's origin plus an optional field path into a SARIF-ready location."""

    def locate(self, origin: Origin, field_path: str | None) -> SourceLocation:
        """Return the location of `field_path` in the object, or of the object itself."""
        ...


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one object came from. `key` is source-specific (e.g. document and list index)."""

    uri: str
    locator: Locator
    key: tuple[Any, ...] = ()
    template: str | None = None

    def locate(self, field_path: str | None = None) -> SourceLocation:
        """The location of the object, or of one of its fields."""
        return self.locator.locate(self, field_path)


@dataclass(frozen=True, slots=True)
class FixedLocator:
    """A locator for origins without lines (cluster objects, stdin JSON): the URI only."""

    def locate(self, origin: Origin, field_path: str | None) -> SourceLocation:
        """Every field of the object is at the object's URI."""
        return SourceLocation(uri=origin.uri, line=None, template=origin.template)


def ref_key(api_version: str, kind: str, namespace: str, name: str) -> tuple[str, str, str, str]:
    """The lookup key of an object; the group (not the version) of apiVersion identifies it."""
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return (group, kind, namespace, name)


def object_ref(obj: dict[str, Any]) -> ObjectRef:
    """The ObjectRef of a Kubernetes object, tolerant of odd metadata."""
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    ns, name = meta.get("namespace"), meta.get("name")
    return ObjectRef(
        apiVersion=str(obj.get("apiVersion", "")),
        kind=str(obj.get("kind", "")),
        namespace=ns if isinstance(ns, str) else "",
        name=name if isinstance(name, str) else "",
    )


@dataclass
class Inventory:
    """Objects with their origins, plus cluster facts when the source was a cluster."""

    mode: str = "manifests"
    objects: list[dict[str, Any]] = field(default_factory=list)
    origins: list[Origin] = field(default_factory=list)
    cluster: dict[str, Any] | None = None
    skipped: list[Skipped] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    _index: dict[tuple[str, str, str, str], int] | None = field(default=None, repr=False)

    def add(self, obj: dict[str, Any], origin: Origin) -> None:
        """Append one object with its origin."""
        self.objects.append(obj)
        self.origins.append(origin)
        self._index = None

    def extend(self, other: Inventory) -> None:
        """Merge another inventory (several PATH arguments) into this one."""
        self.objects.extend(other.objects)
        self.origins.extend(other.origins)
        self.skipped.extend(other.skipped)
        self.roots.extend(other.roots)
        if other.cluster is not None:
            self.cluster = other.cluster
        if other.mode != "manifests":
            self.mode = other.mode
        self._index = None

    def input_document(self) -> dict[str, Any]:
        """The Rego input document of DESIGN."""
        return {"mode": self.mode, "cluster": self.cluster, "objects": self.objects}

    def input_json(self) -> str:
        """The input document serialised once, for engines that take JSON. Sources bound what
        they read (scanner.limits); a value that still cannot be JSON is an InputError."""
        try:
            return json.dumps(self.input_document(), separators=(",", ":"), allow_nan=False)
        except (ValueError, TypeError, RecursionError) as exc:
            raise InputError(f"the input cannot be passed to policies as JSON: {exc}") from None

    def find(self, ref: ObjectRef) -> Origin | None:
        """The origin of the object a policy referred to, or None if it is not in the inventory."""
        if self._index is None:
            index: dict[tuple[str, str, str, str], int] = {}
            for i, obj in enumerate(self.objects):
                r = object_ref(obj)
                index.setdefault(ref_key(r.api_version, r.kind, r.namespace, r.name), i)
            self._index = index
        i = self._index.get(ref_key(ref.api_version, ref.kind, ref.namespace, ref.name))
        if i is None and ref.namespace == "default":
            # Policies may default an absent namespace to "default"; manifests often omit it.
            i = self._index.get(ref_key(ref.api_version, ref.kind, "", ref.name))
        return None if i is None else self.origins[i]

    def skip(self, items: Iterable[Skipped]) -> None:
        """Record documents that were read but are not scanned."""
        self.skipped.extend(items)
