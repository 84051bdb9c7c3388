package kaic.accelerators.gpu_sharing_test

import rego.v1

import data.kaic.accelerators.gpu_sharing as check
import data.kaic.lib.testing

_cp(spec) := {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "cluster-policy"}, "spec": spec}

_ts_config(key, replicas) := {
	"apiVersion": "v1",
	"kind": "ConfigMap",
	"metadata": {"name": "time-slicing-config", "namespace": "gpu-operator"},
	"data": {key: sprintf("version: v1\nsharing:\n  timeSlicing:\n    resources:\n    - name: nvidia.com/gpu\n      replicas: %d\n", [replicas])},
}

_mig_job(resource) := {
	"apiVersion": "batch/v1",
	"kind": "Job",
	"metadata": {"name": "finetune", "namespace": "ml"},
	"spec": {"template": {"spec": {"containers": [{"name": "t", "image": "nvcr.io/nvidia/pytorch:25.01-py3", "resources": {"limits": {resource: 1}}}]}}},
}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"time-slicing referenced from the ClusterPolicy": {
		"input": testing.manifests([_cp({"devicePlugin": {"config": {"name": "time-slicing-config", "default": "any"}}}), _ts_config("any", 4)]),
		"want": {"deny": 0, "evidence": 1, "warn": 0},
	},
	"default key missing": {
		"input": testing.manifests([_cp({"devicePlugin": {"config": {"name": "time-slicing-config", "default": "tesla-t4"}}}), _ts_config("any", 4)]),
		"want": {"deny": 1, "evidence": 1},
	},
	"replicas 1 shares nothing": {
		"input": testing.manifests([_ts_config("any", 1)]),
		"want": {"deny": 0, "evidence": 0, "warn": 1},
	},
	"MIG mixed and a MIG job": {
		"input": testing.manifests([_cp({"mig": {"strategy": "mixed"}, "migManager": {"enabled": true}}), _mig_job("nvidia.com/mig-1g.10gb")]),
		"want": {"deny": 0, "evidence": 2},
	},
	"MIG job under strategy single": {
		"input": testing.manifests([_cp({"mig": {"strategy": "single"}}), _mig_job("nvidia.com/mig-1g.10gb")]),
		"want": {"deny": 1, "evidence": 2},
	},
	"MIG job under single, served by a DeviceClass": {
		"input": testing.manifests([
			_cp({"mig": {"strategy": "single"}}),
			_mig_job("nvidia.com/mig-1g.10gb"),
			{"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "mig-1g-10gb.gpu.nvidia.com"}, "spec": {"extendedResourceName": "nvidia.com/mig-1g.10gb"}},
		]),
		"want": {"deny": 0, "evidence": 3},
	},
	"invalid MIG strategy": {
		"input": testing.manifests([_cp({"mig": {"strategy": "all"}})]),
		"want": {"deny": 1, "evidence": 0},
	},
	"GFD sharing labels": {
		"input": testing.manifests([{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n", "labels": {"nvidia.com/gpu.sharing-strategy": "time-slicing", "nvidia.com/gpu.replicas": "4"}}}]),
		"want": {"deny": 0, "evidence": 1},
	},
	"node advertising MIG slices": {
		"input": testing.manifests([{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "status": {"allocatable": {"nvidia.com/mig-3g.40gb": "2"}}}]),
		"want": {"deny": 0, "evidence": 1},
	},
	"partitionable DRA devices": {
		"input": testing.manifests([{"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": "s"}, "spec": {"driver": "gpu.nvidia.com", "sharedCounters": [{"name": "gpu-0-counters"}], "devices": []}}]),
		"want": {"deny": 0, "evidence": 1},
	},
	"MPS claim template": {
		"input": testing.manifests([{"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate", "metadata": {"name": "t", "namespace": "ml"}, "spec": {"spec": {"devices": {"config": [{"opaque": {"driver": "gpu.nvidia.com", "parameters": {"sharing": {"strategy": "MPS"}}}}]}}}}]),
		"want": {"deny": 0, "evidence": 1},
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
			_cp({"mig": 5, "devicePlugin": {"config": 3}}),
			{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": 5},
			{"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate", "metadata": {"name": "t"}, "spec": {"spec": {"devices": {"config": [5, {"opaque": 3}]}}}},
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

test_mig_request_points_at_the_limits if {
	denies := check.deny with input as testing.manifests([_cp({}), _mig_job("nvidia.com/mig-1g.10gb")])
	[d.field | some d in denies] == ["spec.template.spec.containers[0].resources.limits"]
}

test_conftest_combine_input if {
	got := _results(testing.combined([_cp({"devicePlugin": {"config": {"name": "time-slicing-config", "default": "x"}}}), _ts_config("any", 4)]))
	count(got.deny) == 1
}
