package kaic.networking.gateway_api_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.networking.gateway_api as check

_model_server := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "vllm", "namespace": "ml", "labels": {"kaic.dev/workload": "inference"}},
	"spec": {"template": {
		"metadata": {"labels": {"app": "vllm"}},
		"spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.11.0"}]},
	}},
}

_service(name, type) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": name, "namespace": "ml"},
	"spec": {"type": type, "selector": {"app": "vllm"}, "ports": [{"port": 8000}]},
}

_gateway_class := {
	"apiVersion": "gateway.networking.k8s.io/v1",
	"kind": "GatewayClass",
	"metadata": {"name": "envoy"},
	"spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
}

_gateway := {
	"apiVersion": "gateway.networking.k8s.io/v1",
	"kind": "Gateway",
	"metadata": {"name": "gw", "namespace": "infra"},
	"spec": {"gatewayClassName": "envoy", "listeners": [{"name": "http", "protocol": "HTTP", "port": 80}]},
}

_route(kind, backend) := {
	"apiVersion": "gateway.networking.k8s.io/v1",
	"kind": kind,
	"metadata": {"name": "llm", "namespace": "ml"},
	"spec": {"parentRefs": [{"name": "gw", "namespace": "infra"}], "rules": [{"backendRefs": [backend]}]},
}

_ingress(service) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "Ingress",
	"metadata": {"name": "llm", "namespace": "ml"},
	"spec": {"rules": [{"host": "llm.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": service, "port": {"number": 8000}}}}]}}]},
}

_pool := {
	"apiVersion": "inference.networking.k8s.io/v1",
	"kind": "InferencePool",
	"metadata": {"name": "vllm-pool", "namespace": "ml"},
	"spec": {"selector": {"matchLabels": {"app": "vllm"}}, "targetPorts": [{"number": 8000}], "endpointPickerRef": {"name": "epp", "port": {"number": 9002}}},
}

_crd(plural) := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"metadata": {"name": sprintf("%s.gateway.networking.k8s.io", [plural])},
	"spec": {"group": "gateway.networking.k8s.io", "names": {"plural": plural}},
}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"route to the model server's Service": {
		"objects": [_gateway_class, _gateway, _route("HTTPRoute", {"name": "vllm", "port": 8000}), _service("vllm", "ClusterIP"), _model_server],
		"want": {"deny": 0, "evidence": 4, "warn": 0, "unknown": 0},
	},
	"GRPCRoute counts like an HTTPRoute": {
		"objects": [_route("GRPCRoute", {"name": "vllm", "port": 8000}), _service("vllm", "ClusterIP"), _model_server],
		"want": {"deny": 0, "evidence": 2},
	},
	"route to an InferencePool selecting the pods": {
		"objects": [_gateway, _route("HTTPRoute", {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": "vllm-pool"}), _pool, _model_server],
		"want": {"deny": 0, "evidence": 3},
	},
	"LoadBalancer only": {
		"objects": [_service("vllm", "LoadBalancer"), _model_server],
		"want": {"deny": 1, "evidence": 0, "unknown": 1},
	},
	"NodePort only": {
		"objects": [_gateway_class, _service("vllm", "NodePort"), _model_server],
		"want": {"deny": 1, "evidence": 1, "unknown": 0},
	},
	"Ingress only": {
		"objects": [_service("vllm", "ClusterIP"), _ingress("vllm"), _model_server],
		"want": {"deny": 1, "evidence": 0},
	},
	"route and a LoadBalancer": {
		"objects": [_route("HTTPRoute", {"name": "vllm"}), _service("vllm", "LoadBalancer"), _model_server],
		"want": {"deny": 0, "warn": 1},
	},
	"route to a Service in another namespace": {
		"objects": [_route("HTTPRoute", {"name": "vllm", "namespace": "other"}), _service("vllm", "LoadBalancer"), _model_server],
		"want": {"deny": 1},
	},
	"ClusterIP only, not exposed": {
		"objects": [_service("vllm", "ClusterIP"), _model_server],
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
	},
	"CRDs in the bundle": {
		"objects": [_crd("gatewayclasses"), _crd("gateways"), _crd("httproutes")],
		"want": {"deny": 0, "evidence": 3, "unknown": 0},
	},
	"non-inference LoadBalancer is not judged": {
		"objects": [object.union(_service("web", "LoadBalancer"), {"spec": {"selector": {"app": "web"}}})],
		"want": {"deny": 0},
	},
}

failures contains msg if {
	some name, tc in _cases
	got := _results(testing.manifests(tc.objects))
	some msg in testing.count_mismatches(name, got, tc.want)
}

failures contains msg if {
	some name, tc in _cases
	not _results(testing.manifests(tc.objects))
	msg := sprintf("%s: the check could not be evaluated", [name])
}

test_cases if count(failures) == 0

test_loadbalancer_deny_points_at_spec_type if {
	denies := check.deny with input as testing.manifests([_service("vllm", "LoadBalancer"), _model_server])
	[[d.ref.kind, d.ref.name, d.field] | some d in denies] == [["Service", "vllm", "spec.type"]]
}

test_ingress_deny_points_at_the_rule if {
	denies := check.deny with input as testing.manifests([_service("vllm", "ClusterIP"), _ingress("vllm"), _model_server])
	[[d.ref.kind, d.field] | some d in denies] == [["Ingress", "spec.rules[0]"]]
}

test_live_cluster_crds_and_accepted_class if {
	accepted := object.union(_gateway_class, {"status": {"conditions": [{"type": "Accepted", "status": "True"}]}})
	inp := testing.cluster([accepted], [["gateway.networking.k8s.io", "gatewayclasses"], ["gateway.networking.k8s.io", "httproutes"]], [])
	evidence := check.evidence with input as inp
	count(evidence) == 3
	some e in evidence
	contains(e.msg, "accepted by it")
}

test_rejected_gateway_class_is_a_warning if {
	rejected := object.union(_gateway_class, {"status": {"conditions": [{"type": "Accepted", "status": "False"}]}})
	warns := check.warn with input as testing.manifests([rejected])
	[w.field | some w in warns] == ["status.conditions"]
}

test_unreadable_routes_are_unknown if {
	inp := testing.cluster([], [], [["gateway.networking.k8s.io", "httproutes"]])
	unknowns := check.unknown with input as inp
	unknowns == {{"msg": "httproutes.gateway.networking.k8s.io could not be read (forbidden); results that depend on them are incomplete"}}
}

test_conftest_combine_input if {
	got := _results(testing.combined_files([_service("vllm", "NodePort"), _model_server]))
	count(got.deny) == 1
}
