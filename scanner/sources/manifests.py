"""Raw manifests: files, directories (recursive) and stdin -> Inventory.

Multi-document YAML and JSON are read; `kind: List` (and `*List`) documents are unwrapped;
documents that are not Kubernetes objects are skipped and counted. Lines are resolved later,
only for objects that have findings (see `locate.py`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scanner.errors import InputError
from scanner.inventory import Inventory, Origin
from scanner.models import Skipped
from scanner.sources.locate import YamlLocator
from scanner.sources.yamlload import load_documents

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"

# Documents with these apiVersion groups describe build tools, not cluster objects.
_NON_CLUSTER_GROUPS = ("kustomize.config.k8s.io", "config.kubernetes.io", "kaic.dev")


def display_uri(path: Path, root: Path) -> str:
    """A POSIX path for reports: relative to the working directory when the file is below it
    (what GitHub code scanning expects from a scan run at the repository root), else relative
    to the scanned root."""
    resolved = path.resolve()
    base_root = root.resolve() if root.is_dir() else root.resolve().parent
    for base in (Path.cwd().resolve(), base_root):
        try:
            return resolved.relative_to(base).as_posix()
        except ValueError:
            continue
    return resolved.as_posix()


CHART_MARKER = "Chart.yaml"


def iter_manifest_files(root: Path, charts: list[Path] | None = None) -> Iterator[Path]:
    """Manifest files under `root` in a stable order. Hidden directories (`.git`) are skipped;
    symlinked directories are not followed, so a symlink loop cannot trap the walk. Helm chart
    directories below the root (a `Chart.yaml`) are not read as raw YAML: their templates are
    not YAML; they are appended to `charts` for the caller."""
    if not root.is_dir():
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        if CHART_MARKER in filenames and Path(dirpath) != root:
            dirnames[:] = []
            if charts is not None:
                charts.append(Path(dirpath))
            continue
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(MANIFEST_SUFFIXES) and not name.startswith("."):
                yield Path(dirpath) / name


def is_kubernetes_object(doc: Any) -> bool:
    """True for a mapping with string `apiVersion` and `kind`."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("apiVersion"), str)
        and isinstance(doc.get("kind"), str)
        and bool(doc["kind"])
    )


def _is_list(doc: dict[str, Any]) -> bool:
    return doc["kind"].endswith("List") and isinstance(doc.get("items"), list)


class ManifestSource:
    """Reads manifest paths into an Inventory."""

    def __init__(self) -> None:
        self.locator = YamlLocator()

    def load(self, paths: list[str]) -> Inventory:
        """Load every path (file, directory or `-`) into one Inventory."""
        inventory = Inventory(mode="manifests")
        for arg in paths:
            if arg == STDIN:
                inventory.roots.append(STDIN)
                text = sys.stdin.read()
                self.locator.texts["<stdin>"] = text
                self._add_text(inventory, text, "<stdin>", "<stdin>")
                continue
            root = Path(arg)
            if not root.exists():
                raise InputError(f"{arg}: no such file or directory")
            inventory.roots.append(arg)
            charts: list[Path] = []
            for file in iter_manifest_files(root, charts):
                self._add_file(inventory, file, root)
            inventory.skipped.extend(
                Skipped(uri=display_uri(c, root), reason="Helm chart inside a manifest directory: "
                        "scan it as its own PATH to render it")
                for c in charts
            )
        return inventory

    def _add_file(self, inventory: Inventory, file: Path, root: Path) -> None:
        uri = display_uri(file, root)
        try:
            data = file.read_bytes()
        except IsADirectoryError:
            raise InputError(f"{uri}: is a directory") from None
        except OSError as exc:
            raise InputError(f"{uri}: cannot read: {exc.strerror or exc}") from None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"{uri}: not UTF-8 text (byte {exc.start})") from None
        self._add_text(inventory, text, str(file), uri)

    def _add_text(self, inventory: Inventory, text: str, key: str, uri: str) -> None:
        if key.endswith(".json") and text.lstrip().startswith(("{", "[")):
            docs = self._json_documents(text, uri)
        else:
            docs = load_documents(text, uri)
        for doc_index, doc in docs:
            if doc is None:
                continue
            if not is_kubernetes_object(doc):
                inventory.skipped.append(
                    Skipped(uri=uri, reason=f"document {doc_index + 1} is not a Kubernetes object")
                )
                continue
            if doc["apiVersion"].split("/")[0] in _NON_CLUSTER_GROUPS:
                inventory.skipped.append(
                    Skipped(uri=uri, reason=f"document {doc_index + 1} is a {doc['kind']}, "
                            "not a cluster object")
                )
                continue
            if _is_list(doc):
                for item_index, item in enumerate(doc["items"]):
                    if is_kubernetes_object(item):
                        inventory.add(item, Origin(uri, self.locator, (key, doc_index, item_index)))
                    else:
                        inventory.skipped.append(
                            Skipped(uri=uri, reason=f"item {item_index + 1} of document "
                                    f"{doc_index + 1} is not a Kubernetes object")
                        )
                continue
            inventory.add(doc, Origin(uri, self.locator, (key, doc_index, None)))

    @staticmethod
    def _json_documents(text: str, uri: str) -> Iterator[tuple[int, Any]]:
        try:
            value = json.loads(text, parse_constant=str)
        except json.JSONDecodeError as exc:
            raise InputError(f"{uri}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        except RecursionError:
            raise InputError(f"{uri}: JSON nesting too deep") from None
        yield 0, value
