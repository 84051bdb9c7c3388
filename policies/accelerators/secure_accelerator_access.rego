# METADATA
# title: Accelerator access only through the device plugin or DRA
# description: >-
#   Accelerators are mediated by a device plugin or a DRA driver, so a container sees only
#   the devices allocated to it. The offline red flags that bypass this isolation are
#   reported: hostPath mounts of accelerator device nodes (/dev/nvidia*, /dev/dri,
#   /dev/kfd, /dev/accel, /dev/neuron*, /dev/vfio), `NVIDIA_VISIBLE_DEVICES` set by hand in a
#   container that requests no GPU, privileged AI containers (which see every device of the
#   node) and CAP_SYS_ADMIN on pods that use accelerators. Accelerator infrastructure
#   (device plugins, DRA drivers, exporters, driver containers) is exempt: it needs the devices.
# custom:
#   id: secure-accelerator-access
#   requirements:
#     cncf: [secure_accelerator_access]
#   severity: high
#   scope: workload
#   inputs:
#     - {group: "", resource: nodes}
#     - {group: "", resource: pods}
#     - {group: "", resource: podtemplates}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: apps, resource: daemonsets}
#     - {group: apps, resource: replicasets}
#     - {group: batch, resource: jobs}
#     - {group: batch, resource: cronjobs}
#     - {group: jobset.x-k8s.io, resource: jobsets}
#     - {group: leaderworkerset.x-k8s.io, resource: leaderworkersets}
#     - {group: kubeflow.org, resource: pytorchjobs}
#     - {group: kubeflow.org, resource: tfjobs}
#     - {group: kubeflow.org, resource: mpijobs}
#     - {group: trainer.kubeflow.org, resource: trainjobs}
#     - {group: ray.io, resource: rayclusters}
#     - {group: ray.io, resource: rayjobs}
#     - {group: ray.io, resource: rayservices}
#     - {group: serving.kserve.io, resource: inferenceservices}
#     - {group: serving.kserve.io, resource: llminferenceservices}
#     - {group: resource.k8s.io, resource: deviceclasses}
#     - {group: resource.k8s.io, resource: resourceslices}
#     - {group: nvidia.com, resource: clusterpolicies}
#   remediation: |-
#     Request accelerators through the device plugin (`resources.limits`) or a DRA claim and
#     let the runtime inject exactly the allocated devices. Remove hostPath mounts of
#     `/dev/nvidia*`, `NVIDIA_VISIBLE_DEVICES` from pod specs, `privileged: true` and
#     `SYS_ADMIN` from GPU containers:
#
#     ```yaml
#     containers:
#       - name: trainer
#         image: nvcr.io/nvidia/pytorch:25.01-py3
#         resources:
#           limits:
#             nvidia.com/gpu: 1
#         securityContext:
#           privileged: false
#           capabilities:
#             drop: ["ALL"]
#     ```
#
#     On the nodes, set the NVIDIA Container Toolkit's
#     `accept-nvidia-visible-devices-envvar-when-unprivileged = false` and
#     `accept-nvidia-visible-devices-as-volume-mounts = true`, so the variable cannot select
#     devices.
#   docs:
#     - https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/docker-specialized.html
#     - https://kubernetes.io/docs/concepts/scheduling-eviction/dynamic-resource-allocation/
#     - https://github.com/NVIDIA/k8s-device-plugin
package kaic.accelerators.secure_accelerator_access

import rego.v1

import data.kaic.lib.accelerators as acc
import data.kaic.lib.k8s
import data.kaic.lib.workload_index as windex
import data.kaic.lib.workloads

# ---------------------------------------------------------------------------
# Platform: device access is mediated
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": k8s.ref(c.object)} if {
	some role in ["device-plugin", "dra-driver"]
	some c in acc.components_with_role(role)
	msg := sprintf("%s runs the %s: containers get only the accelerators allocated to them", [k8s.describe(c.object), c.product])
}

evidence contains {"msg": msg, "ref": k8s.ref(cp)} if {
	some cp in acc.cluster_policies
	acc.not_disabled(cp, "devicePlugin")
	msg := sprintf("%s deploys the NVIDIA device plugin, which allocates GPUs to containers", [k8s.describe(cp)])
}

evidence contains {"msg": msg, "ref": k8s.ref(dc)} if {
	some dc in acc.dra_objects("DeviceClass")
	msg := sprintf("%s: devices of this class are allocated through DRA claims", [k8s.describe(dc)])
}

evidence contains {"msg": msg, "ref": k8s.ref(node)} if {
	some node in k8s.objects_of_kind("Node")
	names := acc.node_accelerators(node)
	count(names) > 0
	msg := sprintf("%s advertises %s as allocatable extended resources", [k8s.describe(node), concat(", ", sort(names))])
}

# ---------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------

# Every top-level pod-carrying object that is not accelerator infrastructure.
_subjects := [{"object": t.w, "specs": t.specs} |
	some t in windex.pod_templates
	not acc.is_component(t.w)
]

_containers contains {"object": s.object, "pod": p, "c": c} if {
	some s in _subjects
	some p in s.specs
	some key in ["initContainers", "containers", "ephemeralContainers"]
	some i, container in k8s.array_at(p.spec, key)
	is_object(container)
	c := {"container": container, "path": k8s.index_path(p.path, key, i), "name": k8s.string_at(container, "name")}
}

_device_path := `^/dev/(nvidia|dri|kfd|accel|neuron|vfio|davinci)`

_device_volumes(spec) := {v.name: path |
	some v in k8s.array_at(spec, "volumes")
	is_string(v.name)
	path := k8s.string_at(k8s.object_at(v, "hostPath"), "path")
	_is_device_path(path)
}

_is_device_path(path) if regex.match(_device_path, path)

_container_requests(item) if count(acc.container_accelerators(item.c.container)) > 0

_container_requests(item) if count(k8s.array_at(k8s.object_at(item.c.container, "resources"), "claims")) > 0

_request_note(item) := "even though it requests accelerators, the mount exposes devices beyond its allocation" if {
	_container_requests(item)
} else := "and requests no accelerator, so it uses GPUs the scheduler never allocated to it"

deny contains {"msg": msg, "ref": k8s.ref(item.object), "field": sprintf("%s.volumeMounts[%d]", [item.c.path, j])} if {
	some item in _containers
	mounts := k8s.array_at(item.c.container, "volumeMounts")
	count(mounts) > 0
	volumes := _device_volumes(item.pod.spec)
	some j, m in mounts
	path := volumes[m.name]
	msg := sprintf(
		"%s: container %q mounts host device %s (hostPath) %s; device access must go through the device plugin or DRA",
		[k8s.describe(item.object), item.c.name, path, _request_note(item)],
	)
}

# The whole /dev of the host in an AI workload.
deny contains {"msg": msg, "ref": k8s.ref(item.object), "field": sprintf("%s.volumeMounts[%d]", [item.c.path, j])} if {
	some item in _containers
	some v in k8s.array_at(item.pod.spec, "volumes")
	trim_suffix(k8s.string_at(k8s.object_at(v, "hostPath"), "path"), "/") == "/dev"
	some j, m in k8s.array_at(item.c.container, "volumeMounts")
	m.name == v.name
	workloads.is_ai_workload(item.object)
	msg := sprintf("%s: container %q mounts the host's /dev, which includes every accelerator device of the node", [k8s.describe(item.object), item.c.name])
}

# NVIDIA_VISIBLE_DEVICES in a container without a GPU request: with the toolkit's default
# settings the NVIDIA runtime hands the listed (or all) GPUs to it.
deny contains {"msg": msg, "ref": k8s.ref(item.object), "field": sprintf("%s.env[%d]", [item.c.path, k])} if {
	some item in _containers
	some k, value in _visible_devices(item)
	not _container_requests(item)
	msg := sprintf(
		"%s: container %q sets NVIDIA_VISIBLE_DEVICES=%s without requesting a GPU: the NVIDIA runtime exposes those GPUs outside the scheduler's allocation",
		[k8s.describe(item.object), item.c.name, value],
	)
}

warn contains {"msg": msg, "ref": k8s.ref(item.object), "field": sprintf("%s.env[%d]", [item.c.path, k])} if {
	some item in _containers
	some k, value in _visible_devices(item)
	_container_requests(item)
	msg := sprintf(
		"%s: container %q requests accelerators and also sets NVIDIA_VISIBLE_DEVICES=%s; leave device selection to the device plugin or DRA driver",
		[k8s.describe(item.object), item.c.name, value],
	)
}

_visible_devices(item) := {k: value |
	some k, e in k8s.array_at(item.c.container, "env")
	e.name == "NVIDIA_VISIBLE_DEVICES"
	value := k8s.string_at(e, "value")
	not lower(value) in {"", "none", "void"}
}

# Privileged containers see every device node of the host.
deny contains {"msg": msg, "ref": k8s.ref(item.object), "field": sprintf("%s.securityContext.privileged", [item.c.path])} if {
	some item in _containers
	k8s.object_at(item.c.container, "securityContext").privileged == true
	_gpu_related(item)
	msg := sprintf(
		"%s: container %q is privileged, so it sees every accelerator on the node regardless of what was allocated to it",
		[k8s.describe(item.object), item.c.name],
	)
}

# CAP_SYS_ADMIN on a pod that uses accelerators.
deny contains {"msg": msg, "ref": k8s.ref(item.object), "field": sprintf("%s.securityContext.capabilities.add[%d]", [item.c.path, i])} if {
	some item in _containers
	some i, cap in k8s.array_at(k8s.object_at(k8s.object_at(item.c.container, "securityContext"), "capabilities"), "add")
	upper(k8s.as_string(cap)) in {"SYS_ADMIN", "CAP_SYS_ADMIN", "ALL"}
	acc.pod_requests_accelerators(item.pod.spec)
	msg := sprintf(
		"%s: container %q adds capability %s in a pod that uses accelerators; it can reconfigure or reach devices beyond its allocation",
		[k8s.describe(item.object), item.c.name, cap],
	)
}

_gpu_related(item) if workloads.is_ai_workload(item.object)

_gpu_related(item) if acc.pod_requests_accelerators(item.pod.spec)

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains {"msg": msg} if {
	k8s.is_mode_manifests
	not _platform_evidence
	msg := "The bundle contains no device plugin, DRA driver or GPU Operator; whether the cluster mediates accelerator access can only be seen in a live scan (the official test runs pods with and without claims)"
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([["", "nodes"], ["apps", "daemonsets"], [acc.dra_group, "deviceclasses"]])
}

_platform_evidence if {
	some role in ["device-plugin", "dra-driver"]
	count(acc.components_with_role(role)) > 0
}

_platform_evidence if count(acc.cluster_policies) > 0

_platform_evidence if count(acc.dra_objects("DeviceClass")) > 0

_platform_evidence if {
	some node in k8s.objects_of_kind("Node")
	count(acc.node_accelerators(node)) > 0
}
