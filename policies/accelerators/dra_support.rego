# METADATA
# title: Dynamic Resource Allocation for accelerators
# description: >-
#   The platform serves the Dynamic Resource Allocation API (resource.k8s.io/v1) and a DRA
#   driver publishes accelerators: DeviceClasses, ResourceSlices and the driver's kubelet
#   plugin. DeviceClasses must not fight over one extended resource name, claims must use the
#   shape of the API version they are written for, and (in a live scan) every DeviceClass
#   must select a driver that publishes devices.
# custom:
#   id: dra-support
#   requirements:
#     whitepaper: [HW-1.1]
#     cncf: [dra_support]
#   severity: high
#   scope: platform
#   inputs:
#     - {group: resource.k8s.io, resource: deviceclasses}
#     - {group: resource.k8s.io, resource: resourceslices}
#     - {group: resource.k8s.io, resource: resourceclaims}
#     - {group: resource.k8s.io, resource: resourceclaimtemplates}
#     - {group: apps, resource: daemonsets}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#   remediation: |-
#     Run Kubernetes 1.34 or later (resource.k8s.io/v1 is GA) and install a DRA driver for
#     your accelerators (for NVIDIA GPUs the NVIDIA DRA driver, which publishes ResourceSlices
#     and the `gpu.nvidia.com` DeviceClass). Give every DeviceClass its own
#     `extendedResourceName`, and write claims in the v1 shape (`exactly`):
#
#     ```yaml
#     apiVersion: resource.k8s.io/v1
#     kind: ResourceClaimTemplate
#     metadata:
#       name: single-gpu
#     spec:
#       spec:
#         devices:
#           requests:
#             - name: gpu
#               exactly:
#                 deviceClassName: gpu.nvidia.com
#     ```
#   docs:
#     - https://kubernetes.io/docs/concepts/scheduling-eviction/dynamic-resource-allocation/
#     - https://github.com/NVIDIA/k8s-dra-driver-gpu
#     - https://github.com/kubernetes-sigs/dra-example-driver
package kaic.accelerators.dra_support

import rego.v1

import data.kaic.lib.accelerators as acc
import data.kaic.lib.k8s

_device_classes := acc.dra_objects("DeviceClass")

_slices := acc.dra_objects("ResourceSlice")

_claim_templates := acc.dra_objects("ResourceClaimTemplate")

_claims := acc.dra_objects("ResourceClaim")

_api_ref(version) := {
	"apiVersion": "apiregistration.k8s.io/v1",
	"kind": "APIService",
	"namespace": "",
	"name": sprintf("%s.%s", [version, acc.dra_group]),
}

# ---------------------------------------------------------------------------
# The API (live scans)
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": _api_ref("v1")} if {
	"v1" in acc.dra_served_versions
	msg := "The cluster serves the DRA API resource.k8s.io/v1 (DeviceClass, ResourceClaim, ResourceClaimTemplate, ResourceSlice)"
}

_beta_versions := {v | some v in acc.dra_served_versions; v != "v1"}

evidence contains {"msg": msg, "ref": _api_ref(max(_beta_versions))} if {
	not "v1" in acc.dra_served_versions
	count(_beta_versions) > 0
	msg := sprintf("The cluster serves the DRA API only at %s", [concat(", ", sort(_beta_versions))])
}

# Only beta: partial support. From Kubernetes 1.34 on, v1 is GA and the conformance tests
# require it; on older clusters beta is the best there is, so it is advice only.
deny contains {"msg": msg, "ref": _api_ref(max(_beta_versions)), "field": ""} if {
	not "v1" in acc.dra_served_versions
	count(_beta_versions) > 0
	_minor >= 34
	msg := sprintf(
		"resource.k8s.io/v1 is not served (only %s): DRA is GA since Kubernetes 1.34 and the conformance tests require the v1 API; enable it (feature gates / runtime-config) or upgrade",
		[concat(", ", sort(_beta_versions))],
	)
}

warn contains {"msg": msg, "ref": _api_ref(max(_beta_versions)), "field": ""} if {
	not "v1" in acc.dra_served_versions
	count(_beta_versions) > 0
	not _minor >= 34
	msg := sprintf("DRA is served only at %s; resource.k8s.io/v1 arrives with Kubernetes 1.34", [concat(", ", sort(_beta_versions))])
}

_minor := to_number(m) if {
	m := trim_suffix(k8s.string_at(k8s.object_at(k8s.cluster, "version"), "minor"), "+")
	regex.match(`^[0-9]+$`, m)
}

# ---------------------------------------------------------------------------
# Objects: device classes, published devices, drivers
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": k8s.ref(dc)} if {
	some dc in _device_classes
	drivers := acc.cel_drivers(dc)
	msg := sprintf("%s offers devices%s", [k8s.describe(dc), _drivers_note(drivers)])
}

_drivers_note(drivers) := sprintf(" of driver %s", [concat(", ", sort(drivers))]) if count(drivers) > 0 else := ""

evidence contains {"msg": msg, "ref": k8s.ref(s)} if {
	some s in _slices
	msg := sprintf("%s publishes %d device(s) of driver %q%s", [
		k8s.describe(s), count(acc.slice_devices(s)), acc.slice_driver(s), _node_note(s),
	])
}

_node_note(s) := sprintf(" on node %s", [n]) if {
	n := k8s.string_at(s, ["spec", "nodeName"])
	n != ""
} else := ""

evidence contains {"msg": msg, "ref": k8s.ref(c.object)} if {
	some c in acc.components_with_role("dra-driver")
	msg := sprintf("%s runs the %s (%s)", [k8s.describe(c.object), c.product, c.image])
}

evidence contains {"msg": msg, "ref": k8s.ref(t)} if {
	some t in array.concat(_claim_templates, _claims)
	not k8s.controller_in_input(t) # claims generated for a pod: its template already counts
	count(_requests(t)) > 0
	msg := sprintf("%s claims devices through DRA", [k8s.describe(t)])
}

# ---------------------------------------------------------------------------
# Misconfigurations
# ---------------------------------------------------------------------------

# KEP-5004: a DeviceClass may serve an extended resource name; only one class can own a
# name, so a second one leaves requests for it ambiguous (the NVIDIA DRA driver's MIG
# example warns about exactly this).
_extended_names[name] contains dc if {
	some dc in _device_classes
	name := k8s.string_at(dc, ["spec", "extendedResourceName"])
	name != ""
}

deny contains {"msg": msg, "ref": k8s.ref(dc), "field": "spec.extendedResourceName"} if {
	some name, classes in _extended_names
	count(classes) > 1
	some dc in classes
	others := sort([k8s.name(o) | some o in classes; o != dc])
	msg := sprintf(
		"%s maps extended resource %q, which DeviceClass(es) %s also map: only one DeviceClass can serve an extended resource name, so requests for it are ambiguous",
		[k8s.describe(dc), name, concat(", ", others)],
	)
}

# A DeviceClass serving an extended resource name that a device plugin also advertises:
# both would hand out the same GPUs.
deny contains {"msg": msg, "ref": k8s.ref(dc), "field": "spec.extendedResourceName"} if {
	some name, classes in _extended_names
	some dc in classes
	some plugin in acc.components_with_role("device-plugin")
	_plugin_resource(plugin, name)
	msg := sprintf(
		"%s maps extended resource %q, which %s (%s) also advertises: the device plugin and the DRA driver would allocate the same devices; disable the device plugin or pick another name",
		[k8s.describe(dc), name, k8s.describe(plugin.object), plugin.product],
	)
}

_plugin_resource(plugin, name) if {
	plugin.product == "NVIDIA device plugin"
	name == "nvidia.com/gpu"
}

_plugin_resource(plugin, name) if {
	plugin.product == "AMD GPU device plugin"
	name == "amd.com/gpu"
}

# resource.k8s.io/v1 moved the request fields under `exactly` (or `firstAvailable`); the
# v1beta1 shape (deviceClassName directly on the request) is rejected by the API server.
deny contains {"msg": msg, "ref": k8s.ref(obj), "field": field} if {
	some obj in array.concat(_claim_templates, _claims)
	k8s.api_version(obj) == "resource.k8s.io/v1"
	some r in _requests(obj)
	is_string(r.request.deviceClassName)
	not r.request.exactly
	field := sprintf("%s.deviceClassName", [r.path])
	msg := sprintf(
		"%s uses the v1beta1 request shape in resource.k8s.io/v1: request %q sets deviceClassName directly; in v1 it belongs under `exactly` (the API server rejects this object)",
		[k8s.describe(obj), k8s.as_string(r.request.name)],
	)
}

# Live: a DeviceClass selecting a driver that publishes no ResourceSlice can never be
# allocated; claims for it stay pending.
deny contains {"msg": msg, "ref": k8s.ref(dc), "field": "spec.selectors"} if {
	k8s.observed(acc.dra_group, "resourceslices")
	published := {acc.slice_driver(s) | some s in _slices}
	some dc in _device_classes
	drivers := acc.cel_drivers(dc)
	count(drivers) > 0
	count(drivers & published) == 0
	msg := sprintf(
		"%s selects driver %s, but no ResourceSlice of that driver is published: claims for this class cannot be allocated (is the DRA driver's kubelet plugin running?)",
		[k8s.describe(dc), concat(", ", sort(drivers))],
	)
}

# Device requests of a claim or claim template: [{"request", "path"}].
_requests(obj) := [{"request": r, "path": sprintf("%s[%d]", [base, i])} |
	# Destructured in two steps: rego-cpp 1.5.2 rejects an array pattern on a call with a
	# function argument here ("Unable to unify due to cycle"; docs/engines.md, bug 9).
	claim_spec := _claim_spec(obj)
	[spec, base] := claim_spec
	some i, r in k8s.array_at(spec, ["devices", "requests"])
	is_object(r)
]

_claim_spec(obj) := [k8s.object_at(k8s.object_at(obj, "spec"), "spec"), "spec.spec.devices.requests"] if {
	obj.kind == "ResourceClaimTemplate"
} else := [k8s.object_at(obj, "spec"), "spec.devices.requests"]

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains {"msg": msg} if {
	k8s.is_mode_manifests
	not _platform_evidence
	msg := "The bundle contains no DeviceClass, ResourceSlice or DRA driver; whether the cluster serves resource.k8s.io/v1 and publishes accelerators can only be seen in a live scan"
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		[acc.dra_group, "deviceclasses"],
		[acc.dra_group, "resourceslices"],
	])
}

_platform_evidence if count(_device_classes) > 0

_platform_evidence if count(_slices) > 0

_platform_evidence if count(acc.components_with_role("dra-driver")) > 0
