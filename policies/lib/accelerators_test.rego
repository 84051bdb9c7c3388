package kaic.lib.accelerators_test

import rego.v1

import data.kaic.lib.accelerators as acc
import data.kaic.lib.testing

_ds(name, image) := {
	"apiVersion": "apps/v1",
	"kind": "DaemonSet",
	"metadata": {"name": name, "namespace": "gpu-operator"},
	"spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}, {"name": "sidecar", "image": image}]}}},
}

test_components_are_recognised_by_image if {
	objs := [
		_ds("dcgm", "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-ubuntu22.04"),
		_ds("dp", "nvcr.io/nvidia/k8s-device-plugin:v0.17.0"),
		_ds("amd", "docker.io/rocm/k8s-device-plugin:1.31.0.6"),
		_ds("dra", "nvcr.io/nvidia/k8s-dra-driver-gpu:v25.8.0"),
		_ds("web", "nginx:1.27"),
	]
	got := acc.components with input as testing.manifests(objs)
	roles := {[c.object.metadata.name, c.role, c.product] | some c in got}
	roles == {
		["dcgm", "metrics-exporter", "NVIDIA DCGM exporter"],
		["dp", "device-plugin", "NVIDIA device plugin"],
		["amd", "device-plugin", "AMD GPU device plugin"],
		["dra", "dra-driver", "NVIDIA DRA driver for GPUs"],
	}
}

test_components_with_role_lists_each_object_once if {
	got := acc.components_with_role("metrics-exporter") with input as testing.manifests([_ds("dcgm", "nvcr.io/nvidia/k8s/dcgm-exporter:4")])
	count(got) == 1
}

test_cluster_policies_exclude_kyverno if {
	objs := [
		{"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "k"}},
		{"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "n"}},
	]
	got := acc.cluster_policies with input as testing.manifests(objs)
	[p.metadata.name | some p in got] == ["n"]
}

test_enabled_and_not_disabled if {
	cp := {"spec": {"gds": {"enabled": true}, "driver": {"enabled": false}, "toolkit": {}}}
	acc.enabled(cp, "gds")
	not acc.enabled(cp, "toolkit")
	acc.not_disabled(cp, "toolkit")
	acc.not_disabled(cp, "dcgm")
	not acc.not_disabled(cp, "driver")
	not acc.not_disabled({"spec": 5}, "driver")
}

test_cel_drivers if {
	dc := {"spec": {"selectors": [
		{"cel": {"expression": "device.driver == 'gpu.nvidia.com' && device.attributes['gpu.nvidia.com'].type == 'mig'"}},
		{"cel": {"expression": "device.driver == \"gpu.example.com\""}},
		{"cel": 5},
	]}}
	acc.cel_drivers(dc) == {"gpu.nvidia.com", "gpu.example.com"}
}

test_container_accelerators if {
	acc.container_accelerators({"resources": {"limits": {"nvidia.com/gpu": 1, "cpu": 2}, "requests": {"amd.com/gpu": 1}}}) == {"nvidia.com/gpu", "amd.com/gpu"}
	acc.container_accelerators({"resources": 5}) == set()
}

test_configmap_lookup_tolerates_duplicates if {
	cm := {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}, "data": {"a": "1"}}
	got := acc.configmap("ns", "c") with input as testing.manifests([cm, cm])
	got.data.a == "1"
}

test_dra_served_versions if {
	inp := testing.cluster([], [["resource.k8s.io", "deviceclasses"], ["apps", "deployments"]], [])
	got := acc.dra_served_versions with input as inp
	got == {"v1"}
}
