# Accelerator platform facts shared by the accelerator checks (DRA, metrics, fault detection,
# secure access, driver management, sharing, virtualisation, GPUDirect Storage): the objects
# of the NVIDIA GPU Operator and of DRA, and the accelerator components recognised by their
# container images. Library package: no METADATA block.
#
# API:
#   dra_group                    "resource.k8s.io"
#   dra_objects(kind)            DeviceClass, ResourceSlice, ResourceClaim(Template),
#                                DeviceTaintRule objects of the DRA group (any version)
#   dra_served_versions          versions of resource.k8s.io the cluster serves (live)
#   cel_drivers(device_class)    driver names its CEL selectors compare `device.driver` with
#   slice_driver(slice)          ResourceSlice spec.driver ("" when missing)
#   slice_devices(slice)         ResourceSlice spec.devices ([] when missing)
#   cluster_policies             GPU Operator ClusterPolicy objects (nvidia.com, not Kyverno's)
#   nvidia_drivers               GPU Operator NVIDIADriver objects (nvidia.com)
#   component(obj, key)          obj.spec.<key> as an object ({} when missing)
#   enabled(obj, key)            spec.<key>.enabled is explicitly true (opt-in components)
#   not_disabled(obj, key)       spec.<key>.enabled is not false (components on by default)
#   components                   [{"object", "role", "product", "image", "path"}]: workloads
#                                (DaemonSet, Deployment, StatefulSet) running a known
#                                accelerator component; role: device-plugin | dra-driver |
#                                metrics-exporter | driver | toolkit | operator | health |
#                                mig-manager | feature-discovery | validator | gds
#   components_with_role(role)   the same, for one role
#   is_component(obj)            obj runs a known accelerator component (infrastructure that
#                                legitimately touches devices directly)
#   container_accelerators(c)    accelerator extended resources a container requests
#                                (names from limits and requests)
#   is_gpu_node(node)            the Node advertises an accelerator or carries GFD labels
#   configmap(ns, name)          a ConfigMap of the input; configmap_text(cm) its data joined
#   node_accelerators(node)      accelerator resources a Node advertises (capacity/allocatable)
package kaic.lib.accelerators

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.pods
import data.kaic.lib.workloads

# ---------------------------------------------------------------------------
# Dynamic Resource Allocation
# ---------------------------------------------------------------------------

dra_group := "resource.k8s.io"

dra_resources := ["deviceclasses", "resourceslices", "resourceclaims", "resourceclaimtemplates"]

dra_objects(kind) := [o | some o in k8s.objects_of_kind(kind); k8s.group(o) == dra_group]

# Versions of resource.k8s.io the cluster serves for the core DRA resources.
dra_served_versions := {v |
	some r in k8s.api_resources
	r.group == dra_group
	r.resource in dra_resources
	v := r.version
	is_string(v)
}

_cel_driver := `device\.driver\s*==\s*["']([^"']+)["']`

# Drivers a DeviceClass selects through `device.driver == "..."` in its CEL selectors.
cel_drivers(device_class) := {m[1] |
	some sel in k8s.array_at(device_class, ["spec", "selectors"])
	expr := k8s.string_at(sel, ["cel", "expression"])
	some m in regex.find_all_string_submatch_n(_cel_driver, expr, -1)
}

slice_driver(slice) := k8s.string_at(slice, ["spec", "driver"])

slice_devices(slice) := k8s.array_at(slice, ["spec", "devices"])

# ---------------------------------------------------------------------------
# NVIDIA GPU Operator custom resources (nvidia.com). Kyverno also has a kind ClusterPolicy
# (kyverno.io), so the group is always checked.
# ---------------------------------------------------------------------------

gpu_operator_group := "nvidia.com"

cluster_policies := [p | some p in k8s.objects_of_kind("ClusterPolicy"); k8s.group(p) == gpu_operator_group]

nvidia_drivers := [d | some d in k8s.objects_of_kind("NVIDIADriver"); k8s.group(d) == gpu_operator_group]

component(obj, key) := k8s.object_at(k8s.object_at(obj, "spec"), key)

enabled(obj, key) if component(obj, key).enabled == true

# GPU Operator components such as driver, toolkit, devicePlugin, dcgm and dcgmExporter
# default to enabled when `enabled` is omitted.
not_disabled(obj, key) if {
	is_object(k8s.get(obj, "spec", null))
	not component(obj, key).enabled == false
}

# ---------------------------------------------------------------------------
# Accelerator components recognised by image (lower-cased substring match).
# [pattern, role, product]; the first matching pattern of an image wins.
# ---------------------------------------------------------------------------

component_patterns := [
	["k8s-dra-driver-gpu", "dra-driver", "NVIDIA DRA driver for GPUs"],
	["dra-example-driver", "dra-driver", "DRA example driver"],
	["k8s-gpu-dra-driver", "dra-driver", "AMD GPU DRA driver"],
	["intel-gpu-resource-driver", "dra-driver", "Intel GPU DRA driver"],
	["dranet", "dra-driver", "DRANET"],
	["nvidia/k8s-device-plugin", "device-plugin", "NVIDIA device plugin"],
	["rocm/k8s-device-plugin", "device-plugin", "AMD GPU device plugin"],
	["intel-gpu-plugin", "device-plugin", "Intel GPU device plugin"],
	["docker-k8s-device-plugin", "device-plugin", "Intel Gaudi device plugin"],
	["neuron-device-plugin", "device-plugin", "AWS Neuron device plugin"],
	["tpu-device-plugin", "device-plugin", "Google TPU device plugin"],
	["dcgm-exporter", "metrics-exporter", "NVIDIA DCGM exporter"],
	["device-metrics-exporter", "metrics-exporter", "AMD device metrics exporter"],
	["xpumanager", "metrics-exporter", "Intel XPU Manager"],
	["xpu-manager", "metrics-exporter", "Intel XPU Manager"],
	["gaudi-metric-exporter", "metrics-exporter", "Intel Gaudi metric exporter"],
	["neuron-monitor", "metrics-exporter", "AWS Neuron monitor"],
	["nvsentinel", "health", "NVIDIA NVSentinel"],
	["node-problem-detector", "health", "node-problem-detector"],
	["nvidia/cloud-native/dcgm", "health", "NVIDIA DCGM host engine"],
	["k8s-mig-manager", "mig-manager", "NVIDIA MIG manager"],
	["gpu-feature-discovery", "feature-discovery", "NVIDIA GPU feature discovery"],
	["gpu-operator-validator", "validator", "NVIDIA GPU Operator validator"],
	["nvidia/gpu-operator", "operator", "NVIDIA GPU Operator"],
	["rocm/gpu-operator", "operator", "AMD GPU Operator"],
	["container-toolkit", "toolkit", "NVIDIA container toolkit"],
	["k8s-driver-manager", "driver", "NVIDIA driver manager"],
	["nvcr.io/nvidia/driver", "driver", "NVIDIA GPU driver container"],
	["nvidia-fs", "gds", "NVIDIA GPUDirect Storage driver (nvidia-fs)"],
]

_component_kinds := ["DaemonSet", "Deployment", "StatefulSet"]

components := [{"object": obj, "role": match[1], "product": match[2], "image": img.image, "path": img.path} |
	some kind in _component_kinds
	some obj in k8s.objects_of_kind(kind)
	some img in _template_images(obj)
	match := _image_component(img.image)
]

# Images of a spec.template workload (DaemonSet, Deployment, StatefulSet), read directly:
# the generic pods.images normaliser costs far more per object and these kinds need none
# of its special cases.
_template_images(obj) := [{"image": image, "path": sprintf("spec.template.spec.%s[%d].image", [key, i])} |
	spec := k8s.object_at(k8s.object_at(k8s.object_at(obj, "spec"), "template"), "spec")
	some key in ["initContainers", "containers"]
	some i, c in k8s.array_at(spec, key)
	image := k8s.string_at(c, "image")
	image != ""
]

# One regular expression over all patterns first: most images are not components, and a
# single match is much cheaper than one `contains` per pattern.
_any_component := concat("|", [replace(p[0], ".", `\.`) | some p in component_patterns])

_image_component(image) := matches[0] if {
	lowered := lower(image)
	regex.match(_any_component, lowered)
	matches := [entry | some entry in component_patterns; contains(lowered, entry[0])]
	count(matches) > 0
}

# components_with_role(role): one entry per object (its first matching image).
components_with_role(role) := [c |
	some i, c in components
	c.role == role
	not _earlier_same(i, c)
]

_earlier_same(i, c) if {
	some j, other in components
	j < i
	other.role == c.role
	other.object == c.object
}

is_component(obj) if {
	obj.kind in _component_kinds
	[obj.kind, k8s.raw_namespace(obj), k8s.name(obj)] in _component_keys
}

# Identity of every component object, so is_component() reuses the image matching done once
# for `components`.
_component_keys := {[c.object.kind, k8s.raw_namespace(c.object), k8s.name(c.object)] | some c in components}

# ---------------------------------------------------------------------------
# Requests and nodes
# ---------------------------------------------------------------------------

container_accelerators(c) := names if {
	names := _container_accelerators_of[c]
} else := _container_accelerators(c)

# Memoised per query for the containers of the input's workloads, which several checks
# ask about (regorus does not memoise function calls).
_container_accelerators_of[c] := _container_accelerators(c) if {
	some obj in pods.known_objects
	some entry in pods.containers(obj)
	c := entry.container
}

_container_accelerators(c) := {name |
	resources := k8s.object_at(c, "resources")
	some section in ["limits", "requests"]
	some name, _ in k8s.object_at(resources, section)
	workloads.accelerator_resource(name)
}

# The pod spec requests accelerators (any container, or DRA claims on the pod).
pod_requests_accelerators(spec) if {
	some key in ["containers", "initContainers"]
	some c in k8s.array_at(spec, key)
	count(container_accelerators(c)) > 0
}

pod_requests_accelerators(spec) if count(k8s.array_at(spec, "resourceClaims")) > 0

node_accelerators(node) := {name |
	some section in ["capacity", "allocatable"]
	some name, _ in k8s.object_at(k8s.object_at(node, "status"), section)
	workloads.accelerator_resource(name)
}

# is_gpu_node(node): the Node advertises an accelerator or carries GFD's presence label.
# A function, not a rule over all Nodes, for the same reason as configmap().
is_gpu_node(n) if k8s.label(n, "nvidia.com/gpu.present") == "true"

is_gpu_node(n) if {
	not k8s.label(n, "nvidia.com/gpu.present") == "true"
	count(node_accelerators(n)) > 0
}

# configmap(ns, name): the ConfigMap of that namespace and name (the first one, should a
# bundle repeat it). A function on purpose: callers look up a handful of ConfigMaps, and a
# rule-level index would be built for every check that imports this package.
configmap(ns, name) := found[0] if {
	found := [cm |
		some cm in k8s.objects_of_kind("ConfigMap")
		k8s.name(cm) == name
		k8s.namespace(cm) == ns
	]
	count(found) > 0
}

# configmap_text(cm): all data values of a ConfigMap joined, for substring searches.
configmap_text(cm) := concat("\n", [v | v := k8s.object_at(cm, "data")[_]; is_string(v)])
