"""Deterministic benchmark corpus: realistic AI-platform manifests, some compliant, some not.

`python bench/corpus.py OUT --objects 2000` writes

- `OUT/manifests/`: N Kubernetes documents as multi-document YAML, 10 per file (N/10 files);
- `OUT/objects.json`: the same N objects as one `kind: List` JSON document (the big-JSON input,
  and the stand-in for a cluster snapshot until `scanner.sources.snapshot` can write one);
- `OUT/snapshot.json.gz`: a kaic snapshot of the same objects, when the installed kaic has a
  snapshot writer (see `write_snapshot`);
- `OUT/corpus.json`: what was written (counts per kind, violations planted, bytes).

Every file is a function of (seed, file index) only: the first 1,000 files of a 100k corpus are
the 1,000 files of the 10k corpus, so the scaling runs measure more of the same workload and
nothing else. One file is one "app" of an AI team: an inference Deployment with its Service and
HTTPRoute, a training JobSet, an agent Deployment with its Service, a NetworkPolicy, a
ServiceAccount, a ConfigMap and one platform object (RuntimeClass, GatewayClass, Gateway or a
PodDisruptionBudget). Five apps share a namespace, so namespace-scoped joins (NetworkPolicies
selecting workloads, routes to services) grow with the corpus the way they do in a real cluster.

Planted violations (per app, from a seeded RNG): the agent runs without a sandbox
RuntimeClass (30%), images by tag instead of digest (40% per workload), no NetworkPolicy
(egress unrestricted; 20%, the slot holds a ConfigMap instead), GPU workloads without a
`kaic.dev/workload` label (15%).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

DOCS_PER_FILE = 10
APPS_PER_NAMESPACE = 5
DEFAULT_SEED = 6
SCHEMA = "kaic.dev/bench-corpus/v1"

MODELS = ("llama-3-8b", "mistral-7b", "qwen2-72b", "gemma-2-9b", "phi-3-mini", "mixtral-8x7b")
REGISTRIES = ("ghcr.io/acme-ai", "registry.example.com/ml", "nvcr.io/nvidia")
SANDBOXES = ("gvisor", "kata-qemu")


class _Dumper(yaml.CSafeDumper if hasattr(yaml, "CSafeDumper") else yaml.SafeDumper):  # type: ignore[misc]
    """Block-style YAML, keys in insertion order (what people write by hand)."""


def _digest(rng: random.Random) -> str:
    return "sha256:" + "".join(rng.choice("0123456789abcdef") for _ in range(64))


def _image(rng: random.Random, name: str, violations: Counter[str]) -> str:
    base = f"{rng.choice(REGISTRIES)}/{name}"
    if rng.random() < 0.4:
        violations["image-by-tag"] += 1
        return f"{base}:v{rng.randint(1, 4)}.{rng.randint(0, 20)}"
    return f"{base}@{_digest(rng)}"


def _resources(gpus: int, cpu: int, memory_gi: int) -> dict[str, Any]:
    limits: dict[str, Any] = {"cpu": str(cpu), "memory": f"{memory_gi}Gi"}
    if gpus:
        limits["nvidia.com/gpu"] = gpus
    return {"requests": dict(limits), "limits": limits}


def _security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _meta(name: str, namespace: str | None, labels: dict[str, str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = labels
    return meta


def _service(name: str, namespace: str, labels: dict[str, str],
             port: dict[str, Any]) -> dict[str, Any]:
    """A Service selecting the pods named `name`, with one port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, namespace, dict(labels)),
        "spec": {"selector": {"app.kubernetes.io/name": name}, "ports": [port]},
    }


def app_documents(seed: int, index: int) -> tuple[list[dict[str, Any]], Counter[str]]:
    """The 10 documents of app `index` and the violations planted in them."""
    rng = random.Random(f"kaic-bench/{seed}/{index}")
    violations: Counter[str] = Counter()
    app = f"app-{index:06d}"
    namespace = f"team-{index // APPS_PER_NAMESPACE:05d}"
    model = rng.choice(MODELS)
    part_of = {"app.kubernetes.io/part-of": app}

    inference_labels = {"app.kubernetes.io/name": f"{app}-serve", **part_of}
    if rng.random() < 0.15:
        violations["gpu-workload-unlabelled"] += 1
    else:
        inference_labels["kaic.dev/workload"] = "inference"
    serve = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(f"{app}-serve", namespace, inference_labels),
        "spec": {
            "replicas": rng.randint(1, 8),
            "selector": {"matchLabels": {"app.kubernetes.io/name": f"{app}-serve"}},
            "template": {
                "metadata": {"labels": dict(inference_labels)},
                "spec": {
                    "serviceAccountName": app,
                    "containers": [{
                        "name": "vllm",
                        "image": _image(rng, "vllm-openai", violations),
                        "args": ["--model", model, "--tensor-parallel-size", "1"],
                        "ports": [{"name": "http", "containerPort": 8000}],
                        "resources": _resources(rng.choice((1, 1, 2, 4)), 8, 64),
                        "securityContext": _security_context(),
                        "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}},
                    }],
                },
            },
        },
    }
    serve_svc = _service(f"{app}-serve", namespace, part_of,
                         {"name": "http", "port": 80, "targetPort": "http"})
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": _meta(f"{app}-serve", namespace, dict(part_of)),
        "spec": {
            "parentRefs": [{"name": "inference-gateway", "namespace": "gateway-system"}],
            "hostnames": [f"{app}.models.example.com"],
            "rules": [{
                "matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}],
                "backendRefs": [{"name": f"{app}-serve", "port": 80}],
            }],
        },
    }
    train_labels = {"kaic.dev/workload": "training", **part_of}
    train = {
        "apiVersion": "jobset.x-k8s.io/v1alpha2",
        "kind": "JobSet",
        "metadata": _meta(f"{app}-finetune", namespace, train_labels),
        "spec": {
            "failurePolicy": {"maxRestarts": 3},
            "replicatedJobs": [{
                "name": "workers",
                "replicas": rng.randint(1, 4),
                "template": {"spec": {
                    "parallelism": 2,
                    "completions": 2,
                    "backoffLimit": 0,
                    "template": {
                        "metadata": {"labels": dict(train_labels)},
                        "spec": {
                            "restartPolicy": "Never",
                            "serviceAccountName": app,
                            "containers": [{
                                "name": "trainer",
                                "image": _image(rng, "pytorch-trainer", violations),
                                "command": ["torchrun", "--nproc-per-node=8", "train.py"],
                                "env": [{"name": "MODEL", "value": model}],
                                "resources": _resources(8, 32, 256),
                                "securityContext": _security_context(),
                            }],
                        },
                    },
                }},
            }],
        },
    }
    agent_labels = {"app.kubernetes.io/name": f"{app}-agent", "kaic.dev/workload": "agent",
                    **part_of}
    agent_spec: dict[str, Any] = {
        "serviceAccountName": app,
        "automountServiceAccountToken": False,
        "containers": [{
            "name": "agent",
            "image": _image(rng, "tool-agent", violations),
            "env": [{"name": "MODEL_URL", "value": f"http://{app}-serve.{namespace}.svc"}],
            "resources": _resources(0, 2, 4),
            "securityContext": _security_context(),
        }],
    }
    if rng.random() < 0.3:
        violations["agent-without-sandbox"] += 1
    else:
        agent_spec = {"runtimeClassName": rng.choice(SANDBOXES), **agent_spec}
    agent = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(f"{app}-agent", namespace, agent_labels),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": f"{app}-agent"}},
            "template": {"metadata": {"labels": dict(agent_labels)}, "spec": agent_spec},
        },
    }
    agent_svc = _service(f"{app}-agent", namespace, part_of, {"name": "http", "port": 8080})
    if rng.random() < 0.2:
        violations["no-network-policy"] += 1
        policy: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(f"{app}-egress-todo", namespace, dict(part_of)),
            "data": {"note": "egress policy pending review"},
        }
    else:
        policy = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta(f"{app}-egress", namespace, dict(part_of)),
            "spec": {
                "podSelector": {"matchLabels": dict(part_of)},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                    "kubernetes.io/metadata.name": "gateway-system"}}}]}],
                "egress": [
                    {"to": [{"podSelector": {"matchLabels": dict(part_of)}}]},
                    {"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {
                        "k8s-app": "kube-dns"}}}],
                     "ports": [{"protocol": "UDP", "port": 53}]},
                ],
            },
        }
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(app, namespace, dict(part_of)),
        "automountServiceAccountToken": False,
    }
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(f"{app}-config", namespace, dict(part_of)),
        "data": {"model": model, "max_tokens": str(rng.choice((2048, 4096, 8192))),
                 "system_prompt": "You are a helpful assistant for team " + namespace + "."},
    }
    documents = [serve, serve_svc, route, train, agent, agent_svc, policy, account, config,
                 _platform_object(index, namespace, part_of)]
    return documents, violations


def _platform_object(index: int, namespace: str, part_of: dict[str, str]) -> dict[str, Any]:
    """The tenth document: a few platform objects, then PodDisruptionBudgets."""
    if index < len(SANDBOXES):
        handler = {"gvisor": "runsc", "kata-qemu": "kata-qemu"}[SANDBOXES[index]]
        return {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
                "metadata": {"name": SANDBOXES[index]}, "handler": handler}
    if index == len(SANDBOXES):
        return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
                "metadata": {"name": "inference"},
                "spec": {"controllerName": "example.com/gateway-controller"}}
    if index == len(SANDBOXES) + 1:
        return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                "metadata": {"name": "inference-gateway", "namespace": "gateway-system"},
                "spec": {"gatewayClassName": "inference",
                         "listeners": [{"name": "http", "protocol": "HTTP", "port": 80}]}}
    app = part_of["app.kubernetes.io/part-of"]
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(f"{app}-serve", namespace, dict(part_of)),
        "spec": {"maxUnavailable": 1,
                 "selector": {"matchLabels": {"app.kubernetes.io/name": f"{app}-serve"}}},
    }


def iter_apps(objects: int, seed: int = DEFAULT_SEED) -> Iterator[tuple[int, list[dict[str, Any]],
                                                                         Counter[str]]]:
    """(index, documents, violations) for each app of an N-object corpus."""
    if objects <= 0 or objects % DOCS_PER_FILE:
        raise ValueError(f"--objects must be a positive multiple of {DOCS_PER_FILE}")
    for index in range(objects // DOCS_PER_FILE):
        documents, violations = app_documents(seed, index)
        yield index, documents, violations


def to_yaml(documents: list[dict[str, Any]]) -> str:
    """Multi-document YAML text of one file."""
    return yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                         explicit_start=True, width=100)


def write_snapshot(path: Path, objects: list[dict[str, Any]]) -> bool:
    """Write a kaic snapshot of `objects` with kaic's own writer; False when this kaic has none.

    The snapshot format belongs to `scanner.sources.snapshot`; the corpus does not guess it. The
    cluster facts say every resource of the corpus was listed and readable.
    """
    try:
        from scanner.sources.cluster import Collection  # type: ignore[attr-defined]
        from scanner.sources.snapshot import write_snapshot as kaic_write  # type: ignore
    except ImportError:
        return False
    resources = sorted({(o["apiVersion"], o["kind"]) for o in objects})
    api_resources = [
        {"group": api.rsplit("/", 1)[0] if "/" in api else "", "version": api.rsplit("/", 1)[-1],
         "resource": kind.lower() + ("es" if kind.endswith("s") else "s"), "kind": kind,
         "namespaced": kind not in CLUSTER_SCOPED}
        for api, kind in resources
    ]
    try:
        collection = Collection(
            server="https://bench.invalid:6443", context="bench",
            collected_at="2026-01-01T00:00:00Z", kaic_version="bench",
            version={"gitVersion": "v1.35.0", "major": "1", "minor": "35"},
            api_resources=api_resources, unreadable=[], inputs=[],
            namespaces=sorted({o["metadata"].get("namespace", "") for o in objects} - {""}),
            objects=objects,
        )
        kaic_write(collection, path)
    except TypeError:  # the snapshot API changed: fall back to the labelled stand-in
        return False
    return True


CLUSTER_SCOPED = frozenset({"RuntimeClass", "GatewayClass", "Namespace"})


def generate(out: Path, objects: int, seed: int = DEFAULT_SEED, *, snapshot: bool = True,
             big_json: bool = True) -> dict[str, Any]:
    """Write the corpus under `out` (see the module docstring); return its description."""
    manifests = out / "manifests"
    manifests.mkdir(parents=True, exist_ok=True)
    kinds: Counter[str] = Counter()
    violations: Counter[str] = Counter()
    everything: list[dict[str, Any]] = []
    digest = hashlib.sha256()
    yaml_bytes = 0
    for index, documents, planted in iter_apps(objects, seed):
        text = to_yaml(documents).encode()
        digest.update(text)
        yaml_bytes += len(text)
        # 100 files per directory, like a repository with many small components.
        directory = manifests / f"group-{index // 100:04d}"
        directory.mkdir(exist_ok=True)
        (directory / f"app-{index:06d}.yaml").write_bytes(text)
        kinds.update(d["kind"] for d in documents)
        violations.update(planted)
        if big_json or snapshot:
            everything.extend(documents)
    description: dict[str, Any] = {
        "schema": SCHEMA,
        "seed": seed,
        "objects": objects,
        "files": objects // DOCS_PER_FILE,
        "yaml_bytes": yaml_bytes,
        "yaml_sha256": digest.hexdigest(),
        "kinds": dict(sorted(kinds.items())),
        "violations": dict(sorted(violations.items())),
        "big_json": None,
        "snapshot": None,
    }
    if big_json:
        data = json.dumps({"apiVersion": "v1", "kind": "List", "items": everything},
                          separators=(",", ":")).encode()
        (out / "objects.json").write_bytes(data)
        description["big_json"] = {"path": "objects.json", "bytes": len(data)}
    if snapshot and write_snapshot(out / "snapshot.json.gz", everything):
        description["snapshot"] = {"path": "snapshot.json.gz",
                                   "bytes": (out / "snapshot.json.gz").stat().st_size}
    (out / "corpus.json").write_text(json.dumps(description, indent=2) + "\n")
    return description


def ensure(out: Path, objects: int, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The corpus at `out`, generated only if it is missing or was made with other parameters."""
    marker = out / "corpus.json"
    if marker.is_file():
        existing = json.loads(marker.read_text())
        # A corpus made before kaic could write snapshots has none: make it again.
        if existing.get("schema") == SCHEMA and (existing["objects"], existing["seed"]) == (
                objects, seed) and existing.get("snapshot"):
            return existing
    if out.exists():
        import shutil

        shutil.rmtree(out)
    return generate(out, objects, seed)


def main(argv: list[str] | None = None) -> int:
    """CLI: `python bench/corpus.py OUT --objects N [--seed S]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    try:
        description = generate(args.out, args.objects, args.seed)
    except ValueError as exc:
        print(f"corpus: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(description, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
