"""Inputs -> Inventory. `load_inventory` picks the source for each path argument."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.errors import InputError
from scanner.inventory import Inventory
from scanner.sources.manifests import ManifestSource

if TYPE_CHECKING:
    from scanner.sources.cluster import Input


def load_inventory(paths: list[str], needed: list[Input] | None = None) -> Inventory:
    """Read every PATH argument into one Inventory (manifests; other sources plug in here).

    A kaic snapshot (`*.json.gz`, or `*.json` with the snapshot schema marker) is scanned on
    its own; `needed` (the loaded checks' inputs) marks what an older snapshot never read."""
    from scanner.sources.snapshot import is_snapshot_path, load_snapshot

    snapshots = [p for p in paths if is_snapshot_path(p)]
    if snapshots:
        if len(paths) > 1:
            raise InputError(f"{snapshots[0]}: a snapshot is scanned on its own, "
                             "not together with other paths")
        return load_snapshot(snapshots[0], needed)[0]
    return ManifestSource().load(paths)
