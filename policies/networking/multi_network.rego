# METADATA
# title: Multiple network interfaces and RDMA
# description: >-
#   The platform can give AI pods secondary high-performance interfaces: Multus
#   NetworkAttachmentDefinitions (k8s.cni.cncf.io) with the Multus DaemonSet, SR-IOV
#   (sriovnetwork.openshift.io) or the NVIDIA Network Operator (mellanox.com), DRA network
#   drivers such as DRANET (ResourceSlices of driver dra.net, DeviceClasses for NICs), RDMA
#   or EFA device plugins, and pods that request them (`k8s.v1.cni.cncf.io/networks`,
#   rdma/* or EFA resources). An AI workload that names a NetworkAttachmentDefinition that
#   does not exist (when the input holds every NAD of that namespace), or a malformed networks annotation or
#   NAD config, is a violation.
# custom:
#   id: multi-network
#   requirements:
#     whitepaper: [NET-3.2]
#     cncf: [high_performance_networking]
#   severity: medium
#   scope: platform
#   inputs:
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: k8s.cni.cncf.io, resource: network-attachment-definitions}
#     - {group: sriovnetwork.openshift.io, resource: sriovnetworknodepolicies}
#     - {group: sriovnetwork.openshift.io, resource: sriovnetworks}
#     - {group: mellanox.com, resource: nicclusterpolicies}
#     - {group: mellanox.com, resource: hostdevicenetworks}
#     - {group: serving.kserve.io, resource: llminferenceservices}
#     - {group: serving.kserve.io, resource: inferenceservices}
#     - {group: resource.k8s.io, resource: resourceslices}
#     - {group: resource.k8s.io, resource: deviceclasses}
#     - {group: apps, resource: daemonsets}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: batch, resource: jobs}
#     - {group: jobset.x-k8s.io, resource: jobsets}
#     - {group: leaderworkerset.x-k8s.io, resource: leaderworkersets}
#     - {group: "", resource: pods}
#   remediation: |-
#     Install Multus (or a DRA network driver such as DRANET), define the secondary network
#     and attach it to the training pods:
#
#     ```yaml
#     apiVersion: k8s.cni.cncf.io/v1
#     kind: NetworkAttachmentDefinition
#     metadata:
#       name: rdma-net
#       namespace: ml
#       annotations:
#         k8s.v1.cni.cncf.io/resourceName: rdma/rdma_shared_device_a
#     spec:
#       config: '{"cniVersion": "0.3.1", "type": "macvlan", "master": "ens8f0", "ipam": {"type": "whereabouts", "range": "192.168.2.0/24"}}'
#     ```
#
#     and on the pod template: `k8s.v1.cni.cncf.io/networks: rdma-net`.
#   docs:
#     - https://github.com/k8snetworkplumbingwg/multus-cni
#     - https://github.com/google/dranet
#     - https://github.com/k8snetworkplumbingwg/sriov-network-operator
package kaic.networking.multi_network

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.platform
import data.kaic.lib.workload_index as windex
import data.kaic.lib.pods
import data.kaic.lib.workloads

_nad_group := "k8s.cni.cncf.io"

networks_annotation := "k8s.v1.cni.cncf.io/networks"

_nads := platform.of_kind(_nad_group, "NetworkAttachmentDefinition")

_nad_keys := {concat("/", [k8s.namespace(n), k8s.name(n)]) | some n in _nads}

_nads_complete(ns) if platform.complete_in(_nad_group, "network-attachment-definitions", "NetworkAttachmentDefinition", ns)

# Extended resources of RDMA / high-speed NICs.
_rdma_prefixes := ["rdma/", "vpc.amazonaws.com/efa", "nvidia.com/rdma", "nvidia.com/hostdev", "openshift.io/", "intel.com/sriov", "mellanox.com/"]

# ---------------------------------------------------------------------------
# Network requests of pod templates
# ---------------------------------------------------------------------------

# {w, ns, name, field} for every network a pod template requests; {w, field, error} when
# the annotation cannot be parsed.
_requests contains {"w": t.w, "value": value, "field": field} if {
	some t in windex.pod_templates
	some p in t.specs
	value := k8s.object_at(p.metadata, "annotations")[networks_annotation]
	is_string(value)
	field := platform.label_field(k8s.path(p.metadata_path, "annotations"), networks_annotation)
}

_attachments contains {"w": r.w, "ns": pair[0], "name": pair[1], "field": r.field} if {
	some r in _requests
	some pair in _parse_networks(r.value, k8s.namespace(r.w))
}

_malformed contains {"w": r.w, "field": r.field} if {
	some r in _requests
	startswith(trim_space(r.value), "[")
	not _json_array(r.value)
	windex.object_key(r.w) in windex.ai_keys
}

_json_array(value) if {
	json.is_valid(value)
	is_array(json.unmarshal(value))
}

# [namespace, name] pairs. JSON form: [{"name": ..., "namespace": ...}]. (No array
# destructuring here: rego-cpp reports a unification cycle for it.)
_parse_networks(value, pod_ns) := {pair |
	some e in json.unmarshal(value)
	name := k8s.string_at(e, "name")
	name != ""
	pair := [_or(k8s.string_at(e, "namespace"), pod_ns), name]
} if {
	_json_array(value)
} else := {pair |
	# Short form: "net1,other-ns/net2@eth1".
	some part in split(value, ",")
	item := split(trim_space(part), "@")[0]
	item != ""
	pair := _ns_name(item, pod_ns)
}

_ns_name(item, pod_ns) := [parts[0], parts[1]] if {
	parts := split(item, "/")
	count(parts) == 2
} else := [pod_ns, item] if {
	not contains(item, "/")
}

_or(s, fallback) := s if s != "" else := fallback

_nad_exists(a) if concat("/", [a.ns, a.name]) in _nad_keys

# ---------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": platform.crd_ref(_nad_group, "network-attachment-definitions")} if {
	platform.kind_defined(_nad_group, "NetworkAttachmentDefinition")
	msg := "Multus NetworkAttachmentDefinitions (k8s.cni.cncf.io) are available"
}

evidence contains {"msg": msg, "ref": k8s.ref(nad)} if {
	some nad in _nads
	not _bad_config(nad)
	msg := sprintf("%s defines a secondary network (CNI %s)", [k8s.describe(nad), _cni_type(nad)])
}

_config_text(nad) := k8s.string_at(k8s.object_at(nad, "spec"), "config")

_bad_config(nad) if {
	text := _config_text(nad)
	trim_space(text) != ""
	not json.is_valid(text)
}

_cni_type(nad) := concat("+", types) if {
	text := _config_text(nad)
	json.is_valid(text)
	cfg := json.unmarshal(text)
	types := _types(cfg)
	count(types) > 0
} else := "configured on the node"

_types(cfg) := [t] if {
	t := k8s.string_at(cfg, "type")
	t != ""
} else := [t | some p in k8s.array_at(cfg, "plugins"); t := k8s.string_at(p, "type"); t != ""]

evidence contains {"msg": msg, "ref": k8s.ref(ds)} if {
	some ds in platform.of_kind("apps", "DaemonSet")
	some token in ["multus", "rdma-shared-dev-plugin", "rdma-shared-dp", "sriov-device-plugin", "sriov-network-config-daemon", "efa-k8s-device-plugin", "dranet"]
	contains(k8s.name(ds), token)
	msg := sprintf("%s provides secondary networking (%s)", [k8s.describe(ds), token])
}

evidence contains {"msg": msg, "ref": platform.crd_ref(g, plural)} if {
	some g, [what, plural] in {"sriovnetwork.openshift.io": ["SR-IOV Network Operator", "sriovnetworknodepolicies"], "mellanox.com": ["NVIDIA Network Operator", "nicclusterpolicies"]}
	platform.group_defined(g)
	msg := sprintf("The %s API (%s) is installed", [what, g])
}

evidence contains {"msg": msg, "ref": k8s.ref(obj)} if {
	some [g, kind] in [["sriovnetwork.openshift.io", "SriovNetworkNodePolicy"], ["mellanox.com", "NicClusterPolicy"], ["mellanox.com", "HostDeviceNetwork"]]
	some obj in platform.of_kind(g, kind)
	msg := sprintf("%s configures high-performance NICs", [k8s.describe(obj)])
}

# DRA network drivers: ResourceSlices published by DRANET and similar drivers, and
# DeviceClasses selecting their devices.
_network_driver(d) if {
	is_string(d)
	some token in ["dra.net", "networking", "rdma", "sriov", "nic"]
	contains(d, token)
}

evidence contains {"msg": msg, "ref": k8s.ref(rs)} if {
	some rs in platform.of_kind("resource.k8s.io", "ResourceSlice")
	driver := k8s.string_at(k8s.object_at(rs, "spec"), "driver")
	_network_driver(driver)
	msg := sprintf("%s publishes network devices of DRA driver %s", [k8s.describe(rs), driver])
}

evidence contains {"msg": msg, "ref": k8s.ref(dc)} if {
	some dc in platform.of_kind("resource.k8s.io", "DeviceClass")
	_network_device_class(dc)
	msg := sprintf("%s lets pods claim network devices through DRA", [k8s.describe(dc)])
}

_network_device_class(dc) if contains(k8s.name(dc), "dranet")

_network_device_class(dc) if {
	some s in k8s.array_at(k8s.object_at(dc, "spec"), "selectors")
	expr := k8s.string_at(k8s.object_at(s, "cel"), "expression")
	contains(expr, "dra.net")
}

evidence contains {"msg": msg, "ref": k8s.ref(a.w)} if {
	some a in _attachments
	_nad_exists(a)
	msg := sprintf("%s attaches secondary network %s/%s", [k8s.describe(a.w), a.ns, a.name])
}

evidence contains {"msg": msg, "ref": k8s.ref(w)} if {
	some w in workloads.ai_workloads
	names := {name |
		some c in pods.containers(w)
		some section in ["requests", "limits"]
		some name, _ in k8s.object_at(k8s.object_at(c.container, "resources"), section)
		some prefix in _rdma_prefixes
		startswith(name, prefix)
	}
	count(names) > 0
	msg := sprintf("%s requests high-performance network devices (%s)", [k8s.describe(w), concat(", ", sort(names))])
}

# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------

deny contains {"msg": msg, "ref": k8s.ref(a.w), "field": a.field} if {
	some a in _attachments
	_nads_complete(a.ns)
	windex.object_key(a.w) in windex.ai_keys
	not _nad_exists(a)
	msg := sprintf("%s requests network %s/%s, but no NetworkAttachmentDefinition of that name exists; its pods fail to start", [k8s.describe(a.w), a.ns, a.name])
}

deny contains {"msg": msg, "ref": k8s.ref(m.w), "field": m.field} if {
	some m in _malformed
	msg := sprintf("%s has a %s annotation that is not a valid JSON list of networks", [k8s.describe(m.w), networks_annotation])
}

deny contains {"msg": msg, "ref": k8s.ref(nad), "field": "spec.config"} if {
	some nad in _nads
	_bad_config(nad)
	msg := sprintf("%s has a spec.config that is not valid JSON; Multus cannot attach this network", [k8s.describe(nad)])
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains {"msg": msg} if {
	missing := {concat("/", [a.ns, a.name]) |
		some a in _attachments
		not _nad_exists(a)
		windex.object_key(a.w) in windex.ai_keys
		not _nads_complete(a.ns)
	}
	count(missing) > 0
	msg := sprintf("AI workloads request networks (%s) whose NetworkAttachmentDefinitions are not in the bundle; whether they exist can only be seen in a live scan", [concat(", ", sort(missing))])
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["apiextensions.k8s.io", "customresourcedefinitions"],
		[_nad_group, "network-attachment-definitions"],
		["resource.k8s.io", "resourceslices"],
		["apps", "daemonsets"],
	])
}
