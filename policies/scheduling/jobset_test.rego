package kaic.scheduling.jobset_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.scheduling.jobset as check

_crd := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"metadata": {"name": "jobsets.jobset.x-k8s.io"},
	"spec": {"group": "jobset.x-k8s.io", "names": {"kind": "JobSet", "plural": "jobsets"}},
}

_controller := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "jobset-controller-manager", "namespace": "jobset-system"},
	"spec": {"template": {"spec": {"containers": [{"name": "manager", "image": "registry.k8s.io/jobset/jobset:v0.12.0"}]}}},
}

_job_template := {"spec": {"parallelism": 2, "completions": 2, "template": {"spec": {"containers": [{"name": "t", "image": "pytorch/pytorch:2.8.0"}]}}}}

_jobset(rjs) := {
	"apiVersion": "jobset.x-k8s.io/v1alpha2",
	"kind": "JobSet",
	"metadata": {"name": "train", "namespace": "ml"},
	"spec": {"replicatedJobs": rjs},
}

_indexed_job(parallelism) := {
	"apiVersion": "batch/v1",
	"kind": "Job",
	"metadata": {"name": "ddp", "namespace": "ml"},
	"spec": {"completionMode": "Indexed", "parallelism": parallelism, "completions": parallelism, "template": {"spec": {"containers": [{"name": "t", "image": "pytorch/pytorch:2.8.0", "resources": {"limits": {"nvidia.com/gpu": 8}}}]}}},
}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"CRD, controller and a JobSet": {
		"objects": [_crd, _controller, _jobset([{"name": "workers", "replicas": 1, "template": _job_template}])],
		"want": {"deny": 0, "evidence": 3, "warn": 0, "unknown": 0},
	},
	"empty replicatedJobs": {
		"objects": [_crd, _controller, _jobset([])],
		"want": {"deny": 1, "evidence": 2},
	},
	"replicatedJobs of the wrong type": {
		"objects": [_jobset("workers")],
		"want": {"deny": 1, "evidence": 0, "unknown": 1},
	},
	"no template and a duplicate name": {
		"objects": [_crd, _controller, _jobset([{"name": "w", "template": _job_template}, {"name": "w"}])],
		"want": {"deny": 2},
	},
	"indexed GPU Job with 4 pods": {
		"objects": [_indexed_job(4)],
		"want": {"deny": 0, "warn": 1, "evidence": 0},
	},
	"indexed Job with one pod": {
		"objects": [_indexed_job(1)],
		"want": {"warn": 0},
	},
	"CRD without controller": {
		"objects": [_crd],
		"want": {"deny": 0, "warn": 1, "evidence": 1},
	},
	"bare bundle": {
		"objects": [],
		"want": {"deny": 0, "warn": 0, "evidence": 0, "unknown": 0},
	},
}

failures contains msg if {
	some name, tc in _cases
	got := _results(testing.manifests(tc.objects))
	some msg in testing.count_mismatches(name, got, tc.want)
}

test_cases if count(failures) == 0

test_empty_replicated_jobs_field if {
	denies := check.deny with input as testing.manifests([_jobset([])])
	[d.field | some d in denies] == ["spec.replicatedJobs"]
}

test_missing_template_field if {
	denies := check.deny with input as testing.manifests([_jobset([{"name": "w"}])])
	[d.field | some d in denies] == ["spec.replicatedJobs[0].template"]
}

test_live_crd_without_controller_denies if {
	inp := testing.cluster([], [["jobset.x-k8s.io", "jobsets"]], [])
	live := json.patch(inp, [{"op": "replace", "path": "/cluster/api_resources/0/kind", "value": "JobSet"}])
	denies := check.deny with input as live
	count(denies) == 1
}

test_odd_types_do_not_break if {
	got := _results(testing.manifests([{"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "metadata": null, "spec": 5}]))
	count(got.deny) == 1
}

test_conftest_combine_input if {
	got := _results(testing.combined_files([_crd, _jobset([])]))
	count(got.deny) == 1
}
