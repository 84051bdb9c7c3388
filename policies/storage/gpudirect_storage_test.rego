package kaic.storage.gpudirect_storage_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.storage.gpudirect_storage as check

_cp(spec) := {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "cluster-policy"}, "spec": spec}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"gds with RDMA and open modules": {
		"input": testing.manifests([_cp({"driver": {"enabled": true, "kernelModuleType": "open", "rdma": {"enabled": true}}, "gds": {"enabled": true}})]),
		"want": {"deny": 0, "evidence": 1, "unknown": 0},
	},
	"gds on an NVIDIADriver": {
		"input": testing.manifests([{"apiVersion": "nvidia.com/v1alpha1", "kind": "NVIDIADriver", "metadata": {"name": "gds"}, "spec": {"driverType": "gpu", "gds": {"enabled": true}}}]),
		"want": {"deny": 0, "evidence": 1},
	},
	"nvidia-fs container": {
		"input": testing.manifests([{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "nvidia-driver-daemonset", "namespace": "gpu-operator"}, "spec": {"template": {"spec": {"containers": [{"name": "nvidia-fs", "image": "nvcr.io/nvidia/cloud-native/nvidia-fs:2.20.5"}]}}}}]),
		"want": {"deny": 0, "evidence": 1},
	},
	"gds without the operator-managed driver": {
		"input": testing.manifests([_cp({"driver": {"enabled": false}, "gds": {"enabled": true}})]),
		"want": {"deny": 1, "evidence": 1},
	},
	"gds with proprietary kernel modules": {
		"input": testing.manifests([_cp({"driver": {"kernelModuleType": "proprietary"}, "gds": {"enabled": true}})]),
		"want": {"deny": 1, "evidence": 1},
	},
	"gds with useOpenKernelModules false": {
		"input": testing.manifests([_cp({"driver": {"useOpenKernelModules": false}, "gds": {"enabled": true}})]),
		"want": {"deny": 1, "evidence": 1},
	},
	"gds disabled": {
		"input": testing.manifests([_cp({"gds": {"enabled": false}})]),
		"want": {"deny": 0, "evidence": 0, "unknown": 0},
	},
	"Kyverno ClusterPolicy named like the operator's": {
		"input": testing.manifests([{"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "cluster-policy"}, "spec": {"gds": {"enabled": true}}}]),
		"want": {"deny": 0, "evidence": 0},
	},
	"empty live cluster": {
		"input": testing.cluster([], [], []),
		"want": {"deny": 0, "evidence": 0, "unknown": 0},
	},
	"unreadable ClusterPolicies": {
		"input": testing.cluster([], [], [["nvidia.com", "clusterpolicies"]]),
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
	},
	"odd types": {
		"input": testing.manifests([_cp({"gds": 5, "driver": "x"}), _cp(5), {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": null}]),
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

test_proprietary_modules_point_at_the_field if {
	denies := check.deny with input as testing.manifests([_cp({"driver": {"kernelModuleType": "proprietary"}, "gds": {"enabled": true}})])
	[d.field | some d in denies] == ["spec.driver.kernelModuleType"]
}

test_conftest_combine_input if {
	got := _results(testing.combined([_cp({"driver": {"enabled": false}, "gds": {"enabled": true}})]))
	count(got.deny) == 1
	count(got.evidence) == 1
}
