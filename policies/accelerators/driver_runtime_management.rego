# METADATA
# title: Accelerator drivers and container runtime are managed by the platform
# description: >-
#   The accelerator driver and the container runtime integration are installed and kept
#   consistent by the platform: the NVIDIA GPU Operator (ClusterPolicy, NVIDIADriver), the AMD
#   GPU Operator (DeviceConfig), driver and container-toolkit DaemonSets, a RuntimeClass for
#   the accelerator runtime, and driver versions advertised through DRA device attributes or
#   GPU Feature Discovery node labels. NVIDIADriver objects whose node selectors overlap, or
#   one node whose devices report different driver versions, are misconfigurations. Static
#   evidence only: the official test runs a GPU pod and compares versions.
# custom:
#   id: driver-runtime-management
#   requirements:
#     cncf: [driver_runtime_management]
#   severity: medium
#   scope: platform
#   inputs:
#     - {group: nvidia.com, resource: clusterpolicies}
#     - {group: nvidia.com, resource: nvidiadrivers}
#     - {group: amd.com, resource: deviceconfigs}
#     - {group: apps, resource: daemonsets}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: node.k8s.io, resource: runtimeclasses}
#     - {group: resource.k8s.io, resource: resourceslices}
#     - {group: "", resource: nodes}
#   remediation: |-
#     Let an operator manage drivers and the runtime: install the NVIDIA GPU Operator with a
#     ClusterPolicy (driver and toolkit enabled, or `driver.enabled: false` on images with a
#     preinstalled driver), give each NVIDIADriver a disjoint `nodeSelector`, and register the
#     runtime handler as a RuntimeClass:
#
#     ```yaml
#     apiVersion: node.k8s.io/v1
#     kind: RuntimeClass
#     metadata:
#       name: nvidia
#     handler: nvidia
#     ```
#   docs:
#     - https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/index.html
#     - https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/gpu-driver-configuration.html
#     - https://instinct.docs.amd.com/projects/gpu-operator/en/latest/
package kaic.accelerators.driver_runtime_management

import rego.v1

import data.kaic.lib.accelerators as acc
import data.kaic.lib.k8s

# ---------------------------------------------------------------------------
# Operators and their custom resources
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": k8s.ref(cp)} if {
	some cp in acc.cluster_policies
	msg := sprintf("%s (NVIDIA GPU Operator) manages %s", [k8s.describe(cp), _managed_text(cp)])
}

_managed_text(cp) := concat(", ", parts) if {
	parts := [label |
		some pair in [["driver", "the GPU driver"], ["toolkit", "the container toolkit"], ["devicePlugin", "the device plugin"]]
		acc.not_disabled(cp, pair[0])
		label := pair[1]
	]
	count(parts) > 0
} else := "GPU node components (driver and toolkit preinstalled on the nodes)"

evidence contains {"msg": msg, "ref": k8s.ref(d)} if {
	some d in acc.nvidia_drivers
	msg := sprintf("%s installs NVIDIA driver %s (%s)", [
		k8s.describe(d), _or(k8s.string_at(d, ["spec", "version"]), "of the operator's default version"),
		_or(k8s.string_at(d, ["spec", "driverType"]), "gpu"),
	])
}

_or(s, default_value) := s if s != "" else := default_value

evidence contains {"msg": msg, "ref": k8s.ref(dc)} if {
	some dc in k8s.objects_of_kind("DeviceConfig")
	k8s.group(dc) == "amd.com"
	msg := sprintf("%s (AMD GPU Operator) manages the AMD GPU driver and device plugin", [k8s.describe(dc)])
}

evidence contains {"msg": msg, "ref": k8s.ref(c.object)} if {
	some role in ["driver", "toolkit", "operator"]
	some c in acc.components_with_role(role)
	msg := sprintf("%s runs the %s (%s)", [k8s.describe(c.object), c.product, c.image])
}

# RuntimeClasses of the accelerator container runtimes.
_accelerator_handlers := {"nvidia", "nvidia-cdi", "nvidia-legacy"}

evidence contains {"msg": msg, "ref": k8s.ref(rc)} if {
	some rc in k8s.objects_of_kind("RuntimeClass")
	h := k8s.string_at(rc, "handler")
	h in _accelerator_handlers
	msg := sprintf("%s selects the NVIDIA container runtime (handler %q)", [k8s.describe(rc), h])
}

# ---------------------------------------------------------------------------
# Advertised driver versions
# ---------------------------------------------------------------------------

_version_attributes := {"driverVersion", "gpu.nvidia.com/driverVersion"}

_runtime_attributes := {"cudaDriverVersion", "gpu.nvidia.com/cudaDriverVersion"}

# Device attribute values are typed ({"version": "580.65.6"}, {"string": ...}).
_attr_value(attrs, names) := v if {
	some name in names
	a := attrs[name]
	v := _typed(a)
}

_typed(a) := v if {
	is_object(a)
	some key in ["version", "string", "int"]
	v := sprintf("%v", [a[key]])
} else := v if {
	is_string(a)
	v := a
}

# {node: {driver versions}} from the ResourceSlices' devices.
_node_versions[node] contains v if {
	some s in acc.dra_objects("ResourceSlice")
	node := k8s.string_at(s, ["spec", "nodeName"])
	node != ""
	some d in acc.slice_devices(s)
	v := _attr_value(k8s.object_at(d, "attributes"), _version_attributes)
}

_slices_by_node[node] contains s if {
	some s in acc.dra_objects("ResourceSlice")
	node := k8s.string_at(s, ["spec", "nodeName"])
	node != ""
}

evidence contains {"msg": msg, "ref": k8s.ref(s)} if {
	some s in acc.dra_objects("ResourceSlice")
	versions := {v | some d in acc.slice_devices(s); v := _attr_value(k8s.object_at(d, "attributes"), _version_attributes)}
	count(versions) > 0
	runtimes := {v | some d in acc.slice_devices(s); v := _attr_value(k8s.object_at(d, "attributes"), _runtime_attributes)}
	msg := sprintf("%s advertises driver version %s%s", [k8s.describe(s), concat(", ", sort(versions)), _cuda_note(runtimes)])
}

_cuda_note(runtimes) := sprintf(" (CUDA %s)", [concat(", ", sort(runtimes))]) if count(runtimes) > 0 else := ""

deny contains {"msg": msg, "ref": k8s.ref(s), "field": "spec.devices"} if {
	some node, versions in _node_versions
	count(versions) > 1
	some s in _slices_by_node[node]
	msg := sprintf(
		"Devices on node %s report different driver versions (%s): one node runs one driver, so the advertised versions are stale or the driver is half upgraded",
		[node, concat(", ", sort(versions))],
	)
}

# GPU Feature Discovery labels.
_gfd_labels := ["nvidia.com/cuda.driver-version.full", "nvidia.com/cuda.driver.major", "nvidia.com/cuda.runtime-version.full"]

evidence contains {"msg": msg, "ref": k8s.ref(node)} if {
	some node in k8s.objects_of_kind("Node")
	found := [sprintf("%s=%s", [key, v]) | some key in _gfd_labels; v := k8s.label(node, key)]
	count(found) > 0
	msg := sprintf("%s advertises its accelerator driver and runtime (%s)", [k8s.describe(node), concat(", ", found)])
}

# Accelerator nodes must report their container runtime as <name>://<version>.
deny contains {"msg": msg, "ref": k8s.ref(node), "field": "status.nodeInfo.containerRuntimeVersion"} if {
	some node in k8s.objects_of_kind("Node")
	acc.is_gpu_node(node)
	info := k8s.object_at(k8s.object_at(node, "status"), "nodeInfo")
	count(info) > 0
	v := k8s.string_at(info, "containerRuntimeVersion")
	not regex.match(`^[A-Za-z0-9._-]+://\S+$`, v)
	msg := sprintf("%s has accelerators but reports container runtime version %q instead of <runtime>://<version>", [k8s.describe(node), v])
}

# ---------------------------------------------------------------------------
# NVIDIADriver node selectors must not overlap: the operator refuses overlapping ones.
# ---------------------------------------------------------------------------

_selector(d) := k8s.object_at(k8s.object_at(d, "spec"), "nodeSelector")

# Two equality selectors overlap unless some key is required with different values.
_overlap(a, b) if {
	sa := _selector(a)
	sb := _selector(b)
	not _disjoint(sa, sb)
}

_disjoint(sa, sb) if {
	some key, v in sa
	sb[key] != v
}

deny contains {"msg": msg, "ref": k8s.ref(d), "field": "spec.nodeSelector"} if {
	some i, d in acc.nvidia_drivers
	some j, other in acc.nvidia_drivers
	i != j
	_overlap(d, other)
	msg := sprintf(
		"%s and NVIDIADriver %s select overlapping nodes (spec.nodeSelector): the GPU Operator rejects overlapping NVIDIADriver objects and leaves the nodes without a managed driver",
		[k8s.describe(d), k8s.name(other)],
	)
}

# The ClusterPolicy hands driver management to NVIDIADriver objects, but none exists.
deny contains {"msg": msg, "ref": k8s.ref(cp), "field": "spec.driver.useNvidiaDriverCRD"} if {
	some cp in acc.cluster_policies
	acc.component(cp, "driver").useNvidiaDriverCRD == true
	acc.not_disabled(cp, "driver")
	count(acc.nvidia_drivers) == 0
	k8s.observed("nvidia.com", "nvidiadrivers")
	msg := sprintf("%s sets driver.useNvidiaDriverCRD, but no NVIDIADriver object exists: no node gets a driver", [k8s.describe(cp)])
}

unknown contains {"msg": msg} if {
	some cp in acc.cluster_policies
	acc.component(cp, "driver").useNvidiaDriverCRD == true
	acc.not_disabled(cp, "driver")
	count(acc.nvidia_drivers) == 0
	not k8s.observed("nvidia.com", "nvidiadrivers")
	msg := sprintf("%s sets driver.useNvidiaDriverCRD, and the input holds no NVIDIADriver: which driver the nodes get can only be seen in the cluster", [k8s.describe(cp)])
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains {"msg": msg} if {
	k8s.is_mode_manifests
	count(evidence) == 0
	msg := "The bundle contains no GPU operator, driver DaemonSet, accelerator RuntimeClass or driver version attributes; how the cluster manages accelerator drivers can only be seen in a live scan"
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["nvidia.com", "clusterpolicies"],
		["nvidia.com", "nvidiadrivers"],
		["apps", "daemonsets"],
		["", "nodes"],
		[acc.dra_group, "resourceslices"],
	])
}
