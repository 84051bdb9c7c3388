package kaic.accelerators.virtualized_accelerator_test

import rego.v1

import data.kaic.accelerators.virtualized_accelerator as check
import data.kaic.lib.testing

_cp(spec) := {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "cluster-policy"}, "spec": spec}

_kubevirt(devices) := {
	"apiVersion": "kubevirt.io/v1",
	"kind": "KubeVirt",
	"metadata": {"name": "kubevirt", "namespace": "kubevirt"},
	"spec": {"configuration": {"permittedHostDevices": devices}},
}

_hco(devices) := {
	"apiVersion": "hco.kubevirt.io/v1beta1",
	"kind": "HyperConverged",
	"metadata": {"name": "kubevirt-hyperconverged", "namespace": "openshift-cnv"},
	"spec": {"permittedHostDevices": devices, "mediatedDevicesConfiguration": {"mediatedDeviceTypes": ["nvidia-745"]}},
}

_pci := {"pciHostDevices": [{"pciVendorSelector": "10DE:2236", "resourceName": "nvidia.com/GA102GL_A10", "externalResourceProvider": true}]}

_vm(device) := {
	"apiVersion": "kubevirt.io/v1",
	"kind": "VirtualMachine",
	"metadata": {"name": "vm-gpu", "namespace": "vms"},
	"spec": {"template": {"spec": {"domain": {"devices": {"gpus": [{"name": "gpu1", "deviceName": device}]}}}}},
}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"vGPU sandbox workloads": {
		"input": testing.manifests([_cp({"sandboxWorkloads": {"enabled": true, "defaultWorkload": "vm-vgpu"}, "vgpuManager": {"enabled": true}})]),
		"want": {"deny": 0, "evidence": 1, "unknown": 0},
	},
	"passthrough sandbox workloads": {
		"input": testing.manifests([_cp({"sandboxWorkloads": {"enabled": true, "defaultWorkload": "vm-passthrough"}})]),
		"want": {"deny": 0, "evidence": 1},
	},
	"vm-vgpu without the vGPU manager": {
		"input": testing.manifests([_cp({"sandboxWorkloads": {"enabled": true, "defaultWorkload": "vm-vgpu"}})]),
		"want": {"deny": 1, "evidence": 1},
	},
	"vGPU manager without sandbox workloads": {
		"input": testing.manifests([_cp({"vgpuManager": {"enabled": true}})]),
		"want": {"deny": 1, "evidence": 0},
	},
	"default ClusterPolicy is not evidence": {
		"input": testing.manifests([_cp({"driver": {"enabled": true}})]),
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
	},
	"KubeVirt permits a GPU used by a VM": {
		"input": testing.manifests([_kubevirt(_pci), _vm("nvidia.com/GA102GL_A10")]),
		"want": {"deny": 0, "evidence": 2},
	},
	"VM asks for a device KubeVirt does not permit": {
		"input": testing.manifests([_kubevirt(_pci), _vm("nvidia.com/TU104GL_Tesla_T4")]),
		"want": {"deny": 1, "evidence": 2},
	},
	"HyperConverged with mediated devices": {
		"input": testing.manifests([_hco({"mediatedDevices": [{"mdevNameSelector": "NVIDIA A10-24Q", "resourceName": "nvidia.com/NVIDIA_A10-24Q"}]})]),
		"want": {"deny": 0, "evidence": 2},
	},
	"vGPU host NVIDIADriver": {
		"input": testing.manifests([{"apiVersion": "nvidia.com/v1alpha1", "kind": "NVIDIADriver", "metadata": {"name": "vgpu"}, "spec": {"driverType": "vgpu-host-manager"}}]),
		"want": {"deny": 0, "evidence": 1},
	},
	"VFIO DeviceClass": {
		"input": testing.manifests([{"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "vfio.gpu.nvidia.com"}, "spec": {}}]),
		"want": {"deny": 0, "evidence": 1},
	},
	"node advertising vGPUs": {
		"input": testing.cluster([{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "status": {"allocatable": {"nvidia.com/GRID_A100-4C": "7"}}}], [], []),
		"want": {"deny": 0, "evidence": 1},
	},
	"empty bundle": {
		"input": testing.manifests([]),
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
	},
	"empty live cluster": {
		"input": testing.cluster([], [], []),
		"want": {"deny": 0, "evidence": 0, "unknown": 0},
	},
	"odd types": {
		"input": testing.manifests([
			_cp({"sandboxWorkloads": 5, "vgpuManager": "x"}),
			_kubevirt(5),
			{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "v"}, "spec": {"template": {"spec": {"domain": {"devices": {"gpus": [5, {"deviceName": 3}]}}}}}},
		]),
		"want": {"deny": 0},
	},
}

failures contains msg if {
	some name, tc in _cases
	got := _results(tc.input)
	some msg in testing.count_mismatches(name, got, tc.want)
}

failures contains msg if {
	some name, tc in _cases
	not _results(tc.input)
	msg := sprintf("%s: the check could not be evaluated", [name])
}

test_cases if count(failures) == 0

test_vm_device_points_at_the_device_name if {
	denies := check.deny with input as testing.manifests([_kubevirt(_pci), _vm("nvidia.com/TU104GL_Tesla_T4")])
	[d.field | some d in denies] == ["spec.template.spec.domain.devices.gpus[0].deviceName"]
}

test_conftest_combine_input if {
	got := _results(testing.combined([_cp({"vgpuManager": {"enabled": true}})]))
	count(got.deny) == 1
}
