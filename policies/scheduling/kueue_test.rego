package kaic.scheduling.kueue_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.scheduling.kueue as check

_cq := {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "gpu"}, "spec": {"namespaceSelector": {}, "resourceGroups": [{"coveredResources": ["nvidia.com/gpu"], "flavors": [{"name": "a100", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": 8}]}]}]}}

_lq(ns, name, cq) := {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": name, "namespace": ns}, "spec": {"clusterQueue": cq}}

_jobset(labels) := {
	"apiVersion": "jobset.x-k8s.io/v1alpha2",
	"kind": "JobSet",
	"metadata": {"name": "train", "namespace": "ml", "labels": labels},
	"spec": {"replicatedJobs": [{"name": "w", "template": {"spec": {"template": {"spec": {"containers": [{"name": "t", "image": "pytorch/pytorch:2.8.0"}]}}}}}]},
}

_queued := _jobset({"kueue.x-k8s.io/queue-name": "user-queue"})

_config(manage) := {
	"apiVersion": "v1",
	"kind": "ConfigMap",
	"metadata": {"name": "kueue-manager-config", "namespace": "kueue-system"},
	"data": {"controller_manager_config.yaml": sprintf("apiVersion: config.kueue.x-k8s.io/v1beta1\nkind: Configuration\nmanageJobsWithoutQueueName: %v\nwaitForPodsReady:\n  enable: true\n", [manage])},
}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"queued to an existing LocalQueue": {
		"objects": [_cq, _lq("ml", "user-queue", "gpu"), _queued],
		"want": {"deny": 0, "evidence": 4, "warn": 0, "unknown": 0},
	},
	"LocalQueue missing in the workload's namespace": {
		"objects": [_cq, _lq("ml", "team-a-queue", "gpu"), _queued],
		"want": {"deny": 1, "evidence": 3},
	},
	"namespace without queues in the bundle": {
		"objects": [_cq, _lq("other", "user-queue", "gpu"), _queued],
		"want": {"deny": 0, "unknown": 1},
	},
	"LocalQueue pointing at a missing ClusterQueue": {
		"objects": [_cq, _lq("ml", "user-queue", "cpu")],
		"want": {"deny": 1, "evidence": 2},
	},
	"queues not in the bundle": {
		"objects": [_queued],
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
	},
	"unlabelled training with Kueue installed": {
		"objects": [_cq, _jobset({})],
		"want": {"deny": 0, "warn": 1},
	},
	"unlabelled training with manageJobsWithoutQueueName": {
		"objects": [_cq, _jobset({}), _config(true)],
		"want": {"deny": 0, "warn": 0},
	},
	"manageJobsWithoutQueueName false still warns": {
		"objects": [_cq, _jobset({}), _config(false)],
		"want": {"warn": 1},
	},
	"unlabelled training without Kueue": {
		"objects": [_jobset({})],
		"want": {"deny": 0, "warn": 0, "evidence": 0, "unknown": 0},
	},
}

failures contains msg if {
	some name, tc in _cases
	got := _results(testing.manifests(tc.objects))
	some msg in testing.count_mismatches(name, got, tc.want)
}

test_cases if count(failures) == 0

test_missing_queue_field_uses_bracket_syntax if {
	denies := check.deny with input as testing.manifests([_lq("ml", "q", "gpu"), _queued])
	[d.field | some d in denies] == [`metadata.labels["kueue.x-k8s.io/queue-name"]`]
}

test_live_scan_knows_every_local_queue if {
	inp := testing.cluster([_queued], [["kueue.x-k8s.io", "localqueues"]], [])
	denies := check.deny with input as inp
	count(denies) == 1
}

test_unreadable_local_queues_are_unknown if {
	inp := testing.cluster([_queued], [], [["kueue.x-k8s.io", "localqueues"]])
	got := _results(inp)
	count(got.deny) == 0
	count(got.unknown) == 2
}

test_manage_jobs_config_is_read if {
	v := check.manage_without_queue_name with input as testing.manifests([_config(true)])
	v == true
}

test_odd_types_do_not_break if {
	odd := [{"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "q"}, "spec": "x"}, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kueue-manager-config"}, "data": {"controller_manager_config.yaml": ": ["}}]
	got := _results(testing.manifests(odd))
	count(got.evidence) == 1
	count(got.deny) == 1
}

test_conftest_combine_input if {
	got := _results(testing.combined([_lq("ml", "q", "gpu"), _queued]))
	count(got.deny) == 1
}
