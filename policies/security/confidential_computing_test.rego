package kaic.security.confidential_computing_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.security.confidential_computing as check

_rc(name, handler) := {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name}, "handler": handler}

_workload(labels, runtime_class) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "private-llm", "namespace": "ml", "labels": labels},
	"spec": {"template": {"spec": object.union(
		{"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.11.0", "resources": {"limits": {"nvidia.com/gpu": 1}}}]},
		{"runtimeClassName": runtime_class | runtime_class != ""},
	)}},
}

_confidential := {"kaic.dev/confidential": "true", "kaic.dev/workload": "inference"}

_template_labelled(runtime_class) := {
	"apiVersion": "batch/v1",
	"kind": "Job",
	"metadata": {"name": "finetune", "namespace": "ml"},
	"spec": {"template": {
		"metadata": {"labels": {"kaic.dev/confidential": "true"}},
		"spec": object.union(
			{"containers": [{"name": "t", "image": "python:3.12"}], "restartPolicy": "Never"},
			{"runtimeClassName": runtime_class | runtime_class != ""},
		),
	}},
}

_node(labels) := {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-node-1", "labels": labels}}

_coco_crd := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"metadata": {"name": "ccruntimes.confidentialcontainers.org"},
	"spec": {"group": "confidentialcontainers.org", "names": {"plural": "ccruntimes", "kind": "CcRuntime"}},
}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"TDX RuntimeClass alone is platform evidence": {
		"input": testing.manifests([_rc("kata-qemu-tdx", "kata-qemu-tdx")]),
		"want": {"deny": 0, "evidence": 1, "warn": 0, "unknown": 0},
	},
	"GPU SNP RuntimeClass used by a confidential workload": {
		"input": testing.manifests([_rc("kata-qemu-nvidia-gpu-snp", "kata-qemu-nvidia-gpu-snp"), _workload(_confidential, "kata-qemu-nvidia-gpu-snp")]),
		"want": {"deny": 0, "evidence": 2, "unknown": 0},
	},
	"confidential workload without runtimeClassName": {
		"input": testing.manifests([_rc("kata-qemu-tdx", "kata-qemu-tdx"), _workload(_confidential, "")]),
		"want": {"deny": 1, "evidence": 1},
	},
	"confidential workload in a plain Kata runtime": {
		"input": testing.manifests([_rc("kata-qemu", "kata-qemu"), _workload(_confidential, "kata-qemu")]),
		"want": {"deny": 1, "evidence": 0},
	},
	"confidential workload in the CoCo development runtime": {
		"input": testing.manifests([_rc("kata-qemu-coco-dev", "kata-qemu-coco-dev"), _workload(_confidential, "kata-qemu-coco-dev")]),
		"want": {"deny": 1, "evidence": 0, "warn": 1},
	},
	"CoCo development runtime alone is no evidence": {
		"input": testing.manifests([_rc("kata-qemu-coco-dev", "kata-qemu-coco-dev")]),
		"want": {"deny": 0, "evidence": 0, "warn": 1},
	},
	"RuntimeClass named like TDX but with a runc handler": {
		"input": testing.manifests([_rc("kata-qemu-tdx", "runc"), _workload(_confidential, "kata-qemu-tdx")]),
		"want": {"deny": 1, "evidence": 0},
	},
	"label on the pod template counts": {
		"input": testing.manifests([_template_labelled("")]),
		"want": {"deny": 1},
	},
	"workloads without the label are not judged": {
		"input": testing.manifests([_workload({"kaic.dev/workload": "inference"}, "")]),
		"want": {"deny": 0, "evidence": 0, "warn": 0, "unknown": 0},
	},
	"RuntimeClass not in the bundle, TEE name": {
		"input": testing.manifests([_workload(_confidential, "kata-qemu-snp")]),
		"want": {"deny": 0, "evidence": 1, "unknown": 0},
	},
	"RuntimeClass not in the bundle, unknown name": {
		"input": testing.manifests([_workload(_confidential, "secure")]),
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
	},
	"RuntimeClass missing in a live cluster": {
		"input": testing.cluster([_workload(_confidential, "kata-qemu-tdx")], [["node.k8s.io", "runtimeclasses"]], []),
		"want": {"deny": 1, "evidence": 0, "unknown": 0},
	},
	"RuntimeClasses unreadable": {
		"input": testing.cluster([], [], [["node.k8s.io", "runtimeclasses"]]),
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
	},
	"NFD labels on a node": {
		"input": testing.cluster([_node({"feature.node.kubernetes.io/cpu-security.tdx.enabled": "true", "feature.node.kubernetes.io/cpu-security.sev.snp.enabled": "false"})], [], []),
		"want": {"deny": 0, "evidence": 1},
	},
	"NVIDIA CC mode on and off": {
		"input": testing.cluster([_node({"nvidia.com/cc.mode": "on"}), object.union(_node({"nvidia.com/cc.mode": "off"}), {"metadata": {"name": "n2"}})], [], []),
		"want": {"evidence": 1},
	},
	"CoCo operator CRD": {
		"input": testing.manifests([_coco_crd]),
		"want": {"deny": 0, "evidence": 1},
	},
	"CoCo operator API served by the cluster": {
		"input": testing.cluster([], [["confidentialcontainers.org", "ccruntimes"]], []),
		"want": {"evidence": 1},
	},
	"empty bundle": {
		"input": testing.manifests([]),
		"want": {"deny": 0, "evidence": 0, "warn": 0, "unknown": 0},
	},
}

failures contains msg if {
	some name, tc in _cases
	got := _results(tc.input)
	some msg in testing.count_mismatches(name, got, tc.want)
}

failures contains msg if {
	some name, tc in _cases
	not _results(tc.input)
	msg := sprintf("%s: the check could not be evaluated", [name])
}

test_cases if count(failures) == 0

test_tee_names if {
	check.tee("kata-qemu-nvidia-gpu-tdx") == "Intel TDX"
	check.tee("kata-qemu-se-runtime-rs") == "IBM Secure Execution"
	check.tee("kata-qemu-coco-dev") == "none"
	not check.tee("kata-qemu-nvidia-gpu")
	not check.tee("runsc")
	not check.tee("nvidia")
}

test_missing_runtime_class_points_at_the_pod_spec if {
	denies := check.deny with input as testing.manifests([_workload(_confidential, "")])
	[d.field | some d in denies] == ["spec.template.spec"]
}

test_conftest_combine_input if {
	got := _results(testing.combined([_rc("kata-qemu", "kata-qemu"), _workload(_confidential, "kata-qemu")]))
	count(got.deny) == 1
}

test_malformed_objects_do_not_break_the_check if {
	odd := [
		{"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": null, "handler": 5},
		{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n", "labels": "x"}},
		{"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "c"}, "spec": 5},
		{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"kaic.dev/confidential": "true"}}, "spec": {"template": {"spec": {"containers": "x", "runtimeClassName": 4}}}},
	]
	got := _results(testing.manifests(odd))
	count(got.deny) == 1
}
