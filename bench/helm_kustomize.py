"""Time kaic's chart and Kustomize sources (not run in CI): `python bench/helm_kustomize.py`.

Reports the median of several loads of the bundled fixtures: a Helm chart (two renders, one
marked for template lines, plus parsing) and a Kustomize overlay (one `kubectl kustomize`),
and the cost of locating a field in every object.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scanner.sources import load_inventory  # noqa: E402
from scanner.sources.helm import HelmOptions  # noqa: E402


def median_seconds(paths: list[str], runs: int = 7, helm=None) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        inventory = load_inventory(paths, helm=helm)
        for origin in inventory.origins:
            origin.locate("spec.template.spec.containers[0].image")
        times.append(time.perf_counter() - start)
        count = len(inventory.objects)
    return statistics.median(times), count


def main() -> None:
    for label, path in (("helm chart", "fixtures/helm/agent-platform"),
                        ("kustomize overlay", "fixtures/kustomize/overlays/prod")):
        seconds, count = median_seconds([str(ROOT / path)])
        print(f"{label:18} {path:36} {count:4} objects  {seconds * 1000:7.1f} ms (median of 7)")
    # The same chart with 1,000 agents: one template, a `range` that renders 1,000 Deployments.
    with tempfile.TemporaryDirectory() as tmp:
        values = Path(tmp) / "many.yaml"
        values.write_text("agents:\n" + "".join(f"  - name: a{i}\n" for i in range(1000)))
        seconds, count = median_seconds([str(ROOT / "fixtures/helm/agent-platform")], runs=3,
                                        helm=HelmOptions(values_files=(str(values),)))
        print(f"{'helm, 1000 agents':18} {'fixtures/helm/agent-platform':36} {count:4} objects  "
              f"{seconds * 1000:7.1f} ms (median of 3)")


if __name__ == "__main__":
    main()
