"""Helm charts -> Inventory, rendered in-process by the real Helm engine (helm-python-sdk).

`kaic scan CHART_DIR|CHART.tgz [-f values.yaml] [--set k=v] [--set-string k=v]` renders like
`helm template --skip-tests` (release name `release-name`, namespace `default`, IsInstall true):
subcharts in `charts/` are rendered, `file://` dependencies are vendored into a scratch copy
(what `helm dependency build` would do, offline), a dependency that is declared but absent is an
error naming the fix, `values.schema.json` is enforced by Helm itself. The CRDs in `crds/` are
scanned too (an install applies them). NOTES.txt and test templates are left out unless asked.

Objects point at their template: see `helm_lines.py` for how fields get template lines.
`helm_python` is imported only when a chart is scanned, so `kaic --help` stays fast.
"""

from __future__ import annotations

import json
import re
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.errors import InputError
from scanner.inventory import Inventory, Origin
from scanner.limits import read_file, read_stream, read_text
from scanner.models import Skipped
from scanner.sources.helm_lines import HelmLocator, MarkedTemplate, RenderedTemplate, inject_markers
from scanner.sources.locate import YamlLocator
from scanner.sources.manifests import _NON_CLUSTER_GROUPS, display_uri, is_kubernetes_object
from scanner.sources.yamlload import load_documents, load_one

DEFAULT_RELEASE_NAME = "release-name"  # what `helm template` calls a release without a name
DEFAULT_NAMESPACE = "default"
CHART_ARCHIVE_SUFFIXES = (".tgz", ".tar.gz")
_TEST_HOOKS = {"test", "test-success", "test-failure"}


@dataclass(frozen=True)
class HelmOptions:
    """How to render charts: the `helm template` flags kaic understands."""

    values_files: tuple[str, ...] = ()
    set_values: tuple[str, ...] = ()
    set_string_values: tuple[str, ...] = ()
    release_name: str | None = None
    namespace: str | None = None
    kube_version: str | None = None
    include_tests: bool = False
    include_notes: bool = False

    @property
    def sets_values(self) -> bool:
        """True when the user gave values (meaningless without a chart)."""
        return bool(self.values_files or self.set_values or self.set_string_values)


def is_chart_path(path: Path) -> bool:
    """A chart directory (has Chart.yaml) or a chart archive."""
    if path.is_dir():
        return (path / "Chart.yaml").is_file()
    return path.is_file() and path.name.endswith(CHART_ARCHIVE_SUFFIXES)


def _helm():
    try:
        import helm_python
    except ImportError:  # pragma: no cover - a default dependency; broken installs only
        raise InputError("scanning Helm charts needs helm-python-sdk: "
                         "pip install helm-python-sdk (installed with kaic by default)") from None
    return helm_python


def _one_line(message: str) -> str:
    """Helm's multi-line messages as one line."""
    return "; ".join(part.strip().rstrip(":") for part in message.strip().splitlines()
                     if part.strip())


def _values_error(message: str) -> str:
    """Helm's schema report (`chart:` lines, `- at '/x': problem` lines) as one line."""
    if "schema" not in message:
        return f"values rejected: {_one_line(message)}"
    problems, chart = [], ""
    for line in message.splitlines()[1:]:
        line = line.strip()
        if line.endswith(":") and not line.startswith("-"):
            chart = line[:-1]
        elif line:
            problems.append(f"{chart}: {line.lstrip('- ')}" if chart else line.lstrip("- "))
    return "values do not match values.schema.json: " + "; ".join(problems or [_one_line(message)])


def merge_values(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's mergeMaps: nested maps merge, anything else in `override` replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = value
    return out


def user_values(options: HelmOptions) -> dict[str, Any]:
    """Values files in order, then --set, then --set-string (Helm's precedence)."""
    helm = _helm()
    values: dict[str, Any] = {}
    for name in options.values_files:
        text = read_text(Path(name), name, missing="values file not found")
        try:
            values = merge_values(values, helm.values_from_yaml(text) or {})
        except helm.HelmError as exc:
            detail = str(exc)
            if "cannot unmarshal" in detail:
                detail = "the top level must be a mapping of values"
            raise InputError(f"{name}: invalid values file: {_one_line(detail)}") from None
    for flag, exprs, parse in (("--set", options.set_values, helm.parse_set_string),
                               ("--set-string", options.set_string_values,
                                helm.parse_set_string_values)):
        for expr in exprs:
            try:
                values = merge_values(values, parse(expr))
            except helm.HelmError as exc:
                raise InputError(f"{flag} {expr!r}: {_one_line(str(exc))}") from None
    return values


@dataclass
class ChartTree:
    """Where each chart of a render lives: Helm's key prefix (`demo`, `demo/charts/sub`) ->
    the directory on disk, or the archive it is packed in."""

    dirs: dict[str, Path] = field(default_factory=dict)
    archives: dict[str, Path] = field(default_factory=dict)

    def source_of(self, key: str) -> tuple[Path | None, Path | None]:
        """(template file on disk, or None; archive holding it, or None) for a template key."""
        best = max((p for p in (*self.dirs, *self.archives) if key.startswith(p + "/")),
                   key=len, default=None)
        if best is None:
            return None, None
        rest = key[len(best) + 1:]
        if best in self.dirs:
            return self.dirs[best] / rest, None
        return None, self.archives[best]


def _chart_yaml(directory: Path) -> dict[str, Any]:
    try:
        path = directory / "Chart.yaml"
        data = load_one(read_file(path, str(path)), str(path))
    except InputError:
        return {}
    return data if isinstance(data, dict) else {}


def _archive_chart_name(archive: Path) -> str | None:
    """The `name` in the Chart.yaml at the top of a chart archive."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml":
                    stream = tar.extractfile(member)
                    # Bounded: the archive may be a gzip bomb (scanner/limits.py).
                    raw = read_stream(stream, str(archive))  # type: ignore[arg-type]
                    data = load_one(raw, f"{archive}:{member.name}")
                    return str(data.get("name")) if isinstance(data, dict) else None
    except (OSError, tarfile.TarError, InputError, AttributeError, EOFError, zlib.error):
        return None
    return None


def _dependencies(meta: dict[str, Any]) -> list[dict[str, Any]]:
    deps = meta.get("dependencies")
    return [d for d in deps if isinstance(d, dict)] if isinstance(deps, list) else []


def _copy_chart(src: Path, dst: Path) -> None:
    """Copy a chart into the scratch workspace (kaic never writes into the user's chart)."""
    try:
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".git"), dirs_exist_ok=False)
    except (OSError, shutil.Error) as exc:
        raise InputError(f"{src}: cannot read chart: {exc}".splitlines()[0]) from None


def prepare_workspace(original: Path, work: Path, prefix: str, tree: ChartTree,
                      depth: int = 0) -> None:
    """Record `original` (a chart directory copied to `work`) in `tree` under `prefix`, vendor
    its `file://` dependencies into `work/charts/`, and recurse into its subcharts."""
    if depth > 20:
        raise InputError(f"{original}: chart dependencies nest deeper than 20 levels (a cycle?)")
    tree.dirs[prefix] = original
    meta = _chart_yaml(original)
    aliases: dict[str, list[str]] = {}
    for dep in _dependencies(meta):
        name = str(dep.get("name", ""))
        if dep.get("alias"):
            aliases.setdefault(name, []).append(str(dep["alias"]))
        repo = str(dep.get("repository") or "")
        if name and repo.startswith("file://"):
            target = work / "charts" / name
            present = target.exists() or any((work / "charts").glob(f"{name}-*.tgz"))
            source = (original / repo[len("file://"):]).resolve()
            if not present and (source / "Chart.yaml").is_file():
                _copy_chart(source, target)
    charts = work / "charts"
    if not charts.is_dir():
        return
    for entry in sorted(charts.iterdir()):
        if entry.is_dir() and (entry / "Chart.yaml").is_file():
            name = str(_chart_yaml(entry).get("name") or entry.name)
            orig = original / "charts" / entry.name
            if not orig.exists():  # vendored from a file:// repository
                dep = next((d for d in _dependencies(meta) if d.get("name") == name), {})
                orig = (original / str(dep.get("repository", ""))[len("file://"):]).resolve()
            for alias in (name, *aliases.get(name, [])):
                prefix_sub = f"{prefix}/charts/{alias}"
                prepare_workspace(orig, entry, prefix_sub, tree, depth + 1)
        elif entry.is_file() and entry.name.endswith(CHART_ARCHIVE_SUFFIXES):
            name = _archive_chart_name(entry)
            if name:
                for alias in (name, *aliases.get(name, [])):
                    tree.archives[f"{prefix}/charts/{alias}"] = original / "charts" / entry.name


def _check_dependencies(helm: Any, work: Path, label: str) -> None:
    """`helm template` refuses a chart whose dependencies are not in charts/: so does kaic."""
    try:
        listed = helm.dependency_list(str(work))
    except helm.HelmError as exc:  # an unreadable Chart.yaml fails here first
        raise InputError(f"{label}: cannot load chart: {_one_line(str(exc))}") from None
    missing = [d["name"] for d in listed if d.get("status") == "missing"]
    if missing:
        raise InputError(
            f"{label}: dependencies declared in Chart.yaml but missing from charts/: "
            f"{', '.join(missing)}; run `helm dependency build {label}` (kaic does not download)"
        )


def _is_template(rel: tuple[str, ...]) -> bool:
    """`templates/...` of the chart or of a subchart (`charts/<name>/templates/...`)."""
    while len(rel) > 2 and rel[0] == "charts":
        rel = rel[2:]
    return len(rel) > 1 and rel[0] == "templates"


def _mark_templates(tree_root: Path) -> None:
    """Append line markers to every YAML template of the chart and its unpacked subcharts;
    helpers (`_*.tpl`) stay as they are."""
    for path in tree_root.rglob("*"):
        if not path.is_file() or path.suffix not in (".yaml", ".yml"):
            continue
        if not _is_template(path.relative_to(tree_root).parts) or path.name.startswith("_"):
            continue
        try:
            path.write_text(inject_markers(path.read_text(encoding="utf-8")), encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue


class HelmSource:
    """Renders one chart into an Inventory."""

    def __init__(self, options: HelmOptions | None = None) -> None:
        self.options = options or HelmOptions()
        self.locator = HelmLocator()
        self.crd_locator = YamlLocator()

    def load(self, arg: str, display_root: Path | None = None) -> Inventory:
        """Render the chart at `arg` (directory or .tgz) and collect its objects. URIs are
        relative to the working directory, else to `display_root` (default: the chart)."""
        helm = _helm()
        path = Path(arg)
        if not path.exists():
            raise InputError(f"{arg}: no such file or directory")
        if not is_chart_path(path):
            raise InputError(f"{arg}: not a Helm chart (no Chart.yaml, not a .tgz archive)")
        values = user_values(self.options)
        release = self.options.release_name or DEFAULT_RELEASE_NAME
        try:
            helm.validate_release_name(release)
        except helm.HelmError as exc:
            raise InputError(f"--release-name {release!r}: {_one_line(str(exc))}") from None
        inventory = Inventory(mode="manifests", roots=[arg])
        with tempfile.TemporaryDirectory(prefix="kaic-helm-") as scratch:
            work, tree, archive = self._workspace(helm, path, Path(scratch))
            rendered, crds = self._render(helm, work, values, arg, tree)
            marked = None
            if archive is None:
                marked_dir = Path(scratch) / "marked"
                shutil.copytree(work, marked_dir)
                _mark_templates(marked_dir)
                try:
                    marked, _ = self._render(helm, marked_dir, values, arg, tree)
                except InputError:
                    marked = None  # line mapping degrades to approximate; scanning does not
        root = display_root or path
        self._collect(inventory, rendered, marked or {}, tree, root, archive)
        self._collect_crds(inventory, crds, tree, root, archive)
        return inventory

    def _workspace(self, helm: Any, path: Path, scratch: Path) -> tuple[Path, ChartTree,
                                                                         Path | None]:
        tree = ChartTree()
        if path.is_dir():
            work = scratch / "chart"
            _copy_chart(path, work)
            name = str(_chart_yaml(path).get("name") or path.name)
            prepare_workspace(path.resolve(), work, name, tree)
            _check_dependencies(helm, work, str(path))
            return work, tree, None
        try:
            helm.expand(str(scratch / "expanded"), str(path))
        except helm.HelmError as exc:
            raise InputError(f"{path}: not a readable chart archive: {_one_line(str(exc))}") \
                from None
        charts = [p for p in (scratch / "expanded").iterdir() if (p / "Chart.yaml").is_file()]
        if len(charts) != 1:
            raise InputError(f"{path}: a chart archive holds exactly one chart directory")
        name = str(_chart_yaml(charts[0]).get("name") or charts[0].name)
        tree.archives[name] = path
        _check_dependencies(helm, charts[0], str(path))
        return charts[0], tree, path

    def _render(self, helm: Any, work: Path, values: dict[str, Any], label: str,
                tree: ChartTree) -> tuple[dict[str, str], list[dict[str, str]]]:
        opts: dict[str, Any] = {
            "name": self.options.release_name or DEFAULT_RELEASE_NAME,
            "namespace": self.options.namespace or DEFAULT_NAMESPACE,
            "is_install": True,
        }
        try:
            chart = helm.Chart.load(str(work))
        except helm.HelmError as exc:
            raise InputError(f"{label}: cannot load chart: {_one_line(str(exc))}") from None
        with chart:
            return self._render_loaded(helm, chart, values, opts, label, tree)

    def _render_loaded(self, helm: Any, chart: Any, values: dict[str, Any],
                       opts: dict[str, Any], label: str, tree: ChartTree,
                       ) -> tuple[dict[str, str], list[dict[str, str]]]:
        try:
            if self.options.kube_version:
                # Chart.render() (helm-python-sdk 0.2) does not pass kube_version, which the
                # C ABI's render options accept: call it directly for --kube-version.
                from helm_python import _native

                opts["kube_version"] = self.options.kube_version
                rendered = json.loads(_native.call_string(
                    "helm_render", chart._raw(), json.dumps(values), json.dumps(opts)))
            else:
                rendered = chart.render(values, **opts)
            crds = chart.crds
        except helm.HelmInvalidArgError as exc:
            detail = _one_line(str(exc))
            if "version" in detail:
                raise InputError(f"--kube-version {self.options.kube_version!r}: {detail}") \
                    from None
            raise InputError(f"{label}: {detail}") from None
        except helm.HelmValuesError as exc:
            raise InputError(f"{label}: {_values_error(str(exc))}") from None
        except helm.HelmError as exc:
            raise InputError(self._render_error(str(exc), label, tree)) from None
        return rendered, crds

    @staticmethod
    def _render_error(message: str, label: str, tree: ChartTree) -> str:
        """Helm's render error with template keys turned into file paths (`FILE:LINE: …`)."""
        text = _one_line(message)

        def to_uri(m: re.Match[str]) -> str:
            file, archive = tree.source_of(m.group(1))
            if file is not None and file.exists():
                return display_uri(file, Path(label)) + (m.group(2) or "")
            return f"{archive or label} ({m.group(1)}){m.group(2) or ''}"

        prefixes = "|".join(re.escape(p) for p in sorted((*tree.dirs, *tree.archives),
                                                          key=len, reverse=True))
        if prefixes:
            text = re.sub(rf"((?:{prefixes})/[^\s:()\"]+)((?::\d+)*)", to_uri, text, count=1)
        text = re.sub(r"^parse error at \((.+?)\): ", r"\1: template parse error: ", text)
        text = re.sub(r"^execution error at \((.+?)\): ", r"\1: ", text)
        text = re.sub(r"^(\S+?:\d+(?::\d+)?); ", r"\1: ", text)
        return text if ":" in text.split(" ")[0] else f"{label}: helm render failed: {text}"

    def _template(self, key: str, tree: ChartTree, root: Path, archive: Path | None,
                  ) -> RenderedTemplate:
        file, packed = tree.source_of(key)
        if file is not None and archive is None and file.is_file():
            try:
                source = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                source = ""
            return RenderedTemplate(key=key, uri=display_uri(file, root), on_disk=True,
                                    source=source)
        holder = packed or archive or root
        return RenderedTemplate(key=key, uri=display_uri(holder, holder), on_disk=False)

    def _wanted(self, key: str) -> bool:
        if key.endswith("/NOTES.txt"):
            return self.options.include_notes
        in_templates = key.rsplit("/templates/", 1)[-1].split("/")
        if "tests" in in_templates[:-1]:
            return self.options.include_tests
        return True

    def _collect(self, inventory: Inventory, rendered: dict[str, str], marked: dict[str, str],
                 tree: ChartTree, root: Path, archive: Path | None) -> None:
        for key in sorted(rendered):
            if not self._wanted(key) or not rendered[key].strip():
                continue
            tpl = self._template(key, tree, root, archive)
            if key in marked:
                tpl.marked = MarkedTemplate(marked[key])
            self.locator.templates[key] = tpl
            try:
                docs = list(load_documents(rendered[key], tpl.uri))
            except InputError as exc:
                if key.endswith("/NOTES.txt"):
                    inventory.skip([Skipped(uri=tpl.uri, reason="NOTES.txt is not YAML")])
                    continue
                raise InputError(self._yaml_error(str(exc), tpl)) from None
            tpl.documents = [doc for _, doc in docs]
            for index, doc in docs:
                self._add(inventory, tpl, index, doc)

    @staticmethod
    def _yaml_error(message: str, tpl: RenderedTemplate) -> str:
        """An invalid-YAML error on rendered output, moved to the template line if known."""
        m = re.match(rf"{re.escape(tpl.uri)}:(\d+): (.*)", message)
        if m and tpl.marked is not None:
            line = tpl.marked.template_line(int(m.group(1)))
            if line is not None:
                return f"{tpl.uri}:{line}: rendered output is not valid YAML: {m.group(2)}"
        detail = m.group(2) if m else message
        where = f" (rendered line {m.group(1)})" if m else ""
        return f"{tpl.uri}: rendered output is not valid YAML{where}: {detail}"

    def _add(self, inventory: Inventory, tpl: RenderedTemplate, index: int, doc: Any) -> None:
        if doc is None:
            return
        if not is_kubernetes_object(doc):
            inventory.skip([Skipped(uri=tpl.uri, reason=f"{tpl.key}: document {index + 1} "
                                    "is not a Kubernetes object")])
            return
        if doc["apiVersion"].split("/")[0] in _NON_CLUSTER_GROUPS:
            return
        hook = ((doc.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", "")
        is_test = isinstance(hook, str) and bool(_TEST_HOOKS & {h.strip()
                                                                 for h in hook.split(",")})
        if is_test and not self.options.include_tests:
            inventory.skip([Skipped(uri=tpl.uri, reason=f"{tpl.key}: Helm test hook "
                                    "(--include-tests scans it)")])
            return
        if doc["kind"].endswith("List") and isinstance(doc.get("items"), list):
            for item_index, item in enumerate(doc["items"]):
                if is_kubernetes_object(item):
                    inventory.add(item, Origin(tpl.uri, self.locator,
                                               (tpl.key, index, item_index), template=tpl.key))
            return
        inventory.add(doc, Origin(tpl.uri, self.locator, (tpl.key, index, None),
                                  template=tpl.key))

    def _collect_crds(self, inventory: Inventory, crds: list[dict[str, str]], tree: ChartTree,
                      root: Path, archive: Path | None) -> None:
        """CRDs from `crds/` of the chart and its subcharts: plain YAML, exact lines."""
        for crd in crds:
            key = str(crd.get("filename") or crd.get("name") or "")
            text = str(crd.get("data") or "")
            file, packed = tree.source_of(key)
            if file is not None and archive is None and file.is_file():
                uri, lookup = display_uri(file, root), str(file)
            else:
                holder = packed or archive or root
                uri, lookup = display_uri(holder, holder), f"{holder}!{key}"
            self.crd_locator.texts[lookup] = text
            for index, doc in load_documents(text, uri):
                if is_kubernetes_object(doc):
                    inventory.add(doc, Origin(uri, self.crd_locator, (lookup, index, None),
                                              template=key))
