package kaic.security.image_signatures_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.security.image_signatures as check

_digest := "sha256:ec8207a3dde607f7867f8f5390915018488b877761306ffd4ef099f9b3ee16a1"

_pinned := sprintf("ghcr.io/acme/vllm-openai@%s", [_digest])

_model_server(ns, image) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "vllm", "namespace": ns, "labels": {"kaic.dev/workload": "inference"}},
	"spec": {"template": {"spec": {"containers": [{"name": "vllm", "image": image}]}}},
}

_cip(glob, mode) := {
	"apiVersion": "policy.sigstore.dev/v1beta1",
	"kind": "ClusterImagePolicy",
	"metadata": {"name": "signed"},
	"spec": {"images": [{"glob": glob}], "mode": mode, "authorities": [{"keyless": {"url": "https://fulcio.sigstore.dev"}}]},
}

_kyverno(kind, ns, reference, action) := {
	"apiVersion": "kyverno.io/v1",
	"kind": kind,
	"metadata": object.union({"name": "verify"}, {"namespace": ns | ns != ""}),
	"spec": {"validationFailureAction": action, "rules": [{"name": "verify", "verifyImages": [{"imageReferences": [reference]}]}]},
}

_namespace(name, labels) := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"pinned and covered by a ClusterImagePolicy": {
		"input": testing.manifests([_cip("ghcr.io/acme/**", "enforce"), _model_server("ml", _pinned)]),
		"want": {"deny": 0, "evidence": 2, "warn": 0, "unknown": 0},
	},
	"tag only": {
		"input": testing.manifests([_cip("ghcr.io/acme/**", "enforce"), _model_server("ml", "ghcr.io/acme/vllm-openai:v0.11.0")]),
		"want": {"deny": 1, "evidence": 1},
	},
	"not covered by the glob": {
		"input": testing.manifests([_cip("ghcr.io/acme/*", "enforce"), _model_server("ml", sprintf("ghcr.io/acme/team/vllm@%s", [_digest]))]),
		"want": {"deny": 1, "evidence": 1},
	},
	"tag only and not covered": {
		"input": testing.manifests([_cip("ghcr.io/other/**", "enforce"), _model_server("ml", "vllm/vllm-openai:latest")]),
		"want": {"deny": 2},
	},
	"no policy in the bundle: coverage is unknown": {
		"input": testing.manifests([_model_server("ml", _pinned)]),
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
	},
	"no policy in a live cluster: not covered": {
		"input": testing.cluster([_model_server("ml", _pinned)], [], []),
		"want": {"deny": 1, "unknown": 0},
	},
	"policies unreadable in a live cluster": {
		"input": testing.cluster([_model_server("ml", _pinned)], [], [["policy.sigstore.dev", "clusterimagepolicies"]]),
		"want": {"deny": 0, "unknown": 1},
	},
	"Kyverno ClusterPolicy in Enforce mode": {
		"input": testing.manifests([_kyverno("ClusterPolicy", "", "ghcr.io/acme/*", "Enforce"), _model_server("ml", _pinned)]),
		"want": {"deny": 0, "evidence": 2, "warn": 0},
	},
	"Kyverno ClusterPolicy in Audit mode": {
		"input": testing.manifests([_kyverno("ClusterPolicy", "", "ghcr.io/acme/*", "Audit"), _model_server("ml", _pinned)]),
		"want": {"deny": 0, "evidence": 1, "warn": 1},
	},
	"Kyverno Policy in another namespace": {
		"input": testing.manifests([_kyverno("Policy", "team-a", "ghcr.io/acme/*", "Enforce"), _model_server("team-b", _pinned)]),
		"want": {"deny": 1, "evidence": 1},
	},
	"Kyverno Policy in the same namespace": {
		"input": testing.manifests([_kyverno("Policy", "team-a", "ghcr.io/acme/*", "Enforce"), _model_server("team-a", _pinned)]),
		"want": {"deny": 0, "evidence": 2},
	},
	"sigstore policy in warn mode": {
		"input": testing.manifests([_cip("ghcr.io/acme/**", "warn"), _model_server("ml", _pinned)]),
		"want": {"deny": 0, "evidence": 1, "warn": 1},
	},
	"namespace not opted in to policy-controller": {
		"input": testing.manifests([_namespace("ml", {}), _cip("ghcr.io/acme/**", "enforce"), _model_server("ml", _pinned)]),
		"want": {"deny": 0, "evidence": 1, "warn": 2},
	},
	"namespace opted in to policy-controller": {
		"input": testing.manifests([_namespace("ml", {"policy.sigstore.dev/include": "true"}), _cip("ghcr.io/acme/**", "enforce"), _model_server("ml", _pinned)]),
		"want": {"deny": 0, "evidence": 2, "warn": 0},
	},
	"images of non-AI workloads are not judged": {
		"input": testing.manifests([{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"template": {"spec": {"containers": [{"name": "w", "image": "nginx"}]}}}}]),
		"want": {"deny": 0, "evidence": 0, "unknown": 0},
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

test_messages_name_the_problem_and_field if {
	inp := testing.manifests([_cip("ghcr.io/other/**", "enforce"), _model_server("ml", "vllm/vllm-openai:latest")])
	denies := check.deny with input as inp
	every d in denies {
		d.field == "spec.template.spec.containers[0].image"
	}
	some pinning in denies
	contains(pinning.msg, "is not pinned by digest")
	some coverage in denies
	contains(coverage.msg, "is not covered by any signature-verification policy")
}

test_init_containers_and_model_images_are_checked if {
	isvc := {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": "m", "namespace": "ml"}, "spec": {"predictor": {
		"initContainers": [{"name": "fetch", "image": "busybox:1.36"}],
		"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "oci://ghcr.io/acme/models/iris:v1"},
	}}}
	denies := check.deny with input as testing.manifests([_cip("**", "enforce"), isvc])
	{d.field | some d in denies} == {"spec.predictor.initContainers[0].image", "spec.predictor.model.storageUri"}
}

test_conftest_combine_input if {
	got := _results(testing.combined([_cip("ghcr.io/acme/**", "enforce"), _model_server("ml", "ghcr.io/acme/vllm-openai:v1")]))
	count(got.deny) == 1
	count(got.evidence) == 1
}
