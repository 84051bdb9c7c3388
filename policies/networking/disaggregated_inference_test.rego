package kaic.networking.disaggregated_inference_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.networking.disaggregated_inference as check

_server(name, role, args) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": name, "namespace": "llm"},
	"spec": {"template": {
		"metadata": {"labels": object.union({"app": name}, _role_labels(role))},
		"spec": {"containers": [{"name": "vllm", "image": "ghcr.io/llm-d/llm-d-cuda:v0.3.0", "args": args, "resources": {"limits": {"nvidia.com/gpu": 1}}}]},
	}},
}

_role_labels(role) := {"llm-d.ai/role": role} if role != "" else := {}

_llmisvc(prefill_env) := {
	"apiVersion": "serving.kserve.io/v1alpha2",
	"kind": "LLMInferenceService",
	"metadata": {"name": "qwen-pd", "namespace": "kserve"},
	"spec": {
		"model": {"uri": "hf://Qwen/Qwen2.5-7B-Instruct"},
		"template": {"containers": [{"name": "main", "env": [{"name": "VLLM_ADDITIONAL_ARGS", "value": `--kv_transfer_config '{"kv_connector":"NixlConnector","kv_role":"kv_consumer"}'`}]}]},
		"prefill": {"replicas": 2, "template": {"containers": [{"name": "main", "env": [{"name": "VLLM_ADDITIONAL_ARGS", "value": prefill_env}]}]}},
	},
}

_dgd(services) := {"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment", "metadata": {"name": "vllm-disagg", "namespace": "dynamo"}, "spec": {"services": services}}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"llm-d prefill and decode": {
		"objects": [_server("qwen-prefill", "prefill", []), _server("qwen-decode", "decode", [])],
		"want": {"deny": 0, "evidence": 1, "warn": 0},
	},
	"only decode": {
		"objects": [_server("qwen-decode", "decode", [])],
		"want": {"deny": 0, "evidence": 0, "warn": 1},
	},
	"prefill labelled pod configured as KV consumer": {
		"objects": [_server("qwen-prefill", "prefill", [`--kv-transfer-config={"kv_connector":"P2pNcclConnector","kv_role":"kv_consumer"}`]), _server("qwen-decode", "decode", [])],
		"want": {"deny": 1, "evidence": 1},
	},
	"unknown role value": {
		"objects": [_server("qwen-prefill", "prefil", [])],
		"want": {"deny": 1, "evidence": 0},
	},
	"SGLang by flags": {
		"objects": [_server("sglang-a", "", ["--disaggregation-mode", "prefill"]), _server("sglang-b", "", ["--disaggregation-mode=decode"])],
		"want": {"deny": 0, "evidence": 1},
	},
	"KServe LLMInferenceService with prefill": {
		"objects": [_llmisvc(`--kv_transfer_config '{"kv_connector":"NixlConnector","kv_role":"kv_producer"}'`)],
		"want": {"deny": 0, "evidence": 1, "warn": 0},
	},
	"KServe prefill configured as consumer": {
		"objects": [_llmisvc(`--kv_transfer_config '{"kv_connector":"NixlConnector","kv_role":"kv_consumer"}'`)],
		"want": {"deny": 1, "evidence": 1},
	},
	"Dynamo graph with both workers": {
		"objects": [_dgd({"Frontend": {"componentType": "frontend"}, "VllmDecodeWorker": {"componentType": "worker", "subComponentType": "decode"}, "VllmPrefillWorker": {"componentType": "worker", "subComponentType": "prefill"}})],
		"want": {"deny": 0, "evidence": 1, "warn": 0},
	},
	"Dynamo graph with only a decode worker": {
		"objects": [_dgd({"Frontend": {}, "VllmDecodeWorker": {}})],
		"want": {"evidence": 0, "warn": 1},
	},
	"non-AI decoder is not a decode server": {
		"objects": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "video-decoder"}, "spec": {"template": {"spec": {"containers": [{"name": "d", "image": "ffmpeg"}]}}}}],
		"want": {"deny": 0, "evidence": 0, "warn": 0},
	},
	"bare bundle": {
		"objects": [],
		"want": {"deny": 0, "evidence": 0, "warn": 0, "unknown": 0},
	},
}

failures contains msg if {
	some name, tc in _cases
	got := _results(testing.manifests(tc.objects))
	some msg in testing.count_mismatches(name, got, tc.want)
}

test_cases if count(failures) == 0

test_contradiction_points_at_the_role_label if {
	denies := check.deny with input as testing.manifests([_server("p", "prefill", ["--kv-transfer-config", `{"kv_role":"kv_consumer"}`])])
	[d.field | some d in denies] == [`spec.template.metadata.labels["llm-d.ai/role"]`]
}

test_kserve_contradiction_points_at_the_prefill_template if {
	denies := check.deny with input as testing.manifests([_llmisvc(`{"kv_role":"kv_consumer"}`)])
	[d.field | some d in denies] == ["spec.prefill.template"]
}

test_odd_types_do_not_break if {
	odd := [_dgd(5), {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x-prefill"}, "spec": {"template": {"metadata": {"labels": {"llm-d.ai/role": 3}}, "spec": {"containers": [{"name": "c", "args": "x", "env": 4}]}}}}]
	got := _results(testing.manifests(odd))
	count(got.deny) == 0
}

test_conftest_combine_input if {
	got := _results(testing.combined([_server("qwen-prefill", "prefil", [])]))
	count(got.deny) == 1
}
