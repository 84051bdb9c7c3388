package kaic.accelerators.driver_runtime_management_test

import rego.v1

import data.kaic.accelerators.driver_runtime_management as check
import data.kaic.lib.testing

_cp(driver) := {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "cluster-policy"}, "spec": {"driver": driver, "toolkit": {"enabled": true}}}

_driver(name, selector) := {
	"apiVersion": "nvidia.com/v1alpha1",
	"kind": "NVIDIADriver",
	"metadata": {"name": name},
	"spec": {"driverType": "gpu", "version": "580.95.05", "nodeSelector": selector},
}

_rc := {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "nvidia"}, "handler": "nvidia"}

_slice(name, node, version) := {
	"apiVersion": "resource.k8s.io/v1",
	"kind": "ResourceSlice",
	"metadata": {"name": name},
	"spec": {"driver": "gpu.nvidia.com", "nodeName": node, "pool": {"name": node}, "devices": [{"name": "gpu-0", "attributes": {
		"driverVersion": {"version": version},
		"cudaDriverVersion": {"version": "13.0.0"},
	}}]},
}

_node(labels, runtime) := {
	"apiVersion": "v1",
	"kind": "Node",
	"metadata": {"name": "gpu-node-1", "labels": labels},
	"status": {"capacity": {"nvidia.com/gpu": "8"}, "nodeInfo": {"containerRuntimeVersion": runtime}},
}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"GPU Operator with a RuntimeClass": {
		"input": testing.manifests([_cp({"enabled": true}), _rc]),
		"want": {"deny": 0, "evidence": 2, "unknown": 0},
	},
	"preinstalled driver": {
		"input": testing.manifests([_cp({"enabled": false})]),
		"want": {"deny": 0, "evidence": 1},
	},
	"disjoint NVIDIADrivers": {
		"input": testing.manifests([_driver("a100", {"nvidia.com/gpu.product": "A100"}), _driver("h100", {"nvidia.com/gpu.product": "H100"})]),
		"want": {"deny": 0, "evidence": 2},
	},
	"overlapping NVIDIADrivers": {
		"input": testing.manifests([_driver("default", {}), _driver("h100", {"nvidia.com/gpu.product": "H100"})]),
		"want": {"deny": 2, "evidence": 2},
	},
	"driver versions agree on a node": {
		"input": testing.manifests([_slice("s1", "n1", "580.95.5"), _slice("s2", "n1", "580.95.5")]),
		"want": {"deny": 0, "evidence": 2},
	},
	"driver versions disagree on a node": {
		"input": testing.manifests([_slice("s1", "n1", "580.95.5"), _slice("s2", "n1", "570.172.8")]),
		"want": {"deny": 2, "evidence": 2},
	},
	"GFD labels": {
		"input": testing.manifests([_node({"nvidia.com/cuda.driver-version.full": "580.95.05", "nvidia.com/gpu.present": "true"}, "containerd://2.1.4")]),
		"want": {"deny": 0, "evidence": 1},
	},
	"malformed runtime version on a GPU node": {
		"input": testing.manifests([_node({"nvidia.com/cuda.driver-version.full": "580.95.05"}, "containerd 2.1")]),
		"want": {"deny": 1, "evidence": 1},
	},
	"useNvidiaDriverCRD without NVIDIADriver offline": {
		"input": testing.manifests([_cp({"enabled": true, "useNvidiaDriverCRD": true})]),
		"want": {"deny": 0, "unknown": 1},
	},
	"useNvidiaDriverCRD without NVIDIADriver live": {
		"input": testing.cluster([_cp({"enabled": true, "useNvidiaDriverCRD": true})], [["nvidia.com", "nvidiadrivers"]], []),
		"want": {"deny": 1, "unknown": 0},
	},
	"empty bundle": {
		"input": testing.manifests([]),
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
	},
	"empty live cluster": {
		"input": testing.cluster([], [], []),
		"want": {"deny": 0, "evidence": 0, "unknown": 0},
	},
	"odd types": {
		"input": testing.manifests([
			{"apiVersion": "nvidia.com/v1alpha1", "kind": "NVIDIADriver", "metadata": {"name": "a"}, "spec": {"nodeSelector": 5}},
			{"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": "s"}, "spec": {"nodeName": "n", "devices": [{"attributes": {"driverVersion": "x"}}, 5]}},
			{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "status": {"nodeInfo": 5, "capacity": {"nvidia.com/gpu": 1}}},
		]),
		"want": {"deny": 0},
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

test_overlap_points_at_the_selector if {
	denies := check.deny with input as testing.manifests([_driver("default", {}), _driver("h100", {"nvidia.com/gpu.product": "H100"})])
	{d.field | some d in denies} == {"spec.nodeSelector"}
}

test_conftest_combine_input if {
	got := _results(testing.combined([_driver("default", {}), _driver("all", {})]))
	count(got.deny) == 2
}
