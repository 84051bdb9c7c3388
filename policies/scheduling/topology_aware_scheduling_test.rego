package kaic.scheduling.topology_aware_scheduling_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.scheduling.topology_aware_scheduling as check

_topology := {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Topology", "metadata": {"name": "default"}, "spec": {"levels": [{"nodeLabel": "cloud.google.com/gce-topology-block"}, {"nodeLabel": "kubernetes.io/hostname"}]}}

_flavor(topology) := {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": "h100"}, "spec": {"topologyName": topology}}

_jobset(level) := {
	"apiVersion": "jobset.x-k8s.io/v1alpha2",
	"kind": "JobSet",
	"metadata": {"name": "train", "namespace": "ml"},
	"spec": {"replicatedJobs": [{"name": "w", "template": {"spec": {"template": {
		"metadata": {"annotations": {"kueue.x-k8s.io/podset-required-topology": level}},
		"spec": {"containers": [{"name": "t", "image": "pytorch/pytorch:2.8.0"}]},
	}}}}]},
}

_node(labels) := {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-1", "labels": labels}}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"Topology, flavor and a workload using a defined level": {
		"objects": [_topology, _flavor("default"), _jobset("cloud.google.com/gce-topology-block")],
		"want": {"deny": 0, "evidence": 3, "unknown": 0},
	},
	"workload requests an undefined level": {
		"objects": [_topology, _jobset("cloud.provider.com/topology-rack")],
		"want": {"deny": 1, "evidence": 1},
	},
	"flavor names a missing Topology": {
		"objects": [_topology, _flavor("rack")],
		"want": {"deny": 1, "evidence": 1},
	},
	"no Topology in the bundle": {
		"objects": [_jobset("cloud.provider.com/topology-rack")],
		"want": {"deny": 0, "evidence": 1, "unknown": 1},
	},
	"nodes with provider topology labels": {
		"objects": [_node({"cloud.google.com/gce-topology-block": "b1", "kubernetes.io/hostname": "gpu-1"})],
		"want": {"deny": 0, "evidence": 1},
	},
	"bare bundle": {
		"objects": [],
		"want": {"deny": 0, "evidence": 0, "warn": 0, "unknown": 0},
	},
}

failures contains msg if {
	some name, tc in _cases
	got := _results(testing.manifests(tc.objects))
	some msg in testing.count_mismatches(name, got, tc.want)
}

test_cases if count(failures) == 0

test_undefined_level_points_at_the_annotation if {
	denies := check.deny with input as testing.manifests([_topology, _jobset("rack")])
	[d.field | some d in denies] == [`spec.replicatedJobs[0].template.spec.template.metadata.annotations["kueue.x-k8s.io/podset-required-topology"]`]
}

test_live_level_missing_on_nodes_warns if {
	inp := testing.cluster([_topology, _node({"kubernetes.io/hostname": "gpu-1"})], [["kueue.x-k8s.io", "topologies"]], [])
	warns := check.warn with input as inp
	[w.field | some w in warns] == ["spec.levels[0].nodeLabel"]
}

test_live_without_topologies_denies_requests if {
	inp := testing.cluster([_jobset("rack")], [["kueue.x-k8s.io", "topologies"]], [])
	denies := check.deny with input as inp
	count(denies) == 1
}

test_odd_types_do_not_break if {
	odd := [{"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Topology", "metadata": {"name": "t"}, "spec": {"levels": "x"}}, _node(5)]
	got := _results(testing.manifests(odd))
	count(got.deny) == 0
}

test_conftest_combine_input if {
	got := _results(testing.combined_files([_topology, _jobset("rack")]))
	count(got.deny) == 1
}
