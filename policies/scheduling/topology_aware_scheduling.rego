# METADATA
# title: Topology-aware scheduling
# description: >-
#   The platform can place the pods of a distributed AI workload by network topology
#   (block, rack, host): Kueue Topology objects (kueue.x-k8s.io, any version) whose levels
#   are node labels, ResourceFlavors bound to a Topology (spec.topologyName), workloads
#   requesting a level through `kueue.x-k8s.io/podset-required-topology` or
#   `podset-preferred-topology` on their pod templates, NodeResourceTopology
#   (topology.node.k8s.io) for NUMA-aware placement, and, in a live scan, Nodes that carry
#   topology labels. A workload requesting a level that no Topology defines, or a
#   ResourceFlavor naming a missing Topology, is a violation when the input holds every
#   Topology.
# custom:
#   id: topology-aware-scheduling
#   requirements:
#     whitepaper: [WL-2.4]
#     cncf: []
#   severity: medium
#   scope: platform
#   inputs:
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: kueue.x-k8s.io, resource: topologies}
#     - {group: kueue.x-k8s.io, resource: resourceflavors}
#     - {group: topology.node.k8s.io, resource: noderesourcetopologies}
#     - {group: "", resource: nodes}
#     - {group: "", resource: pods}
#     - {group: batch, resource: jobs}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: jobset.x-k8s.io, resource: jobsets}
#     - {group: leaderworkerset.x-k8s.io, resource: leaderworkersets}
#     - {group: kubeflow.org, resource: pytorchjobs}
#     - {group: ray.io, resource: rayjobs}
#   remediation: |-
#     Define the data-center topology once as a Kueue Topology whose levels are node
#     labels, bind a ResourceFlavor to it, and let workloads request a level:
#
#     ```yaml
#     apiVersion: kueue.x-k8s.io/v1beta2
#     kind: Topology
#     metadata:
#       name: default
#     spec:
#       levels:
#         - nodeLabel: cloud.google.com/gce-topology-block
#         - nodeLabel: cloud.google.com/gce-topology-subblock
#         - nodeLabel: kubernetes.io/hostname
#     ---
#     apiVersion: kueue.x-k8s.io/v1beta2
#     kind: ResourceFlavor
#     metadata:
#       name: h100
#     spec:
#       nodeLabels: {cloud.google.com/gke-accelerator: nvidia-h100-80gb}
#       topologyName: default
#     ```
#
#     and annotate the pod template with
#     `kueue.x-k8s.io/podset-required-topology: cloud.google.com/gce-topology-block`.
#   docs:
#     - https://kueue.sigs.k8s.io/docs/concepts/topology_aware_scheduling/
#     - https://github.com/k8stopologyawareschedwg/noderesourcetopology-api
package kaic.scheduling.topology_aware_scheduling

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.platform
import data.kaic.lib.workload_index as windex

_kueue := "kueue.x-k8s.io"

_nrt_group := "topology.node.k8s.io"

tas_annotations := [
	"kueue.x-k8s.io/podset-required-topology",
	"kueue.x-k8s.io/podset-preferred-topology",
	"kueue.x-k8s.io/podset-slice-required-topology",
]

# Node labels cloud providers and NVIDIA use for network blocks, racks and NVLink domains.
provider_topology_labels := {
	"cloud.google.com/gce-topology-block", "cloud.google.com/gce-topology-subblock",
	"cloud.google.com/gce-topology-host", "network.topology.kubernetes.io/block",
	"network.topology.kubernetes.io/spine", "network.topology.kubernetes.io/datacenter",
	"topology.k8s.aws/network-node-layer-1", "topology.k8s.aws/network-node-layer-2",
	"topology.k8s.aws/network-node-layer-3", "nvidia.com/gpu.clique",
}

_topologies := platform.of_kind(_kueue, "Topology")

_topology_names := {k8s.name(t) | some t in _topologies}

# Every level defined by some Topology.
levels := {l |
	some t in _topologies
	some level in k8s.array_at(k8s.object_at(t, "spec"), "levels")
	l := k8s.string_at(level, "nodeLabel")
	l != ""
}

_topologies_complete if platform.complete(_kueue, "topologies", "Topology")

# TAS requests on AI workloads' pod templates: {w, key, level, field}.
_requests contains {"w": t.w, "key": key, "level": level, "field": field} if {
	some t in windex.pod_templates
	some p in t.specs
	some key in tas_annotations
	level := k8s.object_at(p.metadata, "annotations")[key]
	is_string(level)
	field := platform.label_field(k8s.path(p.metadata_path, "annotations"), key)
	windex.object_key(t.w) in windex.ai_keys
}

# ---------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": platform.crd_ref(_kueue, "topologies")} if {
	platform.kind_defined(_kueue, "Topology")
	msg := "The Kueue Topology API (topologies.kueue.x-k8s.io) is installed"
}

evidence contains {"msg": msg, "ref": k8s.ref(t)} if {
	some t in _topologies
	names := [l | some level in k8s.array_at(k8s.object_at(t, "spec"), "levels"); l := k8s.string_at(level, "nodeLabel")]
	count(names) > 0
	msg := sprintf("%s defines topology levels %s", [k8s.describe(t), concat(" > ", names)])
}

evidence contains {"msg": msg, "ref": k8s.ref(rf)} if {
	some rf in platform.of_kind(_kueue, "ResourceFlavor")
	name := k8s.string_at(k8s.object_at(rf, "spec"), "topologyName")
	name != ""
	_topology_known(name)
	msg := sprintf("%s places workloads by Topology %s", [k8s.describe(rf), name])
}

_topology_known(name) if name in _topology_names

_topology_known(_) if not _topologies_complete

evidence contains {"msg": msg, "ref": platform.crd_ref(_nrt_group, "noderesourcetopologies")} if {
	_nrt_present
	msg := "NodeResourceTopology (topology.node.k8s.io) is available for NUMA-aware placement"
}

_nrt_present if platform.kind_defined(_nrt_group, "NodeResourceTopology")

_nrt_present if count(platform.of_kind(_nrt_group, "NodeResourceTopology")) > 0

evidence contains {"msg": msg, "ref": k8s.ref(r.w)} if {
	some r in _requests
	_level_known(r.level)
	msg := sprintf("%s asks Kueue for topology level %s (%s)", [k8s.describe(r.w), r.level, r.key])
}

_level_known(level) if level in levels

_level_known(_) if not _topologies_complete

evidence contains {"msg": msg, "ref": {"apiVersion": "v1", "kind": "Node", "namespace": "", "name": ""}} if {
	nodes := k8s.objects_of_kind("Node")
	labelled := [n | some n in nodes; _has_topology_label(n)]
	count(labelled) > 0
	used := {k | some n in labelled; some k, _ in k8s.labels(n); _is_topology_label(k)}
	msg := sprintf("%d of %d nodes carry network topology labels (%s)", [count(labelled), count(nodes), concat(", ", sort(used))])
}

_has_topology_label(node) if {
	some k, _ in k8s.labels(node)
	_is_topology_label(k)
}

_is_topology_label(k) if k in provider_topology_labels

_is_topology_label(k) if {
	k in levels
	k != "kubernetes.io/hostname"
}

# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------

deny contains {"msg": msg, "ref": k8s.ref(r.w), "field": r.field} if {
	some r in _requests
	_topologies_complete
	not r.level in levels
	msg := sprintf("%s requests topology level %s, which no Kueue Topology defines (levels: %s); Kueue cannot admit it", [k8s.describe(r.w), r.level, _levels_text])
}

_levels_text := concat(", ", sort(levels)) if count(levels) > 0 else := "none"

deny contains {"msg": msg, "ref": k8s.ref(rf), "field": "spec.topologyName"} if {
	some rf in platform.of_kind(_kueue, "ResourceFlavor")
	name := k8s.string_at(k8s.object_at(rf, "spec"), "topologyName")
	name != ""
	_topologies_complete
	not name in _topology_names
	msg := sprintf("%s names Topology %s, which does not exist; workloads using this flavor are not admitted", [k8s.describe(rf), name])
}

# ---------------------------------------------------------------------------
# Advice
# ---------------------------------------------------------------------------

warn contains {"msg": msg, "ref": k8s.ref(t), "field": sprintf("spec.levels[%d].nodeLabel", [i])} if {
	k8s.observed("", "nodes")
	count(k8s.objects_of_kind("Node")) > 0
	some t in _topologies
	some i, level in k8s.array_at(k8s.object_at(t, "spec"), "levels")
	label := k8s.string_at(level, "nodeLabel")
	not _some_node_has(label)
	msg := sprintf("%s uses node label %s, which no Node carries; workloads requesting this level cannot be placed", [k8s.describe(t), label])
}

_some_node_has(label) if {
	some n in k8s.objects_of_kind("Node")
	_ = k8s.labels(n)[label]
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains {"msg": msg} if {
	not _topologies_complete
	missing := {r.level | some r in _requests; not r.level in levels}
	count(missing) > 0
	msg := sprintf("Workloads request topology levels (%s) but the bundle defines no Kueue Topology; whether the cluster defines them can only be seen in a live scan", [concat(", ", sort(missing))])
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["apiextensions.k8s.io", "customresourcedefinitions"],
		[_kueue, "topologies"],
		[_kueue, "resourceflavors"],
		["", "nodes"],
	])
}
