"""Benchmark: collect 50,000 objects from a local fake kube-apiserver.

The server (tests/fakekube.py) runs in a child process so that the figures are the collector's
own: wall time, objects per second, kaic's CPU time (stable when the machine is shared; the
server competes for the same cores), and peak RSS of this process (ru_maxrss). The collector
uses the real `kubernetes` client over HTTP, pages of 500, four lists in parallel.

    python bench/bench_collect.py [--objects 50000] [--snapshot /tmp/bench.json.gz]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scanner.sources.cluster import ClusterOptions, Input, collect  # noqa: E402
from tests.fakekube import FakeApiServer, FakeCluster, obj  # noqa: E402

# Share of each resource in the object count: pods dominate real clusters.
MIX = [("", "v1", "pods", "Pod", True, 0.80), ("apps", "v1", "deployments", "Deployment", True,
                                                0.10),
       ("", "v1", "services", "Service", True, 0.08), ("", "v1", "nodes", "Node", False, 0.02)]


def _pod_spec(i: int) -> dict:
    return {"nodeName": f"node-{i % 500}", "serviceAccountName": "default",
            "runtimeClassName": "gvisor" if i % 7 == 0 else None,
            "containers": [{
                "name": "model-server", "image": f"registry.example.com/ai/vllm:0.{i % 9}.1",
                "args": ["--model", "/models/llama", "--port", "8000"],
                "env": [{"name": "CUDA_VISIBLE_DEVICES", "value": "0"},
                        {"name": "HF_HOME", "value": "/cache"}],
                "resources": {"limits": {"nvidia.com/gpu": "1", "memory": "32Gi"},
                              "requests": {"cpu": "4", "memory": "32Gi"}},
                "ports": [{"containerPort": 8000, "protocol": "TCP"}],
                "volumeMounts": [{"name": "models", "mountPath": "/models"}],
                "securityContext": {"allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]}},
            }],
            "volumes": [{"name": "models", "persistentVolumeClaim": {"claimName": "models"}}]}


def build(total: int) -> FakeCluster:
    """A cluster with `total` objects in the MIX proportions (~1.3 KB of JSON per pod)."""
    cluster = FakeCluster()
    for group, version, res, kind, namespaced, share in MIX:
        n = round(total * share)
        items = []
        for i in range(n):
            o = obj(kind, f"{res}-{i:06d}", f"team-{i % 40}" if namespaced else None)
            o["metadata"]["labels"] = {"app": f"app-{i % 300}", "kaic.dev/workload": "inference"}
            if kind == "Pod":
                o["spec"] = _pod_spec(i)
                o["status"] = {"phase": "Running", "podIP": f"10.{i % 250}.{i % 200}.{i % 100}"}
            items.append(o)
        cluster.serve(group, version, res, kind, namespaced, items)
    return cluster


def serve(total: int, queue) -> None:  # pragma: no cover - child process
    """Child process: run the fake server until killed."""
    with FakeApiServer(build(total)) as srv:
        queue.put(srv.kubeconfig())
        while True:
            time.sleep(3600)


def main() -> None:
    """Run one collection and print the figures as a Markdown table row."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--snapshot", type=Path, default=None)
    args = parser.parse_args()
    queue = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=serve, args=(args.objects, queue),
                                                        daemon=True)
    child.start()
    try:
        kubeconfig_text = queue.get(timeout=300)
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = Path(tmp) / "kubeconfig"
            kubeconfig.write_text(kubeconfig_text)
            inputs = [Input(g, r) for g, _, r, *_ in MIX]
            usage = resource.getrusage(resource.RUSAGE_SELF)
            rss_before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
            started = time.perf_counter()
            collection = collect(inputs, ClusterOptions(kubeconfig=str(kubeconfig),
                                                        workers=args.workers))
            seconds = time.perf_counter() - started
            usage = resource.getrusage(resource.RUSAGE_SELF)
            rss_peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_before
        n = len(collection.objects)
        assert n == sum(round(args.objects * m[-1]) for m in MIX), n
        print("| objects | workers | GET requests | wall s | objects/s (wall) | kaic CPU s | "
              "objects per kaic CPU s | peak RSS MiB | RSS before MiB |")
        print("|---|---|---|---|---|---|---|---|---|")
        print(f"| {n} | {args.workers} | {collection.requests} | {seconds:.2f} | "
              f"{n / seconds:,.0f} | {cpu:.2f} | {n / cpu:,.0f} | {rss_peak / 1024:.0f} | "
              f"{rss_before / 1024:.0f} |")
        if args.snapshot:
            from scanner.sources.snapshot import write_snapshot

            started = time.perf_counter()
            size = write_snapshot(collection, args.snapshot)
            print(f"\nsnapshot {args.snapshot}: {size / 1e6:.1f} MB written in "
                  f"{time.perf_counter() - started:.2f} s; peak RSS "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    finally:
        child.kill()
        child.join()


if __name__ == "__main__":
    main()
