"""Inputs -> Inventory. `load_inventory` picks the source for each path argument."""

from __future__ import annotations

from scanner.inventory import Inventory
from scanner.sources.manifests import ManifestSource


def load_inventory(paths: list[str]) -> Inventory:
    """Read every PATH argument into one Inventory (manifests; other sources plug in here)."""
    return ManifestSource().load(paths)
