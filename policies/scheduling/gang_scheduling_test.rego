package kaic.scheduling.gang_scheduling_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.scheduling.gang_scheduling as check

_crd(group, kind, plural) := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"metadata": {"name": sprintf("%s.%s", [plural, group])},
	"spec": {"group": group, "names": {"kind": kind, "plural": plural}},
}

_pod_group(min) := {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup", "metadata": {"name": "llama", "namespace": "ml"}, "spec": {"minMember": min, "queue": "default"}}

_job(parallelism, group_name) := {
	"apiVersion": "batch/v1",
	"kind": "Job",
	"metadata": {"name": "llama", "namespace": "ml"},
	"spec": {"parallelism": parallelism, "template": {
		"metadata": {"annotations": {"scheduling.k8s.io/group-name": group_name}},
		"spec": {"schedulerName": "volcano", "containers": [{"name": "t", "image": "pytorch/pytorch:2.8.0"}]},
	}},
}

_vcjob(min, replicas) := {
	"apiVersion": "batch.volcano.sh/v1alpha1",
	"kind": "Job",
	"metadata": {"name": "mpi", "namespace": "ml"},
	"spec": {"minAvailable": min, "schedulerName": "volcano", "tasks": [{"name": "worker", "replicas": replicas, "template": {"spec": {"containers": [{"name": "w", "image": "mpi:1"}]}}}]},
}

_config(wait) := {
	"apiVersion": "v1",
	"kind": "ConfigMap",
	"metadata": {"name": "kueue-manager-config", "namespace": "kueue-system"},
	"data": {"controller_manager_config.yaml": sprintf("apiVersion: config.kueue.x-k8s.io/v1beta1\nkind: Configuration\nwaitForPodsReady:\n  enable: %v\n  timeout: 10m\n", [wait])},
}

_kai_scheduler := {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kai-scheduler-default", "namespace": "kai-scheduler"}, "spec": {"template": {"spec": {"containers": [{"name": "s", "image": "ghcr.io/nvidia/kai-scheduler/scheduler:v0.9.0"}]}}}}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"Kueue with waitForPodsReady": {
		"objects": [_crd("kueue.x-k8s.io", "ClusterQueue", "clusterqueues"), _config(true)],
		"want": {"deny": 0, "evidence": 1, "warn": 0},
	},
	"Kueue without waitForPodsReady": {
		"objects": [_crd("kueue.x-k8s.io", "ClusterQueue", "clusterqueues"), _config(false)],
		"want": {"deny": 0, "evidence": 1, "warn": 1},
	},
	"Volcano PodGroup sized to its job": {
		"objects": [_crd("scheduling.volcano.sh", "PodGroup", "podgroups"), _pod_group(4), _job(4, "llama")],
		"want": {"deny": 0, "evidence": 2},
	},
	"PodGroup larger than its members": {
		"objects": [_crd("scheduling.volcano.sh", "PodGroup", "podgroups"), _pod_group(8), _job(4, "llama")],
		"want": {"deny": 1, "evidence": 2},
	},
	"pods join a PodGroup that does not exist": {
		"objects": [_pod_group(2), _job(2, "other")],
		"want": {"deny": 1},
	},
	"PodGroups not in the bundle": {
		"objects": [_job(2, "other")],
		"want": {"deny": 0, "evidence": 1},
	},
	"Volcano Job that can never start": {
		"objects": [_vcjob(4, 2)],
		"want": {"deny": 1},
	},
	"Volcano Job that fits": {
		"objects": [_vcjob(2, 2)],
		"want": {"deny": 0, "evidence": 1},
	},
	"KAI scheduler deployment": {
		"objects": [_kai_scheduler],
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

test_missing_pod_group_points_at_the_annotation if {
	denies := check.deny with input as testing.manifests([_pod_group(2), _job(2, "other")])
	[d.field | some d in denies] == [`spec.template.metadata.annotations["scheduling.k8s.io/group-name"]`]
}

test_native_workload_api_in_a_live_cluster if {
	evidence := check.evidence with input as testing.cluster([], [["scheduling.k8s.io", "workloads"]], [])
	count(evidence) == 1
}

test_live_missing_pod_group_denies if {
	inp := testing.cluster([_job(2, "llama")], [["scheduling.volcano.sh", "podgroups"]], [])
	denies := check.deny with input as inp
	count(denies) == 1
}

test_odd_types_do_not_break if {
	odd := [object.union(_pod_group(2), {"spec": "x"}), {"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"minAvailable": "3", "tasks": 5}}]
	got := _results(testing.manifests(odd))
	count(got.deny) == 0
}

test_conftest_combine_input if {
	got := _results(testing.combined([_vcjob(4, 2)]))
	count(got.deny) == 1
}
