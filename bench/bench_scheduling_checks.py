"""Times the scheduling, operator and networking checks on a synthetic bundle.

Run from the repository root (N namespaces of 10 objects each, default 2000):

    PYTHONPATH=. python bench/bench_scheduling_checks.py [N]

Each namespace holds a GPU Deployment with an HPA, a queued JobSet and its LocalQueue, a
Job joining a Volcano PodGroup, a NetworkAttachmentDefinition attached by the Job, an
InferencePool with an HTTPRoute, and an llm-d prefill/decode pair, so every reference
the checks resolve is exercised at scale (a quadratic join shows up as a blow-up here).
"""

from __future__ import annotations

import json
import sys
import time

from scanner.evaluate import prepare_engine
from scanner.policies import load_library

CHECKS = [
    "kaic.networking.gateway_api", "kaic.security.sandbox_runtime",
    "kaic.operators.ai_operator_crds", "kaic.scheduling.jobset", "kaic.scheduling.kueue",
    "kaic.scheduling.gang_scheduling", "kaic.scheduling.topology_aware_scheduling",
    "kaic.scheduling.cluster_autoscaling", "kaic.scheduling.pod_autoscaling",
    "kaic.networking.multi_network", "kaic.networking.inference_gateway_extension",
    "kaic.networking.disaggregated_inference",
]


def _pod(labels: dict, annotations: dict | None = None, gpu: bool = True) -> dict:
    container = {"name": "c", "image": "vllm/vllm-openai:v0.11.0"}
    if gpu:
        container["resources"] = {"limits": {"nvidia.com/gpu": 1}}
    return {"metadata": {"labels": labels, "annotations": annotations or {}},
            "spec": {"containers": [container]}}


def namespace_objects(i: int) -> list[dict]:
    """The ten objects of one synthetic team namespace."""
    ns = f"team-{i}"
    meta = {"namespace": ns}
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "vllm", **meta},
         "spec": {"template": _pod({"app": "vllm"})}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
         "metadata": {"name": "vllm", **meta},
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "vllm"},
                  "metrics": [{"type": "Pods", "pods": {"metric": {"name": "q"}}}]}},
        {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue",
         "metadata": {"name": "q", **meta}, "spec": {"clusterQueue": "gpu"}},
        {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet",
         "metadata": {"name": "train", "labels": {"kueue.x-k8s.io/queue-name": "q"}, **meta},
         "spec": {"replicatedJobs": [{"name": "w", "template": {"spec": {"template": _pod({})}}}]}},
        {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup",
         "metadata": {"name": "pg", **meta}, "spec": {"minMember": 2}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "ddp", **meta},
         "spec": {"parallelism": 2, "template": _pod(
             {}, {"scheduling.k8s.io/group-name": "pg", "k8s.v1.cni.cncf.io/networks": "rdma"})}},
        {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
         "metadata": {"name": "rdma", **meta}, "spec": {"config": '{"type": "macvlan"}'}},
        {"apiVersion": "inference.networking.k8s.io/v1", "kind": "InferencePool",
         "metadata": {"name": "pool", **meta},
         "spec": {"selector": {"matchLabels": {"app": "vllm"}},
                  "endpointPickerRef": {"name": "epp"}}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
         "metadata": {"name": "r", **meta},
         "spec": {"rules": [{"backendRefs": [{"kind": "InferencePool", "name": "pool"}]}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "prefill", **meta},
         "spec": {"template": _pod({"llm-d.ai/role": "prefill"})}},
    ]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    objects = [{"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue",
                "metadata": {"name": "gpu"}, "spec": {}}]
    for i in range(n):
        objects.extend(namespace_objects(i))
    engine = prepare_engine(load_library())
    engine.set_input_json(json.dumps({"mode": "manifests", "cluster": None, "objects": objects}))
    print(f"{len(objects)} objects")
    for package in CHECKS:
        start = time.perf_counter()
        result = engine.query(f"data.{package}")
        elapsed = time.perf_counter() - start
        counts = {k: len(result.get(k, [])) for k in ("deny", "evidence", "warn", "unknown")}
        print(f"{package:50s} {elapsed:7.2f}s {counts}")


if __name__ == "__main__":
    main()
