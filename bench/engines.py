"""Time kaic's library on each engine over a synthetic inventory of N AI workloads.

    python bench/engines.py --objects 200 --engines regorus,regopy,opa [--opa-url URL]

Without --opa-url the opa engine runs against the test suite's local OPA-compatible server
(tests/opa_server.py), which evaluates with regorus: that measures kaic's client side (upload,
HTTP round trips, cleanup), not OPA. Prints one line per engine: load, input and total query
seconds, and the slowest check.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner.engine import RegoRuntimeError, close_engine, create_engine  # noqa: E402
from scanner.policies import load_library  # noqa: E402


def inventory(n: int) -> str:
    """N GPU Deployments in a few namespaces, a RuntimeClass and a NetworkPolicy per namespace."""
    namespaces = max(1, n // 50)
    objects: list[dict] = [{"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
                            "metadata": {"name": "gvisor"}, "handler": "runsc"}]
    objects += [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                 "metadata": {"name": "deny-egress", "namespace": f"team-{ns}"},
                 "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}
                for ns in range(namespaces)]
    objects += [{
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"model-{i}", "namespace": f"team-{i % namespaces}",
                     "labels": {"kaic.dev/workload": "inference" if i % 2 else "agent"}},
        "spec": {"template": {"metadata": {"labels": {"app": f"model-{i}"}}, "spec": {
            **({"runtimeClassName": "gvisor"} if i % 3 else {}),
            "containers": [{"name": "server", "image": f"ghcr.io/acme/model:{i}",
                            "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}},
    } for i in range(n)]
    return json.dumps({"mode": "manifests", "cluster": None, "objects": objects})


def run(name: str, options: dict, input_json: str) -> str:
    library = load_library()
    started = time.perf_counter()
    engine = create_engine(name, **options)
    try:
        for path, text in library.modules.items():
            engine.add_module(path, text)
        loaded = time.perf_counter()
        engine.set_input_json(input_json)
        ready = time.perf_counter()
        slowest, errors = ("", 0.0), 0
        for check in library.checks:
            t = time.perf_counter()
            try:
                engine.query(f"data.{check.package}")
            except RegoRuntimeError:
                errors += 1
            took = time.perf_counter() - t
            if took > slowest[1]:
                slowest = (check.id, took)
        done = time.perf_counter()
    finally:
        close_engine(engine)
    return (f"{name:8} load {loaded - started:6.2f}s  input {ready - loaded:6.2f}s  "
            f"{len(library.checks)} checks {done - ready:6.2f}s  slowest {slowest[0]} "
            f"{slowest[1]:.2f}s  runtime errors {errors}")


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--engines", default="regorus,regopy,opa")
    parser.add_argument("--opa-url")
    args = parser.parse_args()
    input_json = inventory(args.objects)
    print(f"{args.objects} workloads, input {len(input_json) / 1e6:.2f} MB")
    for name in args.engines.split(","):
        if name == "opa" and not args.opa_url:
            from tests.opa_server import OpaServer

            with OpaServer() as server:
                print(run(name, {"url": server.url, "timeout": 120}, input_json))
        else:
            options = {"url": args.opa_url, "timeout": 120} if name == "opa" else {}
            print(run(name, options, input_json))


if __name__ == "__main__":
    main()
