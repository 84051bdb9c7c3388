package kaic.networking.inference_gateway_extension_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.networking.inference_gateway_extension as check

_vllm := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "vllm", "namespace": "ml"},
	"spec": {"template": {"metadata": {"labels": {"app": "vllm"}}, "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.11.0"}]}}},
}

_epp := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "vllm-epp", "namespace": "ml"},
	"spec": {"template": {"metadata": {"labels": {"app": "vllm-epp"}}, "spec": {"containers": [{"name": "epp", "image": "registry.k8s.io/gateway-api-inference-extension/epp:v1.0.0"}]}}},
}

_epp_service := {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "vllm-epp", "namespace": "ml"}, "spec": {"selector": {"app": "vllm-epp"}, "ports": [{"port": 9002}]}}

_pool(selector) := {
	"apiVersion": "inference.networking.k8s.io/v1",
	"kind": "InferencePool",
	"metadata": {"name": "vllm-pool", "namespace": "ml"},
	"spec": {"selector": {"matchLabels": selector}, "targetPorts": [{"number": 8000}], "endpointPickerRef": {"name": "vllm-epp", "port": {"number": 9002}}},
}

_alpha_pool := {
	"apiVersion": "inference.networking.x-k8s.io/v1alpha2",
	"kind": "InferencePool",
	"metadata": {"name": "vllm-pool", "namespace": "ml"},
	"spec": {"selector": {"app": "vllm"}, "targetPortNumber": 8000, "extensionRef": {"name": "vllm-epp"}},
}

_route(pool) := {
	"apiVersion": "gateway.networking.k8s.io/v1",
	"kind": "HTTPRoute",
	"metadata": {"name": "llm", "namespace": "ml"},
	"spec": {"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [{"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": pool}]}]},
}

_objective(pool) := {"apiVersion": "inference.networking.x-k8s.io/v1alpha2", "kind": "InferenceObjective", "metadata": {"name": "chat", "namespace": "ml"}, "spec": {"priority": 1, "poolRef": {"group": "inference.networking.k8s.io", "name": pool}}}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"pool, EPP, route and objective": {
		"objects": [_vllm, _epp, _epp_service, _pool({"app": "vllm"}), _route("vllm-pool"), _objective("vllm-pool")],
		"want": {"deny": 0, "evidence": 4, "warn": 0, "unknown": 0},
	},
	"v1alpha2 pool": {
		"objects": [_vllm, _alpha_pool, _route("vllm-pool")],
		"want": {"deny": 0, "evidence": 2},
	},
	"route to a missing pool": {
		"objects": [_vllm, _pool({"app": "vllm"}), _route("llama-pool")],
		"want": {"deny": 1, "evidence": 1},
	},
	"objective for a missing pool": {
		"objects": [_vllm, _pool({"app": "vllm"}), _objective("llama-pool")],
		"want": {"deny": 1},
	},
	"pool selects no pods": {
		"objects": [_vllm, _pool({"app": "llama"})],
		"want": {"deny": 1, "evidence": 0},
	},
	"pool without workloads in the bundle": {
		"objects": [_pool({"app": "llama"})],
		"want": {"deny": 0, "evidence": 1},
	},
	"route but no pools in the bundle": {
		"objects": [_route("vllm-pool")],
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
	},
	"pools only in another namespace": {
		"objects": [object.union(_pool({"app": "vllm"}), {"metadata": {"namespace": "other"}}), _route("vllm-pool")],
		"want": {"deny": 0, "unknown": 1},
	},
	"bare bundle": {
		"objects": [],
		"want": {"deny": 0, "evidence": 0, "unknown": 0, "warn": 0},
	},
}

failures contains msg if {
	some name, tc in _cases
	got := _results(testing.manifests(tc.objects))
	some msg in testing.count_mismatches(name, got, tc.want)
}

test_cases if count(failures) == 0

test_missing_pool_points_at_the_backend_ref if {
	denies := check.deny with input as testing.manifests([_pool({"app": "vllm"}), _route("llama-pool")])
	[d.field | some d in denies] == ["spec.rules[0].backendRefs[0]"]
}

test_live_crd_is_evidence if {
	inp := testing.cluster([], [["inference.networking.k8s.io", "inferencepools"]], [])
	live := json.patch(inp, [{"op": "replace", "path": "/cluster/api_resources/0/kind", "value": "InferencePool"}])
	evidence := check.evidence with input as live
	count(evidence) == 1
}

test_live_route_to_missing_pool_denies if {
	inp := testing.cluster([_route("vllm-pool")], [["inference.networking.k8s.io", "inferencepools"]], [])
	denies := check.deny with input as inp
	count(denies) == 1
}

test_odd_types_do_not_break if {
	odd := [{"apiVersion": "inference.networking.k8s.io/v1", "kind": "InferencePool", "metadata": {"name": "p"}, "spec": {"selector": 3}}, {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"}, "spec": {"rules": [{"backendRefs": "x"}]}}]
	got := _results(testing.manifests(odd))
	count(got.deny) == 0
}

test_conftest_combine_input if {
	got := _results(testing.combined([_vllm, _pool({"app": "vllm"}), _route("llama-pool")]))
	count(got.deny) == 1
}
