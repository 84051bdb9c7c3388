"""Time each accelerator check (and the GPUDirect Storage check) on a synthetic bundle.

Run from the repository root: `PYTHONPATH=. python bench/accelerator_checks.py [N_OBJECTS]`
(default 20000; plain `python` works once kaic is installed with `pip install -e .`).
The bundle mixes GPU Deployments, Services, ConfigMaps, GPU Nodes and ServiceMonitors in 200
namespaces, plus 20 DCGM exporter DaemonSets. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from scanner.evaluate import prepare_engine
from scanner.policies import load_library

PACKAGES = ("kaic.accelerators.", "kaic.storage.gpudirect_storage")


def bundle(n: int) -> dict[str, Any]:
    """A kaic manifests-mode input document with about n objects."""
    objs: list[dict[str, Any]] = []
    for i in range(n):
        ns = f"ns{i % 200}"
        app = {"app": f"a{i - i % 5}"}
        kind = i % 5
        if kind == 0:
            container = {"name": "c", "image": "vllm/vllm-openai:v0.11.0",
                         "resources": {"limits": {"nvidia.com/gpu": 1}}}
            objs.append({"apiVersion": "apps/v1", "kind": "Deployment",
                         "metadata": {"name": f"d{i}", "namespace": ns},
                         "spec": {"template": {"metadata": {"labels": app},
                                               "spec": {"containers": [container]}}}})
        elif kind == 1:
            objs.append({"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": f"s{i}", "namespace": ns},
                         "spec": {"selector": app, "ports": [{"name": "http", "port": 80}]}})
        elif kind == 2:
            objs.append({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": f"c{i}", "namespace": ns},
                         "data": {"config.yaml": "version: v1\nfoo: bar\n" * 5}})
        elif kind == 3:
            gpu_label = {"nvidia.com/gpu.present": "true"}
            objs.append({"apiVersion": "v1", "kind": "Node",
                         "metadata": {"name": f"n{i}", "labels": gpu_label},
                         "status": {"capacity": {"nvidia.com/gpu": "8"},
                                    "conditions": [{"type": "GpuMemWatch", "status": "False"}],
                                    "nodeInfo": {"containerRuntimeVersion": "containerd://2.1"}}})
        else:
            objs.append({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
                         "metadata": {"name": f"m{i}", "namespace": ns},
                         "spec": {"selector": {"matchLabels": app},
                                  "endpoints": [{"port": "http"}]}})
    for i in range(20):
        exporter = {"name": "e", "image": "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2",
                    "ports": [{"name": "metrics", "containerPort": 9400}]}
        objs.append({"apiVersion": "apps/v1", "kind": "DaemonSet",
                     "metadata": {"name": f"dcgm{i}", "namespace": f"ns{i}"},
                     "spec": {"template": {"metadata": {"labels": {"app": "dcgm"}},
                                           "spec": {"containers": [exporter]}}}})
    return {"mode": "manifests", "cluster": None, "objects": objs}


def main() -> None:
    """Print seconds and result counts per check."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    library = load_library()
    engine = prepare_engine(library)
    engine.set_input_json(json.dumps(bundle(n)))
    for check in library.checks:
        if not check.package.startswith(PACKAGES):
            continue
        start = time.perf_counter()
        value = engine.query(f"data.{check.package}") or {}
        elapsed = time.perf_counter() - start
        counts = " ".join(f"{k}={len(value.get(k, []))}" for k in ("deny", "evidence", "unknown"))
        print(f"{check.id:28s} {elapsed:7.2f}s  {counts}")


if __name__ == "__main__":
    main()
