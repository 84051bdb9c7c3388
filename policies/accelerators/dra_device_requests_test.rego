package kaic.accelerators.dra_device_requests_test

import rego.v1

import data.kaic.accelerators.dra_device_requests as check
import data.kaic.lib.testing

_job(resources, pod_claims) := {
	"apiVersion": "batch/v1",
	"kind": "Job",
	"metadata": {"name": "train", "namespace": "ml", "labels": {"kaic.dev/workload": "training"}},
	"spec": {"template": {"spec": object.union(
		{"containers": [{"name": "trainer", "image": "nvcr.io/nvidia/pytorch:25.01-py3", "resources": resources}]},
		{"resourceClaims": pod_claims | count(pod_claims) > 0},
	)}},
}

_dc(ext) := {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "gpu.nvidia.com"}, "spec": {"extendedResourceName": ext}}

_claim := [{"name": "gpu", "resourceClaimTemplateName": "single-gpu"}]

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"claims through DRA": {
		"input": testing.manifests([_job({"claims": [{"name": "gpu"}]}, _claim)]),
		"want": {"deny": 0, "evidence": 1},
	},
	"device plugin limits": {
		"input": testing.manifests([_job({"limits": {"nvidia.com/gpu": 2}}, [])]),
		"want": {"deny": 1, "evidence": 0},
	},
	"requests only": {
		"input": testing.manifests([_job({"requests": {"amd.com/gpu": 1}}, [])]),
		"want": {"deny": 1},
	},
	"extended resource served by a DeviceClass": {
		"input": testing.manifests([_dc("nvidia.com/gpu"), _job({"limits": {"nvidia.com/gpu": 1}}, [])]),
		"want": {"deny": 0, "evidence": 1},
	},
	"container claim missing from the pod": {
		"input": testing.manifests([_job({"claims": [{"name": "gpus"}]}, _claim)]),
		"want": {"deny": 1, "evidence": 1},
	},
	"cpu-only non-AI job is ignored": {
		"input": testing.manifests([{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "etl"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x", "resources": {"limits": {"cpu": 1}}}]}}}}]),
		"want": {"deny": 0, "evidence": 0},
	},
	"unreadable DeviceClasses: no verdict on plugin requests": {
		"input": testing.cluster([_job({"limits": {"nvidia.com/gpu": 1}}, [])], [], [["resource.k8s.io", "deviceclasses"]]),
		"want": {"deny": 0, "unknown": 1},
	},
	"odd types": {
		"input": testing.manifests([_job({"limits": 5, "claims": "x"}, []), _job(null, [])]),
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

test_deny_points_at_the_limits_and_says_why if {
	denies := check.deny with input as testing.manifests([_job({"limits": {"nvidia.com/gpu": 2}}, [])])
	[d.field | some d in denies] == ["spec.template.spec.containers[0].resources.limits"]
	some d in denies
	contains(d.msg, "HW-1.1")
	contains(d.msg, "nvidia.com/gpu")
}

test_claim_mismatch_points_at_the_claim if {
	denies := check.deny with input as testing.manifests([_job({"claims": [{"name": "gpus"}]}, _claim)])
	[d.field | some d in denies] == ["spec.template.spec.containers[0].resources.claims[0]"]
}

test_conftest_combine_input if {
	got := _results(testing.combined([_job({"limits": {"nvidia.com/gpu": 2}}, [])]))
	count(got.deny) == 1
}
