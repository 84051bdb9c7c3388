"""Small Rego modules shared by the engine tests: a library package, a check that uses it,
and an input on which the check has deny, warn and evidence results."""

from __future__ import annotations

import json

LIB = """package kaic.lib.sample

import rego.v1

gpu_pods(objects) := [o | some o in objects; o.kind == "Pod"; o.spec.gpu]

ref(o) := {"apiVersion": o.apiVersion, "kind": o.kind, "namespace": object.get(o.metadata,
    "namespace", ""), "name": o.metadata.name}
"""

CHECK = """# METADATA
# title: Sample
# description: A sample check for the engine tests.
# custom:
#   id: sample
#   requirements: {whitepaper: [SEC-5.3]}
#   severity: high
#   scope: workload
package kaic.test.sample

import data.kaic.lib.sample
import rego.v1

deny contains {"msg": sprintf("pod %s has no sandbox", [o.metadata.name]), "ref": sample.ref(o),
    "field": "spec.runtimeClassName"} if {
    some o in sample.gpu_pods(input.objects)
    not o.spec.runtimeClassName
}

warn contains {"msg": sprintf("pod %s runs as root", [o.metadata.name]), "ref": sample.ref(o)} if {
    some o in input.objects
    o.spec.root == true
}

evidence contains {"msg": sprintf("runtime class %s", [o.metadata.name]), "ref": sample.ref(o)} if {
    some o in input.objects
    o.kind == "RuntimeClass"
}

count_gpu := count(sample.gpu_pods(input.objects))
"""

CONFLICT = """package kaic.test.conflict

import rego.v1

mode := "a" if true

mode := "b" if input.objects
"""


def pod(name: str, gpu: bool = True, runtime: str | None = None, root: bool = False) -> dict:
    """A pod-shaped object as the sample check reads it."""
    spec: dict = {"gpu": gpu, "root": root}
    if runtime:
        spec["runtimeClassName"] = runtime
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "ml"}, "spec": spec}


OBJECTS = [
    pod("train-0"),
    pod("train-1", runtime="gvisor", root=True),
    pod("web", gpu=False),
    {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "gvisor"},
     "handler": "runsc"},
]
INPUT_JSON = json.dumps({"mode": "manifests", "cluster": None, "objects": OBJECTS})


def normalised(value: object) -> object:
    """Sets come back as arrays in engine-specific order: sort them for comparison."""
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [normalised(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value
