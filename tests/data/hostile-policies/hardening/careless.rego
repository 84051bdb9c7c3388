# METADATA
# title: Careless reader (test only)
# description: >-
#   Reads the fields real checks read (labels, pod templates, containers, images, runtime
#   class), echoes object names into messages and refs, and guards nothing: the fuzz suite
#   runs it over mutated manifests.
# custom:
#   id: hardening-careless
#   requirements:
#     whitepaper: [SEC-5.3, WL-2.1]
#     cncf: [ai_inference]
#   severity: high
#   scope: workload
package kaic.hardening.careless

import rego.v1

pod_specs contains [o, o.spec] if {
	some o in input.objects
	o.kind == "Pod"
}

pod_specs contains [o, o.spec.template.spec] if {
	some o in input.objects
	o.kind in {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}
}

pod_specs contains [o, o.spec.jobTemplate.spec.template.spec] if {
	some o in input.objects
	o.kind == "CronJob"
}

deny contains {
	"msg": sprintf("%s %s: container %v has no runtimeClassName (labels %v)", [o.kind, o.metadata.name, c.name, object.get(o.metadata, "labels", {})]),
	"ref": {"apiVersion": o.apiVersion, "kind": o.kind, "namespace": object.get(o.metadata, "namespace", ""), "name": o.metadata.name},
	"field": "spec.template.spec.runtimeClassName",
} if {
	some [o, spec] in pod_specs
	some c in spec.containers
	not spec.runtimeClassName
}

evidence contains {"msg": sprintf("RuntimeClass %v (handler %v)", [o.metadata.name, o.handler]), "ref": {"kind": o.kind, "name": o.metadata.name}} if {
	some o in input.objects
	o.kind == "RuntimeClass"
}

warn contains {"msg": sprintf("image %v is not pinned", [c.image]), "ref": {"kind": o.kind, "name": o.metadata.name}, "field": "spec.containers"} if {
	some [o, spec] in pod_specs
	some c in spec.containers
	not contains(c.image, "@sha256:")
}
