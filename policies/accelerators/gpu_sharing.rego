# METADATA
# title: GPU sharing (MIG, time-slicing, MPS, partitionable DRA devices)
# description: >-
#   The platform can share one physical GPU between workloads: MIG partitions (GPU Operator
#   `spec.mig.strategy` with the MIG manager, `nvidia.com/mig-*` resources), time-slicing or
#   MPS in the device plugin configuration (`sharing.timeSlicing` / `sharing.mps`), node labels
#   from GPU Feature Discovery, or DRA (the `mig.nvidia.com` DeviceClass, partitionable devices
#   with shared counters, claims with a GpuConfig sharing strategy). Requests for MIG resources
#   that the configured MIG strategy never advertises, and device plugin configurations whose
#   default entry is missing, are misconfigurations. Static evidence only: the official test
#   schedules two pods on one GPU.
# custom:
#   id: gpu-sharing
#   requirements:
#     cncf: [gpu_sharing]
#   severity: low
#   scope: platform
#   inputs:
#     - {group: nvidia.com, resource: clusterpolicies}
#     - {group: "", resource: configmaps}
#     - {group: "", resource: nodes}
#     - {group: resource.k8s.io, resource: deviceclasses}
#     - {group: resource.k8s.io, resource: resourceslices}
#     - {group: resource.k8s.io, resource: resourceclaims}
#     - {group: resource.k8s.io, resource: resourceclaimtemplates}
#     - {group: "", resource: pods}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: apps, resource: daemonsets}
#     - {group: batch, resource: jobs}
#     - {group: jobset.x-k8s.io, resource: jobsets}
#     - {group: leaderworkerset.x-k8s.io, resource: leaderworkersets}
#     - {group: kubeflow.org, resource: pytorchjobs}
#     - {group: ray.io, resource: rayclusters}
#     - {group: serving.kserve.io, resource: inferenceservices}
#   remediation: |-
#     Enable a sharing mechanism: MIG through the GPU Operator (`mig.strategy: mixed` and the
#     MIG manager), or time-slicing through a device plugin configuration referenced from the
#     ClusterPolicy:
#
#     ```yaml
#     apiVersion: v1
#     kind: ConfigMap
#     metadata:
#       name: time-slicing-config
#       namespace: gpu-operator
#     data:
#       any: |-
#         version: v1
#         sharing:
#           timeSlicing:
#             resources:
#               - name: nvidia.com/gpu
#                 replicas: 4
#     # ClusterPolicy: spec.devicePlugin.config: {name: time-slicing-config, default: any}
#     ```
#   docs:
#     - https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/gpu-sharing.html
#     - https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/gpu-operator-mig.html
#     - https://github.com/NVIDIA/k8s-dra-driver-gpu
package kaic.accelerators.gpu_sharing

import rego.v1

import data.kaic.lib.accelerators as acc
import data.kaic.lib.k8s
import data.kaic.lib.pods
import data.kaic.lib.workloads

# ---------------------------------------------------------------------------
# MIG through the GPU Operator
# ---------------------------------------------------------------------------

_mig_strategies := {"single", "mixed", "none"}

_strategy(cp) := s if {
	s := acc.component(cp, "mig").strategy
	is_string(s)
} else := "single"

evidence contains {"msg": msg, "ref": k8s.ref(cp)} if {
	some cp in acc.cluster_policies
	s := acc.component(cp, "mig").strategy
	s in {"single", "mixed"}
	acc.not_disabled(cp, "migManager")
	msg := sprintf("%s partitions MIG-capable GPUs with the MIG manager (mig.strategy %s)", [k8s.describe(cp), s])
}

deny contains {"msg": msg, "ref": k8s.ref(cp), "field": "spec.mig.strategy"} if {
	some cp in acc.cluster_policies
	s := acc.component(cp, "mig").strategy
	not s in _mig_strategies
	msg := sprintf("%s sets mig.strategy %v; the GPU Operator accepts single, mixed or none", [k8s.describe(cp), s])
}

# With mig.strategy single every MIG slice is advertised as nvidia.com/gpu; only `mixed`
# advertises nvidia.com/mig-<profile>. A request for such a name never schedules unless a
# DeviceClass serves it or a Node advertises it.
_mixed_available if {
	some cp in acc.cluster_policies
	_strategy(cp) == "mixed"
}

_advertised(name) if {
	some node in k8s.objects_of_kind("Node")
	name in acc.node_accelerators(node)
}

_advertised(name) if {
	some dc in acc.dra_objects("DeviceClass")
	k8s.string_at(dc, ["spec", "extendedResourceName"]) == name
}

_mig_requests contains {"workload": w, "c": c, "name": name} if {
	some w in workloads.ai_workloads
	some c in pods.containers(w)
	some name in acc.container_accelerators(c.container)
	startswith(name, "nvidia.com/mig-")
}

deny contains {"msg": msg, "ref": k8s.ref(r.workload), "field": sprintf("%s.resources.limits", [r.c.path])} if {
	count(acc.cluster_policies) > 0
	not _mixed_available
	not k8s.unreadable("", "nodes")
	some r in _mig_requests
	not _advertised(r.name)
	msg := sprintf(
		"%s: container %q requests %s, but the GPU Operator's mig.strategy is not mixed: with strategy single MIG devices are advertised as nvidia.com/gpu, so this request never schedules",
		[k8s.describe(r.workload), r.c.name, r.name],
	)
}

evidence contains {"msg": msg, "ref": k8s.ref(r.workload)} if {
	some r in _mig_requests
	msg := sprintf("%s runs on a MIG slice (%s)", [k8s.describe(r.workload), r.name])
}

# ---------------------------------------------------------------------------
# Device plugin sharing configuration (time-slicing, MPS)
# ---------------------------------------------------------------------------

_sharing_kind(text) := "time-slicing" if {
	contains(text, "sharing:")
	regex.match(`sharing:[\s\S]*timeSlicing:`, text)
} else := "MPS" if {
	contains(text, "sharing:")
	regex.match(`sharing:[\s\S]*mps:`, text)
}

_replicas(text) := {to_number(m[1]) | some m in regex.find_all_string_submatch_n(`replicas:\s*([0-9]+)`, text, -1)}

evidence contains {"msg": msg, "ref": k8s.ref(cm)} if {
	some cm in k8s.objects_of_kind("ConfigMap")
	text := acc.configmap_text(cm)
	kind := _sharing_kind(text)
	replicas := _replicas(text)
	not _only_single_replicas(replicas)
	msg := sprintf("%s configures GPU %s in the device plugin%s", [k8s.describe(cm), kind, _replicas_note(replicas)])
}

_only_single_replicas(replicas) if {
	count(replicas) > 0
	max(replicas) < 2
}

_replicas_note(replicas) := sprintf(" (up to %d replicas per GPU)", [max(replicas)]) if count(replicas) > 0 else := ""

warn contains {"msg": msg, "ref": k8s.ref(cm), "field": "data"} if {
	some cm in k8s.objects_of_kind("ConfigMap")
	text := acc.configmap_text(cm)
	_sharing_kind(text)
	_only_single_replicas(_replicas(text))
	msg := sprintf("%s configures GPU sharing with replicas 1, which shares nothing", [k8s.describe(cm)])
}

# ClusterPolicy devicePlugin.config: {name, default}: the default must be a key of the
# ConfigMap, or the device plugin fails to start on nodes without a config label.
deny contains {"msg": msg, "ref": k8s.ref(cp), "field": "spec.devicePlugin.config.default"} if {
	some cp in acc.cluster_policies
	config := k8s.object_at(acc.component(cp, "devicePlugin"), "config")
	name := k8s.string_at(config, "name")
	default_key := k8s.string_at(config, "default")
	name != ""
	default_key != ""
	cms := [cm | some cm in k8s.objects_of_kind("ConfigMap"); k8s.name(cm) == name]
	count(cms) > 0
	every cm in cms {
		not _has_key(k8s.object_at(cm, "data"), default_key)
	}
	msg := sprintf(
		"%s sets devicePlugin.config.default %q, but ConfigMap %s has no such key (keys: %s): the device plugin cannot load its default configuration",
		[k8s.describe(cp), default_key, name, concat(", ", sort({k | some cm in cms; some k, _ in k8s.object_at(cm, "data")}))],
	)
}

_has_key(obj, key) if _ = obj[key]

# ---------------------------------------------------------------------------
# Nodes (GPU Feature Discovery labels, MIG resources)
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": k8s.ref(node)} if {
	some node in k8s.objects_of_kind("Node")
	s := k8s.label(node, "nvidia.com/gpu.sharing-strategy")
	s in {"time-slicing", "mps"}
	msg := sprintf("%s shares its GPUs (%s, %s replicas)", [k8s.describe(node), s, _or(k8s.label(node, "nvidia.com/gpu.replicas"), "?")])
}

_or(v, _) := v if is_string(v)

_or(v, d) := d if not is_string(v)

evidence contains {"msg": msg, "ref": k8s.ref(node)} if {
	some node in k8s.objects_of_kind("Node")
	migs := {n | some n in acc.node_accelerators(node); startswith(n, "nvidia.com/mig-")}
	count(migs) > 0
	msg := sprintf("%s advertises MIG slices %s", [k8s.describe(node), concat(", ", sort(migs))])
}

# ---------------------------------------------------------------------------
# DRA: MIG device classes, partitionable devices, sharing in claims
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": k8s.ref(dc)} if {
	some dc in acc.dra_objects("DeviceClass")
	_mig_class(dc)
	msg := sprintf("%s allocates MIG partitions through DRA", [k8s.describe(dc)])
}

_mig_class(dc) if k8s.name(dc) == "mig.nvidia.com"

_mig_class(dc) if startswith(k8s.string_at(dc, ["spec", "extendedResourceName"]), "nvidia.com/mig-")

_mig_class(dc) if {
	some sel in k8s.array_at(dc, ["spec", "selectors"])
	regex.match(`type\s*==\s*["']mig["']`, k8s.string_at(sel, ["cel", "expression"]))
}

evidence contains {"msg": msg, "ref": k8s.ref(s)} if {
	some s in acc.dra_objects("ResourceSlice")
	_partitionable(s)
	msg := sprintf("%s publishes partitionable devices (shared counters)", [k8s.describe(s)])
}

_partitionable(s) if count(k8s.array_at(s, ["spec", "sharedCounters"])) > 0

_partitionable(s) if {
	some d in acc.slice_devices(s)
	count(k8s.array_at(d, "consumesCounters")) > 0
}

evidence contains {"msg": msg, "ref": k8s.ref(obj)} if {
	some kind in ["ResourceClaimTemplate", "ResourceClaim"]
	some obj in acc.dra_objects(kind)
	spec := _claim_spec(obj)
	some cfg in k8s.array_at(spec, ["devices", "config"])
	strategy := k8s.string_at(k8s.object_at(k8s.object_at(k8s.object_at(cfg, "opaque"), "parameters"), "sharing"), "strategy")
	strategy != ""
	msg := sprintf("%s shares its GPU (sharing strategy %s)", [k8s.describe(obj), strategy])
}

_claim_spec(obj) := k8s.object_at(k8s.object_at(obj, "spec"), "spec") if obj.kind == "ResourceClaimTemplate" else := k8s.object_at(obj, "spec")

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains {"msg": msg} if {
	k8s.is_mode_manifests
	count(evidence) == 0
	msg := "The bundle shows no MIG, time-slicing, MPS or partitionable DRA devices; whether the cluster shares GPUs can only be seen in a live scan"
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["", "configmaps"],
		["", "nodes"],
		["nvidia.com", "clusterpolicies"],
		[acc.dra_group, "deviceclasses"],
	])
}
