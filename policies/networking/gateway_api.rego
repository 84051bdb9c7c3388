# METADATA
# title: Gateway API for inference traffic
# description: >-
#   The platform provides the Gateway API (GatewayClass, Gateway, HTTPRoute/GRPCRoute)
#   and inference services are exposed through routes rather than only through an
#   Ingress or a LoadBalancer/NodePort Service, so traffic splitting, header-based model
#   routing and inference extensions apply to them.
# custom:
#   id: gateway-api
#   requirements:
#     whitepaper: [NET-3.1]
#     cncf: [ai_inference]
#   severity: high
#   scope: platform
#   inputs:
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: gateway.networking.k8s.io, resource: gatewayclasses}
#     - {group: gateway.networking.k8s.io, resource: gateways}
#     - {group: gateway.networking.k8s.io, resource: httproutes}
#     - {group: gateway.networking.k8s.io, resource: grpcroutes}
#     - {group: inference.networking.k8s.io, resource: inferencepools}
#     - {group: inference.networking.x-k8s.io, resource: inferencepools}
#     - {group: "", resource: services}
#     - {group: networking.k8s.io, resource: ingresses}
#     - {group: "", resource: pods}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: leaderworkerset.x-k8s.io, resource: leaderworkersets}
#     - {group: ray.io, resource: rayservices}
#     - {group: serving.kserve.io, resource: inferenceservices}
#     - {group: serving.kserve.io, resource: llminferenceservices}
#   remediation: >-
#     Install a Gateway API implementation (its CRDs and a GatewayClass accepted by its
#     controller), create a Gateway, and route inference traffic with an HTTPRoute (or
#     GRPCRoute) to the model server's ClusterIP Service instead of exposing it through an
#     Ingress or a LoadBalancer/NodePort Service:
#
#     ```yaml
#     apiVersion: gateway.networking.k8s.io/v1
#     kind: HTTPRoute
#     metadata:
#       name: llm
#       namespace: inference
#     spec:
#       parentRefs:
#         - name: inference-gateway
#       rules:
#         - matches:
#             - path: {type: PathPrefix, value: /v1}
#           backendRefs:
#             - name: vllm
#               port: 8000
#     ```
#   docs:
#     - https://gateway-api.sigs.k8s.io/
#     - https://gateway-api-inference-extension.sigs.k8s.io/
#     - https://github.com/cncf/k8s-ai-conformance
package kaic.networking.gateway_api

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.pods
import data.kaic.lib.workloads

_gateway_group := "gateway.networking.k8s.io"

_gateway_crds := ["gatewayclasses", "gateways", "httproutes", "grpcroutes"]

_inference_pool_groups := {"inference.networking.k8s.io", "inference.networking.x-k8s.io"}

# ---------------------------------------------------------------------------
# Gateway API objects
# ---------------------------------------------------------------------------

_of_gateway_api(kind) := [o | some o in k8s.objects_of_kind(kind); k8s.group(o) == _gateway_group]

_gateway_classes := _of_gateway_api("GatewayClass")

_gateways := _of_gateway_api("Gateway")

_routes := array.concat(_of_gateway_api("HTTPRoute"), _of_gateway_api("GRPCRoute"))

_inference_pools := [p |
	some p in k8s.objects_of_kind("InferencePool")
	k8s.group(p) in _inference_pool_groups
]

# Every backendRef of every route rule, resolved to {"route", "kind", "group", "name",
# "namespace"} (kind defaults to Service in the core group, namespace to the route's).
_backend_refs := [{
	"route": r,
	"kind": object.get(ref, "kind", "Service"),
	"group": object.get(ref, "group", ""),
	"name": ref.name,
	"namespace": object.get(ref, "namespace", k8s.namespace(r)),
} |
	some r in _routes
	some rule in k8s.array_at(r, ["spec", "rules"])
	some ref in k8s.array_at(rule, "backendRefs")
	is_object(ref)
	is_string(ref.name)
]

# ---------------------------------------------------------------------------
# Platform evidence
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": k8s.crd_ref(_gateway_group, plural)} if {
	some plural in _gateway_crds
	k8s.crd_defined(_gateway_group, plural)
	msg := sprintf("The Gateway API resource %s.%s is available", [plural, _gateway_group])
}

evidence contains {"msg": msg, "ref": k8s.ref(gc)} if {
	some gc in _gateway_classes
	msg := sprintf("%s is implemented by controller %s%s", [
		k8s.describe(gc),
		k8s.string_at(gc, ["spec", "controllerName"]),
		_accepted_note(gc),
	])
}

evidence contains {"msg": msg, "ref": k8s.ref(gw)} if {
	some gw in _gateways
	msg := sprintf("%s (GatewayClass %s) has %d listener(s)", [
		k8s.describe(gw),
		k8s.string_at(gw, ["spec", "gatewayClassName"]),
		count(k8s.array_at(gw, ["spec", "listeners"])),
	])
}

evidence contains {"msg": msg, "ref": k8s.ref(r)} if {
	some r in _routes
	parents := [name | some p in k8s.array_at(r, ["spec", "parentRefs"]); name := p.name; is_string(name)]
	msg := sprintf("%s attaches to %s", [k8s.describe(r), _parents_text(parents)])
}

_parents_text(parents) := sprintf("Gateway(s) %s", [concat(", ", parents)]) if {
	count(parents) > 0
} else := "no parent Gateway yet"

_accepted_note(gc) := " and accepted by it" if {
	_condition(gc, "Accepted") == "True"
} else := ""

# _condition(obj, type): status of the first condition of that type.
_condition(obj, type) := statuses[0] if {
	statuses := [c.status | some c in k8s.array_at(obj, ["status", "conditions"]); c.type == type]
	count(statuses) > 0
}

# KServe's LLMInferenceService creates its own HTTPRoute when spec.router.route is set.
evidence contains {"msg": msg, "ref": k8s.ref(w)} if {
	some w in workloads.inference_workloads
	w.kind == "LLMInferenceService"
	is_object(w.spec.router.route)
	msg := sprintf("%s is routed through the Gateway API (spec.router.route: KServe manages its HTTPRoute)", [k8s.describe(w)])
}

# ---------------------------------------------------------------------------
# Inference workloads and how they are exposed
# ---------------------------------------------------------------------------

# Services selecting the pods of each inference workload, with how each is reached.
_exposures := [{
	"workload": w,
	"services": services,
	"routes": routes,
} |
	some w in workloads.inference_workloads
	label_sets := [s.labels | some s in pods.pod_label_sets(w)]
	services := [svc |
		some svc in _services_by_namespace[k8s.namespace(w)]
		some lbls in label_sets
		k8s.map_selects(svc.spec.selector, lbls)
	]
	routes := _routes_to(services, label_sets)
]

_services := [svc | some svc in k8s.objects_of_kind("Service"); k8s.group(svc) == ""]

_service_namespace_index[ns] contains i if {
	some i, svc in _services
	ns := k8s.namespace(svc)
}

_services_by_namespace[ns] := [_services[i] | some i in ids] if {
	some ns, ids in _service_namespace_index
}

# Routes reaching the workload: through one of its Services, or through an InferencePool
# whose selector matches its pods.
_routes_to(services, label_sets) := {b.route |
	some b in _backend_refs
	_reaches(b, services, label_sets)
}

_reaches(b, services, _) if {
	b.kind == "Service"
	b.group in {"", "core"}
	some svc in services
	b.name == k8s.name(svc)
	b.namespace == k8s.namespace(svc)
}

_reaches(b, _, label_sets) if {
	b.kind == "InferencePool"
	some pool in _inference_pools
	b.name == k8s.name(pool)
	b.namespace == k8s.namespace(pool)
	some lbls in label_sets
	_pool_selects(pool, lbls)
}

# InferencePool v1 uses spec.selector.matchLabels; v1alpha2 a plain label map.
_pool_selects(pool, lbls) if k8s.map_selects(pool.spec.selector.matchLabels, lbls)

_pool_selects(pool, lbls) if {
	not pool.spec.selector.matchLabels
	k8s.map_selects(pool.spec.selector, lbls)
}

_external_service(svc) if svc.spec.type in {"LoadBalancer", "NodePort"}

# Ingress backends: networking.k8s.io/v1 (backend.service.name) and v1beta1
# (backend.serviceName); field is where the backend is declared.
_ingress_backends contains {"ingress": ing, "service": name, "field": field} if {
	some ing in k8s.objects_of_kind("Ingress")
	some i, rule in k8s.array_at(ing, ["spec", "rules"])
	some path in k8s.array_at(rule, ["http", "paths"])
	name := _backend_service(path.backend)
	field := sprintf("spec.rules[%d]", [i])
}

_ingress_backends contains {"ingress": ing, "service": name, "field": field} if {
	some ing in k8s.objects_of_kind("Ingress")
	some key in ["defaultBackend", "backend"]
	name := _backend_service(ing.spec[key])
	field := sprintf("spec.%s", [key])
}

_backend_service(backend) := backend.service.name if is_string(backend.service.name) else := backend.serviceName if is_string(backend.serviceName)

_ingresses_for(e) := [b |
	some b in _ingress_backends
	some svc in e.services
	b.service == k8s.name(svc)
	k8s.namespace(b.ingress) == k8s.namespace(svc)
]

evidence contains {"msg": msg, "ref": k8s.ref(e.workload)} if {
	some e in _exposures
	count(e.routes) > 0
	msg := sprintf("%s (inference) is served through %s", [
		k8s.describe(e.workload),
		concat(", ", {k8s.describe(r) | some r in e.routes}),
	])
}

deny contains {"msg": msg, "ref": k8s.ref(svc), "field": "spec.type"} if {
	some e in _exposures
	count(e.routes) == 0
	some svc in e.services
	_external_service(svc)
	msg := sprintf(
		"%s exposes inference workload %s directly as type %s, and no HTTPRoute or GRPCRoute routes to it; serve inference through a Gateway instead",
		[k8s.describe(svc), k8s.describe(e.workload), svc.spec.type],
	)
}

deny contains {"msg": msg, "ref": k8s.ref(b.ingress), "field": b.field} if {
	some e in _exposures
	count(e.routes) == 0
	some b in _ingresses_for(e)
	msg := sprintf(
		"%s exposes inference workload %s through Service %s, and no HTTPRoute or GRPCRoute routes to it; replace the Ingress with a Gateway API route",
		[k8s.describe(b.ingress), k8s.describe(e.workload), b.service],
	)
}

# ---------------------------------------------------------------------------
# Advice
# ---------------------------------------------------------------------------

# Also reachable around the gateway: its policies (auth, rate limits, model routing) do
# not apply on that path.
warn contains {"msg": msg, "ref": k8s.ref(svc), "field": "spec.type"} if {
	some e in _exposures
	count(e.routes) > 0
	some svc in e.services
	_external_service(svc)
	msg := sprintf(
		"%s also exposes inference workload %s as type %s, bypassing its Gateway API route",
		[k8s.describe(svc), k8s.describe(e.workload), svc.spec.type],
	)
}

warn contains {"msg": msg, "ref": k8s.ref(b.ingress), "field": b.field} if {
	some e in _exposures
	count(e.routes) > 0
	some b in _ingresses_for(e)
	msg := sprintf(
		"%s also exposes inference workload %s, bypassing its Gateway API route",
		[k8s.describe(b.ingress), k8s.describe(e.workload)],
	)
}

warn contains {"msg": msg, "ref": k8s.ref(gc), "field": "status.conditions"} if {
	some gc in _gateway_classes
	_condition(gc, "Accepted") == "False"
	msg := sprintf("%s is not accepted by its controller; Gateways of this class are not programmed", [k8s.describe(gc)])
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains {"msg": msg} if {
	k8s.is_mode_manifests
	not _platform_evidence
	msg := "The bundle contains no Gateway API CRDs, GatewayClass, Gateway or route; whether the cluster provides the Gateway API can only be seen in a live scan"
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		[_gateway_group, "gatewayclasses"],
		[_gateway_group, "gateways"],
		[_gateway_group, "httproutes"],
		[_gateway_group, "grpcroutes"],
		["", "services"],
		["networking.k8s.io", "ingresses"],
	])
}

_platform_evidence if {
	some plural in _gateway_crds
	k8s.crd_defined(_gateway_group, plural)
}

_platform_evidence if count(_gateway_classes) > 0

_platform_evidence if count(_gateways) > 0

_platform_evidence if count(_routes) > 0
