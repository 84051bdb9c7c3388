package kaic.accelerators.dra_support_test

import rego.v1

import data.kaic.accelerators.dra_support as check
import data.kaic.lib.testing

_dc(name, driver, ext) := {
	"apiVersion": "resource.k8s.io/v1",
	"kind": "DeviceClass",
	"metadata": {"name": name},
	"spec": object.union(
		{"selectors": [{"cel": {"expression": sprintf("device.driver == '%s'", [driver])}}]},
		{"extendedResourceName": ext | ext != ""},
	),
}

_slice(driver, node) := {
	"apiVersion": "resource.k8s.io/v1",
	"kind": "ResourceSlice",
	"metadata": {"name": sprintf("%s-%s", [node, driver])},
	"spec": {"driver": driver, "nodeName": node, "pool": {"name": node, "generation": 1, "resourceSliceCount": 1}, "devices": [{"name": "gpu-0"}]},
}

_kubelet_plugin := {
	"apiVersion": "apps/v1",
	"kind": "DaemonSet",
	"metadata": {"name": "nvidia-dra-driver-gpu-kubelet-plugin", "namespace": "nvidia-dra-driver-gpu"},
	"spec": {"template": {"spec": {"containers": [{"name": "gpus", "image": "nvcr.io/nvidia/k8s-dra-driver-gpu:v25.8.0"}]}}},
}

_device_plugin := {
	"apiVersion": "apps/v1",
	"kind": "DaemonSet",
	"metadata": {"name": "nvidia-device-plugin", "namespace": "kube-system"},
	"spec": {"template": {"spec": {"containers": [{"name": "p", "image": "nvcr.io/nvidia/k8s-device-plugin:v0.17.0"}]}}},
}

_template(api_version, request) := {
	"apiVersion": api_version,
	"kind": "ResourceClaimTemplate",
	"metadata": {"name": "single-gpu", "namespace": "ml"},
	"spec": {"spec": {"devices": {"requests": [request]}}},
}

_v1_request := {"name": "gpu", "exactly": {"deviceClassName": "gpu.nvidia.com"}}

_beta_request := {"name": "gpu", "deviceClassName": "gpu.nvidia.com"}

_dra_v1 := [["resource.k8s.io", "deviceclasses"], ["resource.k8s.io", "resourceslices"]]

_beta_cluster(minor) := object.union(testing.cluster([], [], []), {"cluster": {
	"version": {"gitVersion": sprintf("v1.%s.0", [minor]), "major": "1", "minor": minor},
	"api_resources": [{"group": "resource.k8s.io", "version": "v1beta2", "resource": "deviceclasses", "kind": "DeviceClass", "namespaced": false}],
	"unreadable": [],
}})

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"NVIDIA DRA driver bundle": {
		"input": testing.manifests([_dc("gpu.nvidia.com", "gpu.nvidia.com", ""), _kubelet_plugin, _template("resource.k8s.io/v1", _v1_request)]),
		"want": {"deny": 0, "evidence": 3, "unknown": 0},
	},
	"v1 served, class and slice in a live cluster": {
		"input": testing.cluster([_dc("gpu.nvidia.com", "gpu.nvidia.com", ""), _slice("gpu.nvidia.com", "node-1")], _dra_v1, []),
		"want": {"deny": 0, "evidence": 3, "unknown": 0},
	},
	"class whose driver publishes nothing (live)": {
		"input": testing.cluster([_dc("gpu.nvidia.com", "gpu.nvidia.com", ""), _slice("gpu.example.com", "node-1")], _dra_v1, []),
		"want": {"deny": 1, "evidence": 3},
	},
	"class without slices in a bundle is not judged": {
		"input": testing.manifests([_dc("gpu.nvidia.com", "gpu.nvidia.com", "")]),
		"want": {"deny": 0, "evidence": 1},
	},
	"two classes map one extended resource": {
		"input": testing.manifests([_dc("a.nvidia.com", "gpu.nvidia.com", "nvidia.com/gpu"), _dc("b.nvidia.com", "gpu.nvidia.com", "nvidia.com/gpu")]),
		"want": {"deny": 2, "evidence": 2},
	},
	"class maps nvidia.com/gpu while the device plugin runs": {
		"input": testing.manifests([_dc("gpu.nvidia.com", "gpu.nvidia.com", "nvidia.com/gpu"), _device_plugin]),
		"want": {"deny": 1, "evidence": 1},
	},
	"v1beta1 request shape in v1": {
		"input": testing.manifests([_template("resource.k8s.io/v1", _beta_request)]),
		"want": {"deny": 1, "evidence": 1},
	},
	"v1beta1 request shape in v1beta1 is fine": {
		"input": testing.manifests([_template("resource.k8s.io/v1beta1", _beta_request)]),
		"want": {"deny": 0, "evidence": 1},
	},
	"only beta served on 1.34": {
		"input": _beta_cluster("34"),
		"want": {"deny": 1, "evidence": 1, "warn": 0},
	},
	"only beta served on 1.33 is advice": {
		"input": _beta_cluster("33"),
		"want": {"deny": 0, "evidence": 1, "warn": 1},
	},
	"empty bundle is unknown": {
		"input": testing.manifests([]),
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
	},
	"live cluster without DRA is absent": {
		"input": testing.cluster([], [], []),
		"want": {"deny": 0, "evidence": 0, "unknown": 0},
	},
	"unreadable slices are unknown, not a verdict": {
		"input": testing.cluster([_dc("gpu.nvidia.com", "gpu.nvidia.com", "")], _dra_v1, [["resource.k8s.io", "resourceslices"]]),
		"want": {"deny": 0, "unknown": 1},
	},
	"odd types do not break the check": {
		"input": testing.manifests([
			{"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": null, "spec": 5},
			{"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": "s"}, "spec": {"devices": "x"}},
			{"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate", "metadata": {"name": "t"}, "spec": {"spec": {"devices": {"requests": "x"}}}},
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

test_v1beta1_shape_points_at_the_request if {
	denies := check.deny with input as testing.manifests([_template("resource.k8s.io/v1", _beta_request)])
	[d.field | some d in denies] == ["spec.spec.devices.requests[0].deviceClassName"]
}

test_conftest_combine_input if {
	got := _results(testing.combined([_dc("a", "gpu.nvidia.com", "nvidia.com/gpu"), _dc("b", "gpu.nvidia.com", "nvidia.com/gpu")]))
	count(got.deny) == 2
	count(got.evidence) == 2
}
