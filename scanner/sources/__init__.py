"""Inputs -> Inventory. `load_inventory` picks the source for each path argument."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scanner.errors import InputError
from scanner.inventory import Inventory
from scanner.sources.manifests import ManifestSource

if TYPE_CHECKING:
    from scanner.sources.cluster import Input
    from scanner.sources.helm import HelmOptions

SOURCE_KINDS = ("helm", "kustomize", "manifests")


def detect_source(arg: str) -> str:
    """`helm` for a chart (Chart.yaml, .tgz), `kustomize` for a directory with a kustomization
    file, else `manifests`."""
    from scanner.sources.helm import is_chart_path
    from scanner.sources.kustomize import is_kustomization_dir

    path = Path(arg)
    if arg == "-" or not path.exists():
        return "manifests"
    if is_chart_path(path):
        return "helm"
    if is_kustomization_dir(path):
        return "kustomize"
    return "manifests"


def nested_charts(arg: str) -> list[str]:
    """Helm charts inside a manifests directory (the manifest walk skips them), outermost only;
    hidden directories are skipped and symlinks not followed, as in the manifest walk."""
    import os

    root = Path(arg)
    if arg == "-" or not root.is_dir():
        return []
    found = []
    for dirpath, dirnames, _ in os.walk(root, followlinks=False):
        keep = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            if os.path.isfile(os.path.join(dirpath, d, "Chart.yaml")):
                found.append(os.path.join(dirpath, d))
            else:
                keep.append(d)
        dirnames[:] = keep
    return found


def load_inventory(paths: list[str], *, source: str | None = None,
                   helm: HelmOptions | None = None,
                   needed: list[Input] | None = None) -> Inventory:
    """Read every PATH argument into one Inventory. Each path is auto-detected (see
    `detect_source`) unless `source` forces one; `helm` (a HelmOptions) says how to render
    charts, including the charts found inside a manifests directory.

    A kaic snapshot (`*.json.gz`, or `*.json` with the snapshot schema marker) is scanned on
    its own; `needed` (the loaded checks' inputs) marks what an older snapshot never read."""
    from scanner.sources.helm import HelmOptions
    from scanner.sources.snapshot import is_snapshot_path, load_snapshot

    snapshots = [p for p in paths if source is None and is_snapshot_path(p)]
    if snapshots:
        if len(paths) > 1:
            raise InputError(f"{snapshots[0]}: a snapshot is scanned on its own, "
                             "not together with other paths")
        return load_snapshot(snapshots[0], needed)[0]
    helm = helm or HelmOptions()
    if source is not None and source not in SOURCE_KINDS:
        raise InputError(f"unknown --source {source!r}; choose from {', '.join(SOURCE_KINDS)}")
    kinds = [source or detect_source(arg) for arg in paths]
    if "-" in paths and kinds[paths.index("-")] != "manifests":
        raise InputError(f"--source {source} reads a directory or archive, not stdin ('-')")
    charts_inside = {arg: nested_charts(arg) for arg, kind in zip(paths, kinds, strict=True)
                     if kind == "manifests"}
    if helm.sets_values and "helm" not in kinds and not any(charts_inside.values()):
        raise InputError("--values/--set/--set-string apply to Helm charts, and no PATH is a "
                         "chart (a directory with Chart.yaml, or a .tgz)")
    inventory = Inventory(mode="manifests")
    for arg, kind in zip(paths, kinds, strict=True):
        if kind == "manifests":
            manifests = ManifestSource().load([arg])
            if charts_inside[arg]:
                # The manifest walk notes nested charts as skipped; here they are rendered.
                manifests.skipped = [s for s in manifests.skipped
                                     if not s.reason.startswith("Helm chart inside")]
            inventory.extend(manifests)
            for chart in charts_inside[arg]:
                from scanner.sources.helm import HelmSource

                rendered = HelmSource(helm).load(chart, display_root=Path(arg))
                rendered.roots = []  # the root the user gave is `arg`
                inventory.extend(rendered)
        elif kind == "helm":
            from scanner.sources.helm import HelmSource

            inventory.extend(HelmSource(helm).load(arg))
        elif kind == "kustomize":
            from scanner.sources.kustomize import KustomizeSource

            inventory.extend(KustomizeSource().load(arg))
    # Each source bounds what it reads (scanner/limits.py); this bounds the scan as a whole,
    # whatever mix of sources and PATHs it has.
    from scanner import limits

    if len(inventory.objects) + len(inventory.skipped) > limits.MAX_DOCUMENTS:
        raise InputError(f"{' '.join(paths)}: more than {limits.MAX_DOCUMENTS:,} objects and "
                         "skipped documents in this scan")
    return inventory
