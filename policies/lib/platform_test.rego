package kaic.lib.platform_test

import rego.v1

import data.kaic.lib.platform
import data.kaic.lib.testing
import data.kaic.lib.workload_index as windex

_crd(status) := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"metadata": {"name": "rayclusters.ray.io"},
	"spec": {"group": "ray.io", "names": {"kind": "RayCluster", "plural": "rayclusters"}},
	"status": {"conditions": [{"type": "Established", "status": status}]},
}

_deployment(name, ns, status) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/name": name}},
	"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}},
	"status": status,
}

test_kind_defined_by_crd_and_by_discovery if {
	by_crd := platform.kind_defined("ray.io", "RayCluster") with input as testing.manifests([_crd("True")])
	by_crd
	live := json.patch(testing.cluster([], [["ray.io", "rayjobs"]], []), [{"op": "replace", "path": "/cluster/api_resources/0/kind", "value": "RayJob"}])
	by_discovery := platform.kind_defined("ray.io", "RayJob") with input as live
	by_discovery
}

test_crd_not_established if {
	bad := platform.crd_not_established(_crd("False")) with input as testing.manifests([])
	bad
	not platform.crd_not_established(_crd("True"))
}

test_rollout_state if {
	states := [platform.rollout_state(d) |
		some d in [
			_deployment("a", "x", {"conditions": [{"type": "Available", "status": "False"}]}),
			_deployment("b", "x", {"availableReplicas": 2}),
			_deployment("c", "x", null),
		]
	] with input as testing.manifests([])
	states == ["unavailable", "available", "declared"]
}

test_controllers_match_name_or_label if {
	found := platform.controllers(["kuberay-operator"]) with input as testing.manifests([_deployment("kuberay-operator-5d9f", "ray", null), _deployment("web", "ray", null)])
	[d.metadata.name | some d in found] == ["kuberay-operator-5d9f"]
}

test_complete_in_is_per_namespace if {
	lq := {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "q", "namespace": "ml"}}
	inp := testing.manifests([lq])
	in_ml := platform.complete_in("kueue.x-k8s.io", "localqueues", "LocalQueue", "ml") with input as inp
	in_ml
	not platform.complete_in("kueue.x-k8s.io", "localqueues", "LocalQueue", "other") with input as inp
}

test_find_defaults_unnamespaced_objects_to_default if {
	inp := testing.manifests([_deployment("vllm", "", null), _deployment("vllm", "ml", null)])
	found := [platform.find("Deployment", ns, "vllm").metadata.namespace | some ns in ["default", "ml"]] with input as inp
	found == ["", "ml"]
}

test_pod_count if {
	counts := [platform.pod_count(o) |
		some o in [
			{"kind": "Job", "spec": {"parallelism": 4}},
			{"kind": "Deployment", "spec": {"replicas": 3}},
			{"kind": "StatefulSet", "spec": "x"},
			{"kind": "Pod"},
		]
	] with input as testing.manifests([])
	counts == [4, 3, 1, 1]
}

test_label_field_uses_brackets if {
	platform.label_field("metadata.labels", "kueue.x-k8s.io/queue-name") == `metadata.labels["kueue.x-k8s.io/queue-name"]`
}

test_workload_index_marks_ai_workloads if {
	gpu := {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "vllm", "namespace": "ml"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}}
	inp := testing.manifests([gpu, _deployment("web", "ml", null)])
	templates := windex.pod_templates with input as inp
	keys := windex.ai_keys with input as inp
	count(templates) == 2
	keys == {"Deployment ml/vllm"}
}
