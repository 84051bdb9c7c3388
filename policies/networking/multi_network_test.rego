package kaic.networking.multi_network_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.networking.multi_network as check

_nad(name, config) := {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition", "metadata": {"name": name, "namespace": "ml"}, "spec": {"config": config}}

_macvlan := `{"cniVersion": "0.3.1", "type": "macvlan", "master": "ens8f0", "ipam": {"type": "whereabouts", "range": "192.168.2.0/24"}}`

_trainer(networks) := {
	"apiVersion": "batch/v1",
	"kind": "Job",
	"metadata": {"name": "ddp", "namespace": "ml"},
	"spec": {"template": {
		"metadata": {"annotations": {"k8s.v1.cni.cncf.io/networks": networks}},
		"spec": {"containers": [{"name": "t", "image": "nvcr.io/nvidia/pytorch:25.01-py3", "resources": {"limits": {"nvidia.com/gpu": 8, "rdma/rdma_shared_device_a": 1}}}]},
	}},
}

_dranet_slice := {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": "gpu-1-dra.net-x7k"}, "spec": {"driver": "dra.net", "nodeName": "gpu-1", "pool": {"name": "gpu-1", "generation": 1, "resourceSliceCount": 1}, "devices": [{"name": "eth1"}]}}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"NAD and a training Job attached to it": {
		"objects": [_nad("rdma-net", _macvlan), _trainer("rdma-net")],
		"want": {"deny": 0, "evidence": 3, "unknown": 0},
	},
	"JSON form with namespace": {
		"objects": [_nad("rdma-net", _macvlan), _trainer(`[{"name": "rdma-net", "namespace": "ml", "interface": "net1"}]`)],
		"want": {"deny": 0, "evidence": 3},
	},
	"network that does not exist": {
		"objects": [_nad("rdma-net", _macvlan), _trainer("rdma-net,ml/ib-net@ib0")],
		"want": {"deny": 1, "evidence": 3},
	},
	"NADs not in the bundle": {
		"objects": [_trainer("rdma-net")],
		"want": {"deny": 0, "evidence": 1, "unknown": 1},
	},
	"malformed JSON annotation": {
		"objects": [_trainer(`[{"name": "rdma-net"`)],
		"want": {"deny": 1},
	},
	"NAD config is not JSON": {
		"objects": [_nad("broken", `{"type": "macvlan",`)],
		"want": {"deny": 1, "evidence": 0},
	},
	"DRANET ResourceSlice": {
		"objects": [_dranet_slice],
		"want": {"deny": 0, "evidence": 1},
	},
	"bare bundle": {
		"objects": [],
		"want": {"deny": 0, "evidence": 0, "unknown": 0, "warn": 0},
	},
}

failures contains msg if {
	some name, tc in _cases
	got := _results(testing.manifests(tc.objects))
	some msg in testing.count_mismatches(name, got, tc.want)
}

test_cases if count(failures) == 0

test_missing_network_points_at_the_annotation if {
	denies := check.deny with input as testing.manifests([_nad("rdma-net", _macvlan), _trainer("other-net")])
	[d.field | some d in denies] == [`spec.template.metadata.annotations["k8s.v1.cni.cncf.io/networks"]`]
}

test_live_scan_knows_every_nad if {
	inp := testing.cluster([_trainer("rdma-net")], [["k8s.cni.cncf.io", "network-attachment-definitions"]], [])
	denies := check.deny with input as inp
	count(denies) == 1
}

test_non_ai_pods_are_not_judged if {
	pod := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "ml", "annotations": {"k8s.v1.cni.cncf.io/networks": "missing"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}
	denies := check.deny with input as testing.manifests([_nad("rdma-net", _macvlan), pod])
	count(denies) == 0
}

test_odd_types_do_not_break if {
	odd := [{"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition", "metadata": {"name": "x"}, "spec": {"config": 5}}, _trainer(7)]
	got := _results(testing.manifests(odd))
	count(got.deny) == 0
}

test_conftest_combine_input if {
	got := _results(testing.combined_files([_nad("rdma-net", _macvlan), _trainer("ib-net")]))
	count(got.deny) == 1
}
