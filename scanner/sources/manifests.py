"""Raw manifests: files, directories (recursive) and stdin -> Inventory.

Multi-document YAML and JSON are read; `kind: List` (and `*List`) documents are unwrapped;
documents that are not Kubernetes objects are skipped and counted. Lines are resolved later,
only for objects that have findings (see `locate.py`).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scanner import limits
from scanner.errors import InputError
from scanner.inventory import Inventory, Origin
from scanner.limits import (
    MAX_NUMBER_CHARS,
    DocumentBudget,
    check_tree_depth,
    file_kind,
    read_file,
    read_stream,
)
from scanner.models import Skipped
from scanner.sources.locate import YamlLocator
from scanner.sources.yamlload import load_documents

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"

# Documents with these apiVersion groups describe build tools, not cluster objects.
_NON_CLUSTER_GROUPS = ("kustomize.config.k8s.io", "config.kubernetes.io", "kaic.dev")
# A \uD800-\uDFFF escape in JSON text: may be a lone surrogate, which is not Unicode.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def printable_path(text: str) -> str:
    """A path as reports can carry it: undecodable bytes of the file name (which Python keeps as
    lone surrogates) become U+FFFD instead of breaking every UTF-8 writer downstream."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def display_uri(path: Path, root: Path) -> str:
    """A POSIX path for reports: relative to the working directory when the file is below it
    (what GitHub code scanning expects from a scan run at the repository root), else relative
    to the scanned root."""
    # The link itself, not its target: a symlinked manifest is reported where it sits.
    resolved = path.parent.resolve() / path.name
    base_root = root.resolve() if root.is_dir() else root.resolve().parent
    for base in (Path.cwd().resolve(), base_root):
        try:
            return printable_path(resolved.relative_to(base).as_posix())
        except ValueError:
            continue
    return printable_path(resolved.as_posix())


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
        self.budget = DocumentBudget()

    def load(self, paths: list[str]) -> Inventory:
        """Load every path (file, directory or `-`) into one Inventory."""
        inventory = Inventory(mode="manifests")
        for arg in paths:
            if arg == STDIN:
                inventory.roots.append(STDIN)
                text = _read_stdin()
                self.locator.texts["<stdin>"] = text
                self._add_text(inventory, text, "<stdin>", "<stdin>")
                continue
            root = Path(arg)
            if not root.exists():
                raise InputError(f"{arg}: no such file or directory")
            inventory.roots.append(arg)
            walked = root.is_dir()
            charts: list[Path] = []
            for file in iter_manifest_files(root, charts):
                self._add_file(inventory, file, root, walked=walked)
            inventory.skipped.extend(
                Skipped(uri=display_uri(c, root), reason="Helm chart inside a manifest directory: "
                        "scan it as its own PATH to render it")
                for c in charts
            )
        return inventory

    def _add_file(self, inventory: Inventory, file: Path, root: Path, walked: bool = False) -> None:
        uri = display_uri(file, root)
        if walked:
            # Inside a directory only regular files are read: opening a FIFO would block, a
            # device could be endless. They are reported as skipped, and fail --strict.
            kind = file_kind(file)
            if kind is not None and not kind.startswith("not accessible"):
                inventory.skipped.append(
                    Skipped(uri=uri, reason=f"not read: {kind}", unread=True))
                return
        data = read_file(file, uri)
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
            self.budget.take(uri)
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
                # A List stands for its items: the document taken above counts as the first.
                self.budget.take(uri, max(len(doc["items"]) - 1, 0))
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
            value = json.loads(text, parse_constant=str, parse_float=_finite_float,
                               parse_int=_bounded_int)
        except json.JSONDecodeError as exc:
            raise InputError(f"{uri}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        except RecursionError:
            raise InputError(f"{uri}: JSON nesting too deep") from None
        except ValueError as exc:
            raise InputError(f"{uri}: invalid JSON: {exc}") from None
        if _SURROGATE_ESCAPE.search(text):
            try:
                json.dumps(value, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise InputError(f"{uri}: invalid JSON: a \\u escape is a lone surrogate, "
                                 "not a Unicode character") from None
        check_tree_depth(value, uri, "the JSON document")
        yield 0, value


def _finite_float(text: str) -> float | str:
    """JSON floats that overflow (1e400) stay text, as YAML's do: JSON has no infinity."""
    value = float(text)
    return value if value not in (float("inf"), float("-inf")) else text


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"integer literal longer than {MAX_NUMBER_CHARS} characters")
    return int(text)


def _read_stdin() -> str:
    """Standard input, bounded like a file, decoded like a file (bytes when available)."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # a text stream without bytes underneath (tests, embedding)
        limit = limits.MAX_FILE_BYTES
        text = sys.stdin.read(limit + 1)
        if len(text) > limit:
            raise InputError(f"<stdin>: larger than the {limit / 2**20:g} MiB input limit")
        return text
    data = read_stream(buffer, "<stdin>")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"<stdin>: not UTF-8 text (byte {exc.start})") from None
