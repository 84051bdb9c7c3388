# METADATA
# title: Kueue job queueing
# description: >-
#   The platform runs Kueue (kueue.x-k8s.io CRDs and controller) with ClusterQueues and
#   LocalQueues, and AI batch workloads (Job, JobSet, RayJob, Kubeflow jobs, TrainJob, ...)
#   are submitted to a LocalQueue that exists in their namespace through the label
#   `kueue.x-k8s.io/queue-name`. A label naming a missing LocalQueue, or a LocalQueue
#   pointing at a missing ClusterQueue, is a violation when the input holds every queue
#   (live scan, or a bundle that defines queues in that namespace); AI batch workloads without the label
#   are a warning unless Kueue's configuration sets `manageJobsWithoutQueueName: true`
#   (they are then admitted through the namespace's default LocalQueue).
# custom:
#   id: kueue
#   requirements:
#     whitepaper: [WL-2.3]
#     cncf: []
#   severity: medium
#   scope: workload
#   inputs:
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: kueue.x-k8s.io, resource: clusterqueues}
#     - {group: kueue.x-k8s.io, resource: localqueues}
#     - {group: kueue.x-k8s.io, resource: resourceflavors}
#     - {group: apps, resource: deployments}
#     - {group: "", resource: configmaps, namespace: kueue-system, name: kueue-manager-config}
#     - {group: batch, resource: jobs}
#     - {group: jobset.x-k8s.io, resource: jobsets}
#     - {group: ray.io, resource: rayjobs}
#     - {group: ray.io, resource: rayclusters}
#     - {group: kubeflow.org, resource: pytorchjobs}
#     - {group: kubeflow.org, resource: tfjobs}
#     - {group: kubeflow.org, resource: mpijobs}
#     - {group: kubeflow.org, resource: xgboostjobs}
#     - {group: kubeflow.org, resource: paddlejobs}
#     - {group: kubeflow.org, resource: jaxjobs}
#     - {group: trainer.kubeflow.org, resource: trainjobs}
#     - {group: leaderworkerset.x-k8s.io, resource: leaderworkersets}
#     - {group: apps, resource: statefulsets}
#     - {group: "", resource: pods}
#   remediation: |-
#     Install Kueue, define a ClusterQueue with quotas and a LocalQueue in each team
#     namespace, and label every batch workload with the LocalQueue it is submitted to:
#
#     ```yaml
#     apiVersion: kueue.x-k8s.io/v1beta2
#     kind: LocalQueue
#     metadata:
#       name: user-queue
#       namespace: ml
#     spec:
#       clusterQueue: gpu-cluster-queue
#     ---
#     apiVersion: jobset.x-k8s.io/v1alpha2
#     kind: JobSet
#     metadata:
#       name: train
#       namespace: ml
#       labels:
#         kueue.x-k8s.io/queue-name: user-queue
#     ```
#   docs:
#     - https://kueue.sigs.k8s.io/docs/overview/
#     - https://kueue.sigs.k8s.io/docs/tasks/run/jobs/
#     - https://kueue.sigs.k8s.io/docs/reference/kueue-config.v1beta1/
package kaic.scheduling.kueue

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.platform
import data.kaic.lib.workloads

_group := "kueue.x-k8s.io"

queue_label := "kueue.x-k8s.io/queue-name"

_queue_field := platform.label_field("metadata.labels", queue_label)

_crds := platform.crds_of(_group, [])

_controllers := platform.controllers(["kueue-controller-manager"])

_cluster_queues := platform.of_kind(_group, "ClusterQueue")

_local_queues := platform.of_kind(_group, "LocalQueue")

_cq_names := {k8s.name(cq) | some cq in _cluster_queues}

_lq_keys := {concat("/", [k8s.namespace(lq), k8s.name(lq)]) | some lq in _local_queues}

# Kinds Kueue admits as batch workloads.
batch_kinds := {
	"Job", "JobSet", "RayJob", "RayCluster", "PyTorchJob", "TFJob", "MPIJob", "XGBoostJob",
	"PaddleJob", "JAXJob", "TrainJob",
}

installed if count(_crds) > 0

installed if platform.group_defined(_group)

installed if count(_cluster_queues) > 0

installed if count(_local_queues) > 0

_lqs_complete(ns) if platform.complete_in(_group, "localqueues", "LocalQueue", ns)

_cqs_complete if platform.complete(_group, "clusterqueues", "ClusterQueue")

# manageJobsWithoutQueueName from the Kueue configuration ConfigMap, when it is in the
# input: true, false, or undefined when the configuration is not visible.
manage_without_queue_name := v if {
	some cfg in k8s.objects_of_kind("ConfigMap")
	k8s.name(cfg) == "kueue-manager-config"
	text := k8s.string_at(k8s.object_at(cfg, "data"), "controller_manager_config.yaml")
	yaml.is_valid(text)
	parsed := yaml.unmarshal(text)
	v := k8s.get(parsed, "manageJobsWithoutQueueName", false)
	is_boolean(v)
}

_queued := [{"workload": w, "queue": q} |
	some w in workloads.ai_workloads
	q := k8s.label(w, queue_label)
]

_lq_exists(item) if concat("/", [k8s.namespace(item.workload), item.queue]) in _lq_keys

# ---------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": platform.crd_ref(_group, "clusterqueues")} if {
	installed
	plurals := {p | some crd in _crds; p := platform.crd_plural(crd)}
	msg := _api_text(plurals)
}

_api_text(plurals) := sprintf("The Kueue API is installed (%s)", [concat(", ", sort(plurals))]) if {
	count(plurals) > 0
} else := "Kueue queues (kueue.x-k8s.io) are defined"

evidence contains {"msg": msg, "ref": k8s.ref(d)} if {
	some d in _controllers
	platform.rollout_state(d) != "unavailable"
	msg := sprintf("Kueue controller %s is %s", [k8s.describe(d), platform.rollout_note(d)])
}

evidence contains {"msg": msg, "ref": k8s.ref(cq)} if {
	some cq in _cluster_queues
	msg := sprintf("%s shares quota across %d resource group(s)", [k8s.describe(cq), count(k8s.array_at(k8s.object_at(cq, "spec"), "resourceGroups"))])
}

evidence contains {"msg": msg, "ref": k8s.ref(lq)} if {
	some lq in _local_queues
	cq := k8s.string_at(k8s.object_at(lq, "spec"), "clusterQueue")
	cq != ""
	_cq_ok(cq)
	msg := sprintf("%s submits to ClusterQueue %s", [k8s.describe(lq), cq])
}

_cq_ok(cq) if cq in _cq_names

_cq_ok(_) if not _cqs_complete

evidence contains {"msg": msg, "ref": k8s.ref(item.workload)} if {
	some item in _queued
	_lq_exists(item)
	msg := sprintf("%s is queued through LocalQueue %s", [k8s.describe(item.workload), item.queue])
}

# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------

deny contains {"msg": msg, "ref": k8s.ref(item.workload), "field": _queue_field} if {
	some item in _queued
	_lqs_complete(k8s.namespace(item.workload))
	not _lq_exists(item)
	msg := sprintf("%s names LocalQueue %s, which does not exist in namespace %s; Kueue never admits it", [k8s.describe(item.workload), item.queue, k8s.namespace(item.workload)])
}

deny contains {"msg": msg, "ref": k8s.ref(lq), "field": "spec.clusterQueue"} if {
	some lq in _local_queues
	cq := k8s.string_at(k8s.object_at(lq, "spec"), "clusterQueue")
	cq != ""
	_cqs_complete
	not cq in _cq_names
	msg := sprintf("%s points at ClusterQueue %s, which does not exist; workloads in it stay pending", [k8s.describe(lq), cq])
}

deny contains {"msg": msg, "ref": k8s.ref(lq), "field": "spec.clusterQueue"} if {
	some lq in _local_queues
	k8s.string_at(k8s.object_at(lq, "spec"), "clusterQueue") == ""
	msg := sprintf("%s has no spec.clusterQueue; it cannot admit workloads", [k8s.describe(lq)])
}

deny contains {"msg": msg, "ref": k8s.ref(d), "field": "status.conditions"} if {
	some d in _controllers
	platform.rollout_state(d) == "unavailable"
	msg := sprintf("Kueue controller %s is not available; no workload is admitted", [k8s.describe(d)])
}

# ---------------------------------------------------------------------------
# Advice
# ---------------------------------------------------------------------------

warn contains {"msg": msg, "ref": k8s.ref(w), "field": "metadata.labels"} if {
	installed
	not manage_without_queue_name == true
	some w in workloads.ai_workloads
	w.kind in batch_kinds
	not k8s.label(w, queue_label)
	not _suspended_child(w)
	msg := sprintf("%s has no %s label: Kueue does not queue it, so it bypasses quotas and fair sharing", [k8s.describe(w), queue_label])
}

# Jobs created by a JobSet or a Kubeflow job are queued through their parent.
_suspended_child(w) if k8s.controller_in_input(w)

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains {"msg": msg} if {
	missing := {concat("/", [k8s.namespace(item.workload), item.queue]) |
		some item in _queued
		not _lq_exists(item)
		not _lqs_complete(k8s.namespace(item.workload))
	}
	count(missing) > 0
	msg := sprintf("Workloads name LocalQueues that are not in the bundle (%s); whether they exist can only be seen in a live scan", [concat(", ", sort(missing))])
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["apiextensions.k8s.io", "customresourcedefinitions"],
		[_group, "clusterqueues"],
		[_group, "localqueues"],
		["apps", "deployments"],
	])
}
