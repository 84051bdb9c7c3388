# METADATA
# title: Virtualized accelerators (vGPU, GPU passthrough)
# description: >-
#   The platform offers virtualized accelerators: NVIDIA vGPU or PCI passthrough through the
#   GPU Operator's sandbox workloads (`sandboxWorkloads`, `vgpuManager`,
#   `vgpuDeviceManager`, `vfioManager`), NVIDIADriver objects of a vGPU driver type, KubeVirt
#   or OpenShift Virtualization (HyperConverged) permitted host and mediated devices, DRA
#   DeviceClasses for VFIO devices, and Nodes advertising vGPU resources. A vm-vgpu default
#   without the vGPU manager, a vGPU manager without sandbox workloads, and VMs asking for
#   devices that KubeVirt does not permit are misconfigurations. Often legitimately not
#   applicable on bare metal; static evidence only.
# custom:
#   id: virtualized-accelerator
#   requirements:
#     cncf: [virtualized_accelerator]
#   severity: low
#   scope: platform
#   inputs:
#     - {group: nvidia.com, resource: clusterpolicies}
#     - {group: nvidia.com, resource: nvidiadrivers}
#     - {group: kubevirt.io, resource: kubevirts}
#     - {group: kubevirt.io, resource: virtualmachines}
#     - {group: kubevirt.io, resource: virtualmachineinstances}
#     - {group: hco.kubevirt.io, resource: hyperconvergeds}
#     - {group: resource.k8s.io, resource: deviceclasses}
#     - {group: "", resource: nodes}
#   remediation: |-
#     Enable sandbox workloads in the GPU Operator and the component that matches the
#     workload type (vGPU manager for `vm-vgpu`, VFIO manager for `vm-passthrough`), and
#     permit the devices in KubeVirt:
#
#     ```yaml
#     # ClusterPolicy (nvidia.com/v1)
#     spec:
#       sandboxWorkloads:
#         enabled: true
#         defaultWorkload: vm-vgpu
#       vgpuManager:
#         enabled: true
#         repository: registry.example.com/nvidia
#         image: vgpu-manager
#         version: "550.90.05"
#     ---
#     # KubeVirt (kubevirt.io/v1) spec.configuration
#     permittedHostDevices:
#       mediatedDevices:
#         - mdevNameSelector: NVIDIA A10-24Q
#           resourceName: nvidia.com/NVIDIA_A10-24Q
#           externalResourceProvider: true
#     ```
#   docs:
#     - https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/gpu-operator-kubevirt.html
#     - https://kubevirt.io/user-guide/compute/host-devices/
#     - https://github.com/NVIDIA/k8s-dra-driver-gpu
package kaic.accelerators.virtualized_accelerator

import rego.v1

import data.kaic.lib.accelerators as acc
import data.kaic.lib.k8s

# ---------------------------------------------------------------------------
# GPU Operator sandbox workloads
# ---------------------------------------------------------------------------

_sandbox_enabled(cp) if acc.enabled(cp, "sandboxWorkloads")

_default_workload(cp) := w if {
	w := acc.component(cp, "sandboxWorkloads").defaultWorkload
	is_string(w)
} else := "container"

evidence contains {"msg": msg, "ref": k8s.ref(cp)} if {
	some cp in acc.cluster_policies
	_sandbox_enabled(cp)
	parts := [label |
		some pair in [["vgpuManager", "vGPU manager"], ["vgpuDeviceManager", "vGPU device manager"], ["vfioManager", "VFIO manager"]]
		_component_on(cp, pair[0])
		label := pair[1]
	]
	msg := sprintf("%s runs GPUs for virtual machines (sandboxWorkloads, default workload %s%s)", [
		k8s.describe(cp), _default_workload(cp), _parts_note(parts),
	])
}

# vGPU manager is opt-in; the device and VFIO managers default to on.
_component_on(cp, "vgpuManager") if acc.enabled(cp, "vgpuManager")

_component_on(cp, key) if {
	key in {"vgpuDeviceManager", "vfioManager"}
	acc.not_disabled(cp, key)
}

_parts_note(parts) := sprintf("; %s", [concat(", ", parts)]) if count(parts) > 0 else := ""

deny contains {"msg": msg, "ref": k8s.ref(cp), "field": "spec.vgpuManager.enabled"} if {
	some cp in acc.cluster_policies
	_sandbox_enabled(cp)
	_default_workload(cp) == "vm-vgpu"
	not acc.enabled(cp, "vgpuManager")
	msg := sprintf(
		"%s makes vm-vgpu the default sandbox workload but does not enable the vGPU manager: no vGPU host driver is installed and no vGPU can be created",
		[k8s.describe(cp)],
	)
}

deny contains {"msg": msg, "ref": k8s.ref(cp), "field": "spec.sandboxWorkloads.enabled"} if {
	some cp in acc.cluster_policies
	acc.enabled(cp, "vgpuManager")
	not _sandbox_enabled(cp)
	msg := sprintf(
		"%s enables the vGPU manager but not sandboxWorkloads: the operator deploys the vGPU components only for sandbox (VM) workloads, so no vGPU is offered",
		[k8s.describe(cp)],
	)
}

evidence contains {"msg": msg, "ref": k8s.ref(d)} if {
	some d in acc.nvidia_drivers
	t := k8s.string_at(d, ["spec", "driverType"])
	t in {"vgpu", "vgpu-host-manager"}
	msg := sprintf("%s installs the NVIDIA %s driver", [k8s.describe(d), t])
}

# ---------------------------------------------------------------------------
# KubeVirt and OpenShift Virtualization
# ---------------------------------------------------------------------------

# [{"object", "config", "path"}]: where each CR keeps permittedHostDevices.
_virt_configs := array.concat(
	[{"object": kv, "config": k8s.object_at(kv, ["spec", "configuration"]), "path": "spec.configuration"} |
		some kv in k8s.objects_of_kind("KubeVirt")
		k8s.group(kv) == "kubevirt.io"
	],
	[{"object": hco, "config": k8s.object_at(hco, "spec"), "path": "spec"} |
		some hco in k8s.objects_of_kind("HyperConverged")
		k8s.group(hco) == "hco.kubevirt.io"
	],
)

_permitted(cfg) := {name |
	some key in ["pciHostDevices", "mediatedDevices", "usb"]
	some d in k8s.array_at(k8s.object_at(cfg.config, "permittedHostDevices"), key)
	name := k8s.string_at(d, "resourceName")
	name != ""
}

evidence contains {"msg": msg, "ref": k8s.ref(cfg.object)} if {
	some cfg in _virt_configs
	names := _permitted(cfg)
	count(names) > 0
	msg := sprintf("%s permits host devices for virtual machines: %s", [k8s.describe(cfg.object), concat(", ", sort(names))])
}

evidence contains {"msg": msg, "ref": k8s.ref(cfg.object)} if {
	some cfg in _virt_configs
	types := k8s.array_at(k8s.object_at(cfg.config, "mediatedDevicesConfiguration"), "mediatedDeviceTypes")
	count(types) > 0
	msg := sprintf("%s creates mediated (vGPU) devices of type %s", [k8s.describe(cfg.object), concat(", ", [sprintf("%v", [t]) | some t in types])])
}

# VMs asking for GPUs or host devices KubeVirt does not permit stay unschedulable.
_vm_devices contains {"vm": vm, "name": name, "field": field} if {
	some kind in ["VirtualMachine", "VirtualMachineInstance"]
	some vm in k8s.objects_of_kind(kind)
	k8s.group(vm) == "kubevirt.io"
	[domain, base] := _domain(vm)
	some key in ["gpus", "hostDevices"]
	some i, d in k8s.array_at(k8s.object_at(domain, "devices"), key)
	name := k8s.string_at(d, "deviceName")
	name != ""
	field := sprintf("%s.devices.%s[%d].deviceName", [base, key, i])
}

_domain(vm) := [k8s.object_at(k8s.object_at(k8s.object_at(k8s.object_at(vm, "spec"), "template"), "spec"), "domain"), "spec.template.spec.domain"] if {
	vm.kind == "VirtualMachine"
} else := [k8s.object_at(k8s.object_at(vm, "spec"), "domain"), "spec.domain"]

evidence contains {"msg": msg, "ref": k8s.ref(d.vm)} if {
	some d in _vm_devices
	msg := sprintf("%s uses host device %s", [k8s.describe(d.vm), d.name])
}

deny contains {"msg": msg, "ref": k8s.ref(d.vm), "field": d.field} if {
	count(_virt_configs) > 0
	permitted := {n | some cfg in _virt_configs; some n in _permitted(cfg)}
	count(permitted) > 0
	some d in _vm_devices
	not d.name in permitted
	msg := sprintf(
		"%s asks for device %s, which is not in permittedHostDevices (%s): the VM cannot be scheduled",
		[k8s.describe(d.vm), d.name, concat(", ", sort(permitted))],
	)
}

# ---------------------------------------------------------------------------
# DRA and Nodes
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": k8s.ref(dc)} if {
	some dc in acc.dra_objects("DeviceClass")
	_vfio_class(dc)
	msg := sprintf("%s allocates GPUs for passthrough (VFIO) through DRA", [k8s.describe(dc)])
}

_vfio_class(dc) if contains(k8s.name(dc), "vfio")

_vfio_class(dc) if {
	some sel in k8s.array_at(dc, ["spec", "selectors"])
	contains(k8s.string_at(sel, ["cel", "expression"]), "vfio")
}

evidence contains {"msg": msg, "ref": k8s.ref(node)} if {
	some node in k8s.objects_of_kind("Node")
	names := {n |
		some section in ["capacity", "allocatable"]
		some n, _ in k8s.object_at(k8s.object_at(node, "status"), section)
		regex.match(`^nvidia\.com/(GRID_|NVIDIA_)`, n)
	}
	count(names) > 0
	msg := sprintf("%s advertises virtualized GPUs %s", [k8s.describe(node), concat(", ", sort(names))])
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains {"msg": msg} if {
	k8s.is_mode_manifests
	count(evidence) == 0
	msg := "The bundle shows no vGPU, GPU passthrough or KubeVirt host-device configuration; whether the cluster offers virtualized accelerators can only be seen in a live scan (not applicable on bare-metal-only platforms)"
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["nvidia.com", "clusterpolicies"],
		["kubevirt.io", "kubevirts"],
		["hco.kubevirt.io", "hyperconvergeds"],
		["", "nodes"],
	])
}
