# METADATA
# title: AI workloads request accelerators through DRA
# description: >-
#   The whitepaper requires accelerators to be managed through Dynamic Resource Allocation,
#   which replaces the device-plugin model: AI workloads claim GPUs with ResourceClaims
#   (pod `resourceClaims` and container `resources.claims`), not with device-plugin extended
#   resources such as `nvidia.com/gpu` in `resources.limits`. An extended resource counts as
#   DRA when a DeviceClass in the input serves it (`spec.extendedResourceName`, KEP-5004).
#   Container claims must name a claim of their pod, or the API server rejects the pod.
# custom:
#   id: dra-device-requests
#   requirements:
#     whitepaper: [HW-1.1]
#   severity: medium
#   scope: workload
#   inputs:
#     - {group: resource.k8s.io, resource: deviceclasses}
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
#     - {group: trainer.kubeflow.org, resource: trainingruntimes}
#     - {group: trainer.kubeflow.org, resource: clustertrainingruntimes}
#     - {group: trainer.kubeflow.org, resource: trainjobs}
#     - {group: ray.io, resource: rayclusters}
#     - {group: ray.io, resource: rayjobs}
#     - {group: ray.io, resource: rayservices}
#     - {group: serving.kserve.io, resource: inferenceservices}
#     - {group: serving.kserve.io, resource: llminferenceservices}
#   remediation: |-
#     Replace device-plugin requests (`limits: {nvidia.com/gpu: 1}`) with a DRA claim: a
#     ResourceClaimTemplate for the device class, referenced from the pod and the container:
#
#     ```yaml
#     spec:
#       resourceClaims:
#         - name: gpu
#           resourceClaimTemplateName: single-gpu
#       containers:
#         - name: trainer
#           resources:
#             claims:
#               - name: gpu
#     ```
#
#     Clusters on Kubernetes 1.34+ can instead keep the extended resource name and let a
#     DeviceClass serve it (`spec.extendedResourceName: nvidia.com/gpu`) once the device
#     plugin is removed.
#   docs:
#     - https://kubernetes.io/docs/concepts/scheduling-eviction/dynamic-resource-allocation/
#     - https://github.com/kubernetes/enhancements/tree/master/keps/sig-scheduling/5004-dra-extended-resource
package kaic.accelerators.dra_device_requests

import rego.v1

import data.kaic.lib.accelerators as acc
import data.kaic.lib.k8s
import data.kaic.lib.pods
import data.kaic.lib.workloads

# Extended resource names a DeviceClass in the input serves through DRA.
_dra_extended := {name |
	some dc in acc.dra_objects("DeviceClass")
	name := k8s.string_at(dc, ["spec", "extendedResourceName"])
	name != ""
}

# One entry per AI workload container: where its accelerator requests sit.
_containers contains {"workload": w, "c": c} if {
	some w in workloads.ai_workloads
	some c in pods.containers(w)
}

_plugin_requests(c) := {name |
	some name in acc.container_accelerators(c.container)
	not name in _dra_extended
}

# The section to point at: limits when the name is there (extended resources must be set
# in limits), else requests.
_section(c, names) := "limits" if {
	some name in names
	_ = k8s.object_at(k8s.object_at(c.container, "resources"), "limits")[name]
} else := "requests"

deny contains {"msg": msg, "ref": k8s.ref(w), "field": field} if {
	some item in _containers
	w := item.workload
	c := item.c
	not k8s.unreadable(acc.dra_group, "deviceclasses")
	names := _plugin_requests(c)
	count(names) > 0
	section := _section(c, names)
	field := sprintf("%s.resources.%s", [c.path, section])
	msg := sprintf(
		"%s: container %q requests %s through the device plugin (resources.%s) instead of a DRA resource claim; the whitepaper (HW-1.1) requires accelerators to be managed through DRA: use resources.claims with a ResourceClaimTemplate, or a DeviceClass that serves this name (extendedResourceName)",
		[k8s.describe(w), c.name, concat(", ", sort(names)), section],
	)
}

# A container claim must name one of the pod's resourceClaims.
deny contains {"msg": msg, "ref": k8s.ref(w), "field": field} if {
	some item in _containers
	w := item.workload
	c := item.c
	c.type != "model"
	claims := k8s.array_at(k8s.object_at(c.container, "resources"), "claims")
	count(claims) > 0
	pod_claims := _pod_claim_names(w, c.pod_path)
	some j, claim in claims
	name := k8s.string_at(claim, "name")
	not name in pod_claims
	field := sprintf("%s.resources.claims[%d]", [c.path, j])
	msg := sprintf(
		"%s: container %q uses resource claim %q, which is not in the pod's spec.resourceClaims; the API server rejects the pod",
		[k8s.describe(w), c.name, name],
	)
}

_pod_claim_names(w, pod_path) := {n |
	some p in pods.pod_specs(w)
	p.path == pod_path
	some rc in k8s.array_at(p.spec, "resourceClaims")
	n := k8s.string_at(rc, "name")
}

evidence contains {"msg": msg, "ref": k8s.ref(w)} if {
	some w in workloads.ai_workloads
	some p in pods.pod_specs(w)
	claims := [n | some rc in k8s.array_at(p.spec, "resourceClaims"); n := _claim_source(rc)]
	count(claims) > 0
	msg := sprintf("%s requests devices through DRA claims (%s: %s)", [k8s.describe(w), p.path, concat(", ", claims)])
}

_claim_source(rc) := sprintf("template %s", [t]) if {
	t := k8s.string_at(rc, "resourceClaimTemplateName")
	t != ""
} else := sprintf("claim %s", [n]) if {
	n := k8s.string_at(rc, "resourceClaimName")
	n != ""
} else := k8s.string_at(rc, "name")

evidence contains {"msg": msg, "ref": k8s.ref(w)} if {
	some item in _containers
	w := item.workload
	c := item.c
	names := acc.container_accelerators(c.container) & _dra_extended
	count(names) > 0
	msg := sprintf("%s: container %q requests %s, which a DeviceClass serves through DRA", [k8s.describe(w), c.name, concat(", ", sort(names))])
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([[acc.dra_group, "deviceclasses"]])
}
