# METADATA
# title: GPUDirect Storage
# description: >-
#   The platform lets GPUs read and write storage directly (NVIDIA GPUDirect Storage): the
#   GPU Operator deploys the nvidia-fs kernel module with the driver (ClusterPolicy
#   `spec.gds.enabled: true`, or `spec.gds.enabled` on an NVIDIADriver), or an nvidia-fs
#   container runs on the nodes. GDS is installed as part of the operator-managed driver and
#   needs the open GPU kernel modules, so enabling it while the operator does not manage the
#   driver, or while the proprietary kernel modules are selected, is a misconfiguration.
# custom:
#   id: gpudirect-storage
#   requirements:
#     whitepaper: [STO-4.2]
#   severity: low
#   scope: platform
#   inputs:
#     - {group: nvidia.com, resource: clusterpolicies}
#     - {group: nvidia.com, resource: nvidiadrivers}
#     - {group: apps, resource: daemonsets}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#   remediation: |-
#     Enable GPUDirect Storage in the GPU Operator, with the operator managing the driver and
#     the open kernel modules (GPUDirect RDMA as well for remote storage):
#
#     ```yaml
#     # ClusterPolicy (nvidia.com/v1)
#     spec:
#       driver:
#         enabled: true
#         kernelModuleType: open
#         rdma:
#           enabled: true
#       gds:
#         enabled: true
#     ```
#   docs:
#     - https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/gpu-operator-rdma.html
#     - https://docs.nvidia.com/gpudirect-storage/
package kaic.storage.gpudirect_storage

import rego.v1

import data.kaic.lib.accelerators as acc
import data.kaic.lib.k8s

_gds_policies := [cp | some cp in acc.cluster_policies; acc.enabled(cp, "gds")]

_gds_drivers := [d | some d in acc.nvidia_drivers; acc.enabled(d, "gds")]

evidence contains {"msg": msg, "ref": k8s.ref(cp)} if {
	some cp in _gds_policies
	msg := sprintf("%s enables GPUDirect Storage (gds.enabled: nvidia-fs is loaded with the driver)%s", [k8s.describe(cp), _rdma_note(cp)])
}

_rdma_note(cp) := " and GPUDirect RDMA (driver.rdma.enabled)" if {
	k8s.object_at(acc.component(cp, "driver"), "rdma").enabled == true
} else := ""

evidence contains {"msg": msg, "ref": k8s.ref(d)} if {
	some d in _gds_drivers
	msg := sprintf("%s enables GPUDirect Storage (gds.enabled)", [k8s.describe(d)])
}

evidence contains {"msg": msg, "ref": k8s.ref(c.object)} if {
	some c in acc.components_with_role("gds")
	msg := sprintf("%s runs the %s (%s)", [k8s.describe(c.object), c.product, c.image])
}

# nvidia-fs runs beside the operator-managed driver: with driver.enabled false there is
# nothing to attach it to.
deny contains {"msg": msg, "ref": k8s.ref(cp), "field": "spec.driver.enabled"} if {
	some cp in _gds_policies
	acc.component(cp, "driver").enabled == false
	count(_gds_drivers) == 0
	msg := sprintf(
		"%s enables gds but disables the operator-managed driver (driver.enabled: false): the nvidia-fs module is deployed with the driver container, so GPUDirect Storage is not installed",
		[k8s.describe(cp)],
	)
}

# From GPU Operator v23.9.1 on, GDS (nvidia-fs 2.17.5+) is supported only with the open GPU
# kernel modules: driver.kernelModuleType (v25.3+) or the older driver.useOpenKernelModules.
deny contains {"msg": msg, "ref": k8s.ref(obj), "field": field} if {
	some item in _kernel_module_choices
	item.proprietary
	obj := item.object
	field := item.field
	msg := sprintf(
		"%s enables gds but selects the proprietary GPU kernel modules (%s): GPUDirect Storage requires the open kernel modules",
		[k8s.describe(obj), field],
	)
}

_kernel_module_choices contains {"object": cp, "field": "spec.driver.kernelModuleType", "proprietary": true} if {
	some cp in _gds_policies
	acc.component(cp, "driver").kernelModuleType == "proprietary"
}

_kernel_module_choices contains {"object": cp, "field": "spec.driver.useOpenKernelModules", "proprietary": true} if {
	some cp in _gds_policies
	driver := acc.component(cp, "driver")
	not driver.kernelModuleType
	driver.useOpenKernelModules == false
}

_kernel_module_choices contains {"object": d, "field": "spec.kernelModuleType", "proprietary": true} if {
	some d in _gds_drivers
	k8s.object_at(d, "spec").kernelModuleType == "proprietary"
}

# A bundle that shows no such capability is "No" (DESIGN: platform facts come only from the
# objects in the bundle), like every other platform check; a live scan decides for the cluster.

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["nvidia.com", "clusterpolicies"],
		["nvidia.com", "nvidiadrivers"],
	])
}
