"""Time and peak memory of kaic on hostile inputs at (or beyond) its limits.

Each case runs `python -m scanner scan PATH -F json -q` in a fresh process and reports the exit
code, the wall and CPU time (CPU is what to compare on a shared machine) and the child's peak
RSS (ru_maxrss). Run from the repository root:

    python bench/limits.py            # all cases
    python bench/limits.py near-limit # one case

Numbers go into the README's "Limits" section; nothing here is a test.
"""

from __future__ import annotations

import gzip
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
DEPLOYMENT = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}\n  namespace: ai\n"
    "  annotations: {{note: " + "x" * 600 + "}}\n"
    "  labels: {{kaic.dev/workload: inference}}\nspec:\n  replicas: 2\n  template:\n"
    "    spec:\n      containers:\n        - name: c\n          image: nginx:1.27\n"
    "          resources: {{limits: {{nvidia.com/gpu: 1}}}}\n---\n"
)


def near_limit(tmp: Path) -> Path:
    """A 63 MiB manifest of ~1 KB Deployments (just under the 64 MiB file limit; ~63,000
    documents, under the 100,000 document limit): a complete scan at the size limit.
    KAIC_BENCH_MIB=16 makes it smaller."""
    path = tmp / "big.yaml"
    size = float(os.environ.get("KAIC_BENCH_MIB", "63")) * MIB
    with open(path, "w") as f:
        i = 0
        while f.tell() < size:
            f.write(DEPLOYMENT.format(i=i))
            i += 1
    return path


def sparse_200mb(tmp: Path) -> Path:
    """A 200 MB file (sparse): refused by size before any byte is read."""
    path = tmp / "huge.yaml"
    with open(path, "wb") as f:
        f.truncate(200 * 1000 * 1000)
    return path


def alias_bomb(tmp: Path) -> Path:
    """Billion laughs: 10^9 nodes once expanded."""
    rows = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    rows += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    path = tmp / "bomb.yaml"
    path.write_text("\n".join(rows) + "\n")
    return path


def merge_bomb(tmp: Path) -> Path:
    """40 merge-key lines doubling each other (hours before the fix)."""
    return ROOT / "fixtures" / "hostile" / "merge-key-bomb.yaml"


def deep_flow(tmp: Path) -> Path:
    """10,000,000 nested `[` (20 MB): segfault / hours before the fix."""
    path = tmp / "deep.yaml"
    path.write_text("[" * 10_000_000 + "]" * 10_000_000)
    return path


def gzip_bomb(tmp: Path) -> Path:
    """A 1 GiB-of-zeros gzip posing as a snapshot, given as a manifest."""
    path = tmp / "state.json.gz"
    path.write_bytes(gzip.compress(b"\0" * (16 * MIB)) * 64)
    return path


def many_documents(tmp: Path) -> Path:
    """200,000 empty YAML documents (over the 100,000 document limit)."""
    path = tmp / "docs.yaml"
    path.write_text("---\n" * 200_000)
    return path


CASES: dict[str, Callable[[Path], Path]] = {
    "near-limit": near_limit,
    "200mb": sparse_200mb,
    "alias-bomb": alias_bomb,
    "merge-bomb": merge_bomb,
    "deep-flow": deep_flow,
    "gzip-bomb": gzip_bomb,
    "many-documents": many_documents,
}


def run(name: str, make: Callable[[Path], Path]) -> None:
    """Build one case, scan it in a child process, print one line."""
    with tempfile.TemporaryDirectory() as tmp:
        path = make(Path(tmp))
        size = path.stat().st_size
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "scanner", "scan", str(path), "-F", "json",
                               "-q"], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
        elapsed = time.perf_counter() - start
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_before
        rss = f"{peak / 1024:.0f} MiB" if peak > before else f"<= {before / 1024:.0f} MiB"
        message = (proc.stderr.strip().splitlines() or [""])[-1][:90]
        print(f"{name:15} {size / MIB:9.1f} MiB  exit {proc.returncode}  wall {elapsed:7.2f} s  "
              f"cpu {cpu:7.2f} s  peak RSS {rss:>10}  {message}")


def main() -> None:
    """Run the named cases (all by default)."""
    names = sys.argv[1:] or list(CASES)
    for name in names:
        run(name, CASES[name])


if __name__ == "__main__":
    main()
