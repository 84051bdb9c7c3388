# METADATA
# title: JobSet for distributed training
# description: >-
#   The platform serves the JobSet API (jobset.x-k8s.io) with its controller running, and
#   multi-pod training is expressed as JobSets, which start, fail and restart their
#   replicated Jobs as one unit, rather than as loose indexed Jobs. Malformed JobSets
#   (no replicatedJobs, a replicated Job without a name or Job template, duplicate
#   names) are violations.
# custom:
#   id: jobset
#   requirements:
#     whitepaper: [WL-2.2]
#     cncf: []
#   severity: medium
#   scope: platform
#   inputs:
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: jobset.x-k8s.io, resource: jobsets}
#     - {group: apps, resource: deployments}
#     - {group: batch, resource: jobs}
#   remediation: |-
#     Install JobSet (`kubectl apply --server-side -f
#     https://github.com/kubernetes-sigs/jobset/releases/download/v0.12.0/manifests.yaml`)
#     and describe multi-node training as one JobSet:
#
#     ```yaml
#     apiVersion: jobset.x-k8s.io/v1alpha2
#     kind: JobSet
#     metadata:
#       name: pytorch
#     spec:
#       replicatedJobs:
#         - name: workers
#           replicas: 1
#           template:
#             spec:
#               parallelism: 4
#               completions: 4
#               template:
#                 spec:
#                   containers:
#                     - name: trainer
#                       image: pytorch/pytorch:2.8.0-cuda12.8-cudnn9-runtime
#                       resources:
#                         limits: {nvidia.com/gpu: 8}
#     ```
#   docs:
#     - https://jobset.sigs.k8s.io/docs/overview/
#     - https://github.com/kubernetes-sigs/jobset
package kaic.scheduling.jobset

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.platform
import data.kaic.lib.workloads

_group := "jobset.x-k8s.io"

_crds := platform.crds_of(_group, ["JobSet"])

_controllers := platform.controllers(["jobset-controller"])

_jobsets := platform.of_kind(_group, "JobSet")

_installed if count(_crds) > 0

_installed if platform.kind_defined(_group, "JobSet")

# ---------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": platform.crd_ref(_group, "jobsets")} if {
	_installed
	not _crd_broken
	msg := "The JobSet API (jobsets.jobset.x-k8s.io) is installed"
}

evidence contains {"msg": msg, "ref": k8s.ref(d)} if {
	some d in _controllers
	platform.rollout_state(d) != "unavailable"
	msg := sprintf("JobSet controller %s is %s", [k8s.describe(d), platform.rollout_note(d)])
}

evidence contains {"msg": msg, "ref": k8s.ref(js)} if {
	some js in _jobsets
	not _malformed(js)
	rjs := js.spec.replicatedJobs
	msg := sprintf("%s runs %d replicated Job(s) as one unit (%s)", [
		k8s.describe(js), count(rjs), concat(", ", [n | some rj in rjs; n := k8s.as_string(rj.name)]),
	])
}

_crd_broken if {
	some crd in _crds
	platform.crd_not_established(crd)
}

# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------

deny contains {"msg": msg, "ref": k8s.ref(crd), "field": "status.conditions"} if {
	some crd in _crds
	platform.crd_not_established(crd)
	msg := sprintf("%s is not Established; JobSets cannot be created", [k8s.describe(crd)])
}

deny contains {"msg": msg, "ref": k8s.ref(d), "field": "status.conditions"} if {
	some d in _controllers
	platform.rollout_state(d) == "unavailable"
	msg := sprintf("JobSet controller %s is not available; JobSets are not reconciled", [k8s.describe(d)])
}

deny contains {"msg": msg, "ref": platform.crd_ref(_group, "jobsets"), "field": "spec"} if {
	_installed
	count(_controllers) == 0
	k8s.observed("apps", "deployments")
	msg := "The JobSet CRD is installed but no jobset-controller-manager Deployment runs in the cluster"
}

deny contains {"msg": msg, "ref": k8s.ref(js), "field": field} if {
	some js in _jobsets
	some [field, problem] in _problems(js)
	msg := sprintf("%s is malformed: %s", [k8s.describe(js), problem])
}

_malformed(js) if count(_problems(js)) > 0

_problems(js) := {[f, p] | some [f, p] in _problem_list(js)}

_problem_list(js) := [["spec.replicatedJobs", "spec.replicatedJobs is missing or empty"]] if {
	rjs := k8s.get(k8s.object_at(js, "spec"), "replicatedJobs", [])
	not _non_empty_array(rjs)
} else := array.concat(
	[[sprintf("spec.replicatedJobs[%d].name", [i]), sprintf("replicated Job %d has no name", [i])] |
		some i, rj in js.spec.replicatedJobs
		k8s.string_at(rj, "name") == ""
	],
	array.concat(
		[[sprintf("spec.replicatedJobs[%d].template", [i]), sprintf("replicated Job %d has no Job template with a pod template", [i])] |
			some i, rj in js.spec.replicatedJobs
			not _has_pod_template(rj)
		],
		[[sprintf("spec.replicatedJobs[%d].name", [i]), sprintf("replicated Job name %s is used more than once", [rj.name])] |
			some i, rj in js.spec.replicatedJobs
			k8s.string_at(rj, "name") != ""
			some j, other in js.spec.replicatedJobs
			j < i
			other.name == rj.name
		],
	),
)

_non_empty_array(x) if {
	is_array(x)
	count(x) > 0
}

_has_pod_template(rj) if is_object(rj.template.spec.template.spec)

# ---------------------------------------------------------------------------
# Advice
# ---------------------------------------------------------------------------

# Multi-pod training as an indexed Job: its pods are not restarted together, and
# several such Jobs are not started or failed as a group.
warn contains {"msg": msg, "ref": k8s.ref(job), "field": "spec.completionMode"} if {
	some w in workloads.ai_workloads
	w.kind == "Job"
	k8s.group(w) == "batch"
	job := w
	job.spec.completionMode == "Indexed"
	platform.pod_count(job) > 1
	msg := sprintf("%s runs multi-pod training (%d pods) as a bare indexed Job; express it as a JobSet so the pods fail and restart as one unit", [k8s.describe(job), platform.pod_count(job)])
}

warn contains {"msg": msg, "ref": platform.crd_ref(_group, "jobsets"), "field": "spec"} if {
	_installed
	count(_controllers) == 0
	not k8s.is_live
	msg := "The bundle installs the JobSet CRD but no jobset-controller-manager Deployment; install the controller with it"
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains {"msg": msg} if {
	not k8s.is_live
	not _installed
	count(_jobsets) > 0
	msg := "The bundle uses JobSets but does not install the JobSet CRD; whether the cluster serves jobset.x-k8s.io can only be seen in a live scan"
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["apiextensions.k8s.io", "customresourcedefinitions"],
		[_group, "jobsets"],
		["apps", "deployments"],
	])
}
