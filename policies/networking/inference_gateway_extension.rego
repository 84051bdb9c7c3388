# METADATA
# title: Gateway API Inference Extension (InferencePool)
# description: >-
#   Inference traffic is routed by model-aware load balancing: the Gateway API Inference
#   Extension's InferencePool (inference.networking.k8s.io v1, or the older
#   inference.networking.x-k8s.io group, any version) groups the model-server pods, an
#   endpoint picker (EPP) chooses the pod for each request, HTTPRoutes send traffic to the
#   pool, and InferenceObjectives / InferenceModels set per-model priorities. A route or
#   objective that refers to a missing InferencePool (when the input holds every pool of that namespace),
#   and a pool whose selector matches none of the model-server pods in its namespace (when
#   that namespace's workloads are in the input), are violations.
# custom:
#   id: inference-gateway-extension
#   requirements:
#     whitepaper: []
#     cncf: [advanced_inference_ingress]
#   severity: medium
#   scope: platform
#   inputs:
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: inference.networking.k8s.io, resource: inferencepools}
#     - {group: inference.networking.x-k8s.io, resource: inferencepools}
#     - {group: inference.networking.x-k8s.io, resource: inferenceobjectives}
#     - {group: inference.networking.x-k8s.io, resource: inferencemodels}
#     - {group: inference.networking.k8s.io, resource: inferenceobjectives}
#     - {group: gateway.networking.k8s.io, resource: httproutes}
#     - {group: gateway.networking.k8s.io, resource: grpcroutes}
#     - {group: "", resource: services}
#     - {group: "", resource: pods}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: leaderworkerset.x-k8s.io, resource: leaderworkersets}
#   remediation: |-
#     Install the Inference Extension CRDs and a Gateway that supports them, deploy the
#     endpoint picker for your model servers (the `inferencepool` Helm chart does both),
#     and route to the pool:
#
#     ```yaml
#     apiVersion: inference.networking.k8s.io/v1
#     kind: InferencePool
#     metadata:
#       name: vllm-llama3-8b
#     spec:
#       selector:
#         matchLabels: {app: vllm-llama3-8b}
#       targetPorts:
#         - number: 8000
#       endpointPickerRef:
#         name: vllm-llama3-8b-epp
#         port: {number: 9002}
#     ---
#     apiVersion: gateway.networking.k8s.io/v1
#     kind: HTTPRoute
#     metadata:
#       name: llm-route
#     spec:
#       parentRefs: [{name: inference-gateway}]
#       rules:
#         - backendRefs:
#             - {group: inference.networking.k8s.io, kind: InferencePool, name: vllm-llama3-8b}
#     ```
#   docs:
#     - https://gateway-api-inference-extension.sigs.k8s.io/
#     - https://github.com/kubernetes-sigs/gateway-api-inference-extension
package kaic.networking.inference_gateway_extension

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.platform
import data.kaic.lib.workload_index as windex
import data.kaic.lib.pods

pool_groups := {"inference.networking.k8s.io", "inference.networking.x-k8s.io"}

_pools := platform.of_kind_in(pool_groups, "InferencePool")

_pool_keys := {concat("/", [k8s.namespace(p), k8s.name(p)]) | some p in _pools}

_pools_complete(ns) if {
	some g in pool_groups
	platform.complete_in(g, "inferencepools", "InferencePool", ns)
}

_routes := array.concat(
	platform.of_kind("gateway.networking.k8s.io", "HTTPRoute"),
	platform.of_kind("gateway.networking.k8s.io", "GRPCRoute"),
)

# Route backendRefs to InferencePools: {route, name, ns, field}.
_pool_refs contains {"route": r, "name": ref.name, "ns": k8s.as_string(object.get(ref, "namespace", k8s.namespace(r))), "field": sprintf("spec.rules[%d].backendRefs[%d]", [i, j])} if {
	some r in _routes
	some i, rule in k8s.array_at(k8s.object_at(r, "spec"), "rules")
	some j, ref in k8s.array_at(rule, "backendRefs")
	is_object(ref)
	ref.kind == "InferencePool"
	is_string(ref.name)
}

# InferenceObjective (and the older InferenceModel) poolRef: {obj, name}.
_objective_refs contains {"obj": o, "name": name} if {
	some kind in ["InferenceObjective", "InferenceModel"]
	some o in platform.of_kind_in(pool_groups, kind)
	name := k8s.string_at(k8s.object_at(k8s.object_at(o, "spec"), "poolRef"), "name")
	name != ""
}

_pool_exists(ns, name) if concat("/", [ns, name]) in _pool_keys

# The pool's label selector: v1 spec.selector.matchLabels, v1alpha2 a plain label map.
_selector(pool) := s if {
	s := pool.spec.selector.matchLabels
	is_object(s)
} else := s if {
	s := pool.spec.selector
	is_object(s)
	not s.matchLabels
}

# Label sets of pods per namespace, from every workload in the input.
_label_sets_by_ns[ns] contains lbls if {
	some t in windex.pod_templates
	t.w.kind != "PodTemplate"
	ns := k8s.namespace(t.w)
	some p in t.specs
	lbls := p.labels
}

_selects_pods(pool) if {
	some lbls in object.get(_label_sets_by_ns, k8s.namespace(pool), set())
	k8s.map_selects(_selector(pool), lbls)
}

_workloads_visible(ns) if {
	k8s.observed("", "pods")
}

_workloads_visible(ns) if {
	not k8s.is_live
	count(object.get(_label_sets_by_ns, ns, set())) > 0
}

# Endpoint picker: spec.endpointPickerRef (v1) or spec.extensionRef (v1alpha2).
_picker_name(pool) := n if {
	n := pool.spec.endpointPickerRef.name
	is_string(n)
} else := n if {
	n := pool.spec.extensionRef.name
	is_string(n)
}

_picker_deployments(pool) := [d |
	svc := _service(k8s.namespace(pool), _picker_name(pool))
	some d in platform.of_kind_by_ns("apps", "Deployment", k8s.namespace(pool))
	some s in pods.pod_label_sets(d)
	k8s.map_selects(svc.spec.selector, s.labels)
]

_service(ns, name) := platform.find("Service", ns, name)

# ---------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": platform.crd_ref(g, "inferencepools")} if {
	some g in pool_groups
	platform.kind_defined(g, "InferencePool")
	msg := sprintf("The InferencePool API (inferencepools.%s) is installed", [g])
}

evidence contains {"msg": msg, "ref": k8s.ref(pool)} if {
	some pool in _pools
	not _empty_pool(pool)
	msg := sprintf("%s load-balances model servers through endpoint picker %s", [k8s.describe(pool), _picker_text(pool)])
}

_picker_text(pool) := _picker_name(pool) if _picker_name(pool) else := "none"

evidence contains {"msg": msg, "ref": k8s.ref(d)} if {
	some pool in _pools
	some d in _picker_deployments(pool)
	msg := sprintf("%s runs the endpoint picker of %s", [k8s.describe(d), k8s.describe(pool)])
}

evidence contains {"msg": msg, "ref": k8s.ref(ref.route)} if {
	some ref in _pool_refs
	_pool_exists(ref.ns, ref.name)
	msg := sprintf("%s routes to InferencePool %s/%s", [k8s.describe(ref.route), ref.ns, ref.name])
}

evidence contains {"msg": msg, "ref": k8s.ref(ref.obj)} if {
	some ref in _objective_refs
	_pool_exists(k8s.namespace(ref.obj), ref.name)
	msg := sprintf("%s sets serving objectives for InferencePool %s", [k8s.describe(ref.obj), ref.name])
}

# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------

deny contains {"msg": msg, "ref": k8s.ref(ref.route), "field": ref.field} if {
	some ref in _pool_refs
	_pools_complete(ref.ns)
	not _pool_exists(ref.ns, ref.name)
	msg := sprintf("%s routes to InferencePool %s/%s, which does not exist; requests get 500 errors", [k8s.describe(ref.route), ref.ns, ref.name])
}

deny contains {"msg": msg, "ref": k8s.ref(ref.obj), "field": "spec.poolRef.name"} if {
	some ref in _objective_refs
	_pools_complete(k8s.namespace(ref.obj))
	not _pool_exists(k8s.namespace(ref.obj), ref.name)
	msg := sprintf("%s refers to InferencePool %s, which does not exist in namespace %s", [k8s.describe(ref.obj), ref.name, k8s.namespace(ref.obj)])
}

_empty_pool(pool) if {
	_selector(pool)
	_workloads_visible(k8s.namespace(pool))
	not _selects_pods(pool)
}

deny contains {"msg": msg, "ref": k8s.ref(pool), "field": "spec.selector"} if {
	some pool in _pools
	_empty_pool(pool)
	msg := sprintf("%s selects no model-server pods in namespace %s; the pool has no endpoints", [k8s.describe(pool), k8s.namespace(pool)])
}

# ---------------------------------------------------------------------------
# Advice
# ---------------------------------------------------------------------------

warn contains {"msg": msg, "ref": k8s.ref(pool), "field": "spec.endpointPickerRef"} if {
	some pool in _pools
	not _picker_name(pool)
	msg := sprintf("%s names no endpoint picker; requests are not balanced by model-server load", [k8s.describe(pool)])
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains {"msg": msg} if {
	missing := {concat("/", [r.ns, r.name]) | some r in _pool_refs; not _pools_complete(r.ns)}
	count(missing) > 0
	msg := sprintf("Routes send traffic to InferencePools (%s) that are not in the bundle; whether they exist can only be seen in a live scan", [concat(", ", sort(missing))])
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["apiextensions.k8s.io", "customresourcedefinitions"],
		["inference.networking.k8s.io", "inferencepools"],
		["inference.networking.x-k8s.io", "inferencepools"],
		["gateway.networking.k8s.io", "httproutes"],
		["", "pods"],
	])
}
