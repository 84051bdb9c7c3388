# METADATA
# title: Gang scheduling
# description: >-
#   The platform offers all-or-nothing scheduling for distributed AI workloads through at
#   least one gang scheduler: Kueue (workloads admitted as a whole; `waitForPodsReady`
#   for an all-or-nothing start), Volcano (scheduling.volcano.sh PodGroups, schedulerName
#   volcano), NVIDIA KAI scheduler (scheduling.run.ai), the coscheduling plugin of
#   scheduler-plugins (scheduling.x-k8s.io PodGroups), or native Workload objects
#   (scheduling.k8s.io, alpha in 1.35). PodGroups that can never be satisfied (minMember
#   above the pods of the workloads that join them, a Volcano Job whose minAvailable
#   exceeds its tasks' replicas) and pods that join a PodGroup that does not exist are
#   violations.
# custom:
#   id: gang-scheduling
#   requirements:
#     whitepaper: []
#     cncf: [gang_scheduling]
#   severity: high
#   scope: platform
#   inputs:
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: apps, resource: deployments}
#     - {group: kueue.x-k8s.io, resource: clusterqueues}
#     - {group: "", resource: configmaps, namespace: kueue-system, name: kueue-manager-config}
#     - {group: scheduling.volcano.sh, resource: podgroups}
#     - {group: scheduling.volcano.sh, resource: queues}
#     - {group: batch.volcano.sh, resource: jobs}
#     - {group: scheduling.run.ai, resource: podgroups}
#     - {group: scheduling.run.ai, resource: queues}
#     - {group: scheduling.x-k8s.io, resource: podgroups}
#     - {group: scheduling.k8s.io, resource: workloads}
#     - {group: "", resource: pods}
#     - {group: batch, resource: jobs}
#     - {group: apps, resource: statefulsets}
#     - {group: jobset.x-k8s.io, resource: jobsets}
#     - {group: trainer.kubeflow.org, resource: trainingruntimes}
#     - {group: trainer.kubeflow.org, resource: clustertrainingruntimes}
#   remediation: |-
#     Install a gang scheduler and use it for multi-pod training. With Kueue, enable
#     `waitForPodsReady` in its configuration so that a workload's pods start all together
#     or are requeued; with Volcano, size the PodGroup to the pods that join it:
#
#     ```yaml
#     apiVersion: scheduling.volcano.sh/v1beta1
#     kind: PodGroup
#     metadata:
#       name: llama-train
#       namespace: ml
#     spec:
#       minMember: 4
#       queue: default
#     ```
#
#     and set `schedulerName: volcano` and the annotation
#     `scheduling.k8s.io/group-name: llama-train` on the pod template of the 4 pods.
#   docs:
#     - https://kueue.sigs.k8s.io/docs/tasks/manage/setup_wait_for_pods_ready/
#     - https://volcano.sh/en/docs/podgroup/
#     - https://github.com/NVIDIA/KAI-Scheduler
#     - https://scheduler-plugins.sigs.k8s.io/docs/plugins/coscheduling/
package kaic.scheduling.gang_scheduling

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.platform
import data.kaic.lib.workload_index as windex
import data.kaic.lib.pods

# Gang schedulers: API groups whose CRDs show them, controller name tokens, scheduler
# names pods use, and how pods name their PodGroup.
schedulers := {
	"Volcano": {"groups": ["scheduling.volcano.sh", "batch.volcano.sh"], "controllers": ["volcano-scheduler"], "scheduler_names": ["volcano"]},
	"KAI scheduler": {"groups": ["scheduling.run.ai"], "controllers": ["kai-scheduler"], "scheduler_names": ["kai-scheduler"]},
	"coscheduling (scheduler-plugins)": {"groups": ["scheduling.x-k8s.io"], "controllers": ["scheduler-plugins-scheduler", "scheduler-plugins-controller"], "scheduler_names": ["scheduler-plugins-scheduler"]},
}

# Pod label/annotation keys that make a pod join a PodGroup, per PodGroup API group.
_group_keys := {
	"scheduling.volcano.sh": "scheduling.k8s.io/group-name",
	"scheduling.x-k8s.io": "scheduling.x-k8s.io/pod-group",
	"scheduling.run.ai": "pod-group.scheduling.run.ai/name",
}

_pod_groups := platform.of_kind_in(object.keys(_group_keys), "PodGroup")

_kueue_group := "kueue.x-k8s.io"

_kueue_installed if platform.group_defined(_kueue_group)

_kueue_installed if count(platform.of_kind(_kueue_group, "ClusterQueue")) > 0

# waitForPodsReady.enable from Kueue's configuration, when the ConfigMap is in the input.
kueue_wait_for_pods_ready := v if {
	some cfg in k8s.objects_of_kind("ConfigMap")
	k8s.name(cfg) == "kueue-manager-config"
	text := k8s.string_at(k8s.object_at(cfg, "data"), "controller_manager_config.yaml")
	yaml.is_valid(text)
	parsed := yaml.unmarshal(text)
	v := _enabled(k8s.get(parsed, "waitForPodsReady", {}))
}

_enabled(x) := v if {
	v := k8s.get(x, "enable", false)
	is_boolean(v)
} else := false

# ---------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": platform.crd_ref(_kueue_group, "clusterqueues")} if {
	_kueue_installed
	kueue_wait_for_pods_ready == true
	msg := "Kueue admits each workload as a whole and waitForPodsReady is enabled: its pods start all together or are requeued"
}

evidence contains {"msg": msg, "ref": platform.crd_ref(_kueue_group, "clusterqueues")} if {
	_kueue_installed
	not kueue_wait_for_pods_ready == true
	msg := "Kueue is installed: it reserves quota for all pods of a workload at once (all-or-nothing admission)"
}

evidence contains {"msg": msg, "ref": _scheduler_ref(s)} if {
	some name, s in schedulers
	_scheduler_present(s)
	msg := sprintf("Gang scheduler %s is installed (%s)", [name, concat(", ", _scheduler_signs(s))])
}

_scheduler_present(s) if {
	some g in s.groups
	platform.group_defined(g)
}

_scheduler_present(s) if count(platform.controllers(s.controllers)) > 0

_scheduler_signs(s) := array.concat(
	[sprintf("API %s", [g]) | some g in s.groups; platform.group_defined(g)],
	[k8s.describe(d) | some d in platform.controllers(s.controllers)],
)

_scheduler_ref(s) := k8s.ref(ds[0]) if {
	ds := platform.controllers(s.controllers)
	count(ds) > 0
} else := platform.crd_ref(s.groups[0], "podgroups")

evidence contains {"msg": msg, "ref": {"apiVersion": "scheduling.k8s.io/v1alpha1", "kind": "Workload", "namespace": "", "name": ""}} if {
	k8s.cluster_has_resource("scheduling.k8s.io", "workloads")
	msg := "The cluster serves native gang scheduling (scheduling.k8s.io Workload with podGroups)"
}

evidence contains {"msg": msg, "ref": k8s.ref(w)} if {
	some w in _gang_scheduled
	msg := sprintf("%s is scheduled as a gang by %s", [k8s.describe(w), _scheduler_name(w, pods.pod_specs(w))])
}

# Kubeflow Trainer runtimes ask the Trainer to create a PodGroup for every TrainJob.
evidence contains {"msg": msg, "ref": k8s.ref(rt)} if {
	some kind in ["TrainingRuntime", "ClusterTrainingRuntime"]
	some rt in platform.of_kind("trainer.kubeflow.org", kind)
	some plugin, _ in k8s.object_at(k8s.object_at(rt, "spec"), "podGroupPolicy")
	msg := sprintf("%s gang-schedules its TrainJobs through a %s PodGroup (spec.podGroupPolicy)", [k8s.describe(rt), plugin])
}

_gang_scheduler_names := {n | some s in schedulers; some n in s.scheduler_names}

_gang_scheduled contains t.w if {
	some t in windex.pod_templates
	some p in t.specs
	p.spec.schedulerName in _gang_scheduler_names
}

_gang_scheduled contains w if {
	# Volcano Jobs: no pod spec the pod library knows, the scheduler is named on the Job.
	some w in platform.of_kind("batch.volcano.sh", "Job")
	_scheduler_name(w, []) in _gang_scheduler_names
}

_scheduler_name(w, specs) := names[0] if {
	names := [n | some p in specs; n := p.spec.schedulerName; is_string(n)]
	count(names) > 0
} else := n if {
	# Volcano Jobs name the scheduler on the Job itself.
	n := k8s.string_at(k8s.object_at(w, "spec"), "schedulerName")
	n != ""
}

# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------

# Workloads joining a PodGroup through a pod label or annotation: {w, group, ns, name,
# field}. Written inline rather than through helper functions: regorus copies the
# arguments of every call, which is slow for whole objects.
_joins contains {"w": t.w, "group": group, "ns": k8s.namespace(t.w), "name": name, "field": field} if {
	some t in windex.pod_templates
	some p in t.specs
	meta := k8s.as_object(p.metadata)
	some section in ["labels", "annotations"]
	values := k8s.as_object(object.get(meta, section, {}))
	some group, key in _group_keys
	name := values[key]
	is_string(name)
	field := platform.label_field(k8s.path(p.metadata_path, section), key)
}

_member_index[key] contains w if {
	some j in _joins
	key := concat("|", [j.group, j.ns, j.name])
	w := j.w
}

_members[key] := ws if {
	some key, ws in _member_index
}

_min_member(pg) := n if {
	n := k8s.get(k8s.object_at(pg, "spec"), "minMember", 0)
	is_number(n)
}

deny contains {"msg": msg, "ref": k8s.ref(pg), "field": "spec.minMember"} if {
	some pg in _pod_groups
	members := object.get(_members, concat("|", [k8s.group(pg), k8s.namespace(pg), k8s.name(pg)]), set())
	count(members) > 0
	every w in members {
		platform.pod_count(w)
	}
	total := sum([platform.pod_count(w) | some w in members])
	_min_member(pg) > total
	msg := sprintf("%s needs %d pods (minMember) but the workloads that join it run only %d; it is never scheduled", [k8s.describe(pg), _min_member(pg), total])
}

deny contains {"msg": msg, "ref": k8s.ref(job), "field": "spec.minAvailable"} if {
	some job in platform.of_kind("batch.volcano.sh", "Job")
	min := k8s.get(k8s.object_at(job, "spec"), "minAvailable", 0)
	is_number(min)
	replicas := sum([r | some t in k8s.array_at(k8s.object_at(job, "spec"), "tasks"); r := _replicas(t)])
	min > replicas
	msg := sprintf("%s requires %d pods to start together (minAvailable) but its tasks have only %d replicas; it never starts", [k8s.describe(job), min, replicas])
}

_replicas(task) := r if {
	r := k8s.get(task, "replicas", 1)
	is_number(r)
} else := 1

deny contains {"msg": msg, "ref": k8s.ref(j.w), "field": j.field} if {
	some j in _joins
	platform.complete_in(j.group, "podgroups", "PodGroup", j.ns)
	not _pod_group_exists(j.group, j.ns, j.name)
	msg := sprintf("%s joins PodGroup %s (%s), which does not exist in namespace %s; its pods stay pending", [k8s.describe(j.w), j.name, j.group, j.ns])
}

_pod_group_keys := {[k8s.group(pg), k8s.namespace(pg), k8s.name(pg)] | some pg in _pod_groups}

_pod_group_exists(group, ns, name) if [group, ns, name] in _pod_group_keys

# ---------------------------------------------------------------------------
# Advice
# ---------------------------------------------------------------------------

warn contains {"msg": msg, "ref": platform.crd_ref(_kueue_group, "clusterqueues"), "field": "data"} if {
	_kueue_installed
	kueue_wait_for_pods_ready == false
	msg := "Kueue's configuration does not enable waitForPodsReady: admitted workloads may start partially and hold accelerators while waiting for the rest"
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["apiextensions.k8s.io", "customresourcedefinitions"],
		["apps", "deployments"],
		["scheduling.volcano.sh", "podgroups"],
		["scheduling.run.ai", "podgroups"],
		["scheduling.x-k8s.io", "podgroups"],
	])
}
