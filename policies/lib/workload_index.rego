# Per-query indexes of workloads shared by the scheduling and networking checks, so that
# pod specs are computed once per object and AI membership is a set lookup rather than a
# re-classification. Library package: no METADATA block.
#
# API:
#   pod_templates      [{"w", "specs"}]: every top-level object with pod specs (any kind
#                      kaic.lib.pods knows, AI or not) and its pods.pod_specs
#   ai_keys            set of object_key(w) for the AI workloads of kaic.lib.workloads
#   object_key(obj)    "Kind namespace/name", a cheap set key for an object
package kaic.lib.workload_index

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.pods
import data.kaic.lib.workloads


pod_templates := [{"w": w, "specs": specs} |
	some kind in pods.workload_kinds
	some w in k8s.objects_of_kind(kind)
	not k8s.controller_in_input(w)
	specs := pods.pod_specs(w)
	count(specs) > 0
]

object_key(obj) := concat("", [obj.kind, " ", k8s.namespace(obj), "/", k8s.display_name(obj)])

ai_keys := {object_key(w) | some w in workloads.ai_workloads}

