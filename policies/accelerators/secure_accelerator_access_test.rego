package kaic.accelerators.secure_accelerator_access_test

import rego.v1

import data.kaic.accelerators.secure_accelerator_access as check
import data.kaic.lib.testing

_device_plugin := {
	"apiVersion": "apps/v1",
	"kind": "DaemonSet",
	"metadata": {"name": "nvidia-device-plugin-daemonset", "namespace": "kube-system"},
	"spec": {"template": {"spec": {
		"containers": [{
			"name": "nvidia-device-plugin-ctr",
			"image": "nvcr.io/nvidia/k8s-device-plugin:v0.17.0",
			"env": [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}],
			"securityContext": {"privileged": true},
			"volumeMounts": [{"name": "dev", "mountPath": "/dev/nvidia0"}],
		}],
		"volumes": [{"name": "dev", "hostPath": {"path": "/dev/nvidia0"}}],
	}}},
}

_pod(container, volumes) := {
	"apiVersion": "v1",
	"kind": "Pod",
	"metadata": {"name": "cuda", "namespace": "ml"},
	"spec": {"containers": [object.union({"name": "cuda", "image": "nvcr.io/nvidia/cuda:12.6.0-base-ubuntu24.04"}, container)], "volumes": volumes},
}

_gpu := {"limits": {"nvidia.com/gpu": 1}}

_dev_volume := [{"name": "nvidia0", "hostPath": {"path": "/dev/nvidia0"}}]

_dev_mount := [{"name": "nvidia0", "mountPath": "/dev/nvidia0"}]

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"device plugin and a GPU pod": {
		"input": testing.manifests([_device_plugin, _pod({"resources": _gpu}, [])]),
		"want": {"deny": 0, "warn": 0, "evidence": 1, "unknown": 0},
	},
	"hostPath /dev/nvidia0 without a request": {
		"input": testing.manifests([_device_plugin, _pod({"volumeMounts": _dev_mount}, _dev_volume)]),
		"want": {"deny": 1, "evidence": 1},
	},
	"hostPath /dev/nvidia0 with a request": {
		"input": testing.manifests([_pod({"resources": _gpu, "volumeMounts": _dev_mount}, _dev_volume)]),
		"want": {"deny": 1, "evidence": 0, "unknown": 1},
	},
	"NVIDIA_VISIBLE_DEVICES=all without a request": {
		"input": testing.manifests([_pod({"env": [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}]}, [])]),
		"want": {"deny": 1, "warn": 0},
	},
	"NVIDIA_VISIBLE_DEVICES=void is fine": {
		"input": testing.manifests([_pod({"env": [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "void"}]}, [])]),
		"want": {"deny": 0, "warn": 0},
	},
	"NVIDIA_VISIBLE_DEVICES with a request is advice": {
		"input": testing.manifests([_pod({"resources": _gpu, "env": [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "0,1"}]}, [])]),
		"want": {"deny": 0, "warn": 1},
	},
	"privileged GPU container": {
		"input": testing.manifests([_pod({"resources": _gpu, "securityContext": {"privileged": true}}, [])]),
		"want": {"deny": 1},
	},
	"privileged non-AI container is out of scope": {
		"input": testing.manifests([_pod({"securityContext": {"privileged": true}}, [])]),
		"want": {"deny": 0},
	},
	"SYS_ADMIN on a GPU pod": {
		"input": testing.manifests([_pod({"resources": _gpu, "securityContext": {"capabilities": {"add": ["NET_ADMIN", "SYS_ADMIN"]}}}, [])]),
		"want": {"deny": 1},
	},
	"whole /dev in an AI workload": {
		"input": testing.manifests([_pod({"resources": _gpu, "volumeMounts": [{"name": "dev", "mountPath": "/dev"}]}, [{"name": "dev", "hostPath": {"path": "/dev/"}}])]),
		"want": {"deny": 1},
	},
	"infrastructure is exempt": {
		"input": testing.manifests([_device_plugin]),
		"want": {"deny": 0, "warn": 0, "evidence": 1},
	},
	"GPU Operator and DRA DeviceClass are evidence": {
		"input": testing.manifests([
			{"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "cluster-policy"}, "spec": {"devicePlugin": {"enabled": true}}},
			{"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "gpu.nvidia.com"}, "spec": {}},
		]),
		"want": {"deny": 0, "evidence": 2},
	},
	"Kyverno ClusterPolicy is not the GPU Operator": {
		"input": testing.manifests([{"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "p"}, "spec": {}}]),
		"want": {"evidence": 0, "unknown": 1},
	},
	"Node advertising GPUs (live)": {
		"input": testing.cluster([{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "status": {"allocatable": {"nvidia.com/gpu": "8"}}}], [], []),
		"want": {"deny": 0, "evidence": 1, "unknown": 0},
	},
	"odd types": {
		"input": testing.manifests([_pod({"env": "x", "volumeMounts": [5], "securityContext": {"capabilities": {"add": [5]}}, "resources": _gpu}, [5, {"name": "v", "hostPath": 3}])]),
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

test_fields_point_at_the_offending_value if {
	denies := check.deny with input as testing.manifests([_pod({
		"volumeMounts": _dev_mount,
		"env": [{"name": "A", "value": "b"}, {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}],
	}, _dev_volume)])
	{d.field | some d in denies} == {"spec.containers[0].volumeMounts[0]", "spec.containers[0].env[1]"}
}

test_sys_admin_points_at_the_capability if {
	denies := check.deny with input as testing.manifests([_pod({"resources": _gpu, "securityContext": {"capabilities": {"add": ["NET_ADMIN", "SYS_ADMIN"]}}}, [])])
	[d.field | some d in denies] == ["spec.containers[0].securityContext.capabilities.add[1]"]
}

test_conftest_combine_input if {
	got := _results(testing.combined([_device_plugin, _pod({"volumeMounts": _dev_mount}, _dev_volume)]))
	count(got.deny) == 1
	count(got.evidence) == 1
}
