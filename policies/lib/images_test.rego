package kaic.lib.images_test

import rego.v1

import data.kaic.lib.images

_digest := "sha256:ec8207a3dde607f7867f8f5390915018488b877761306ffd4ef099f9b3ee16a1"

test_normalized_table if {
	cases := [
		["busybox", "index.docker.io/library/busybox:latest"],
		["busybox:1.36", "index.docker.io/library/busybox:1.36"],
		["vllm/vllm-openai:v0.11.0", "index.docker.io/vllm/vllm-openai:v0.11.0"],
		["docker.io/vllm/vllm-openai", "index.docker.io/vllm/vllm-openai:latest"],
		["ghcr.io/acme/app:v1", "ghcr.io/acme/app:v1"],
		["localhost:5000/app:dev", "localhost:5000/app:dev"],
		["registry.k8s.io/agent-sandbox/python-runtime-sandbox:v0.4.6", "registry.k8s.io/agent-sandbox/python-runtime-sandbox:v0.4.6"],
		[sprintf("ghcr.io/acme/app:v1@%s", [_digest]), sprintf("ghcr.io/acme/app@%s", [_digest])],
		[sprintf("nginx@%s", [_digest]), sprintf("index.docker.io/library/nginx@%s", [_digest])],
	]
	every c in cases {
		images.normalized(c[0]) == c[1]
	}
	images.docker_normalized("busybox") == "docker.io/library/busybox:latest"
}

test_has_digest if {
	images.has_digest(sprintf("ghcr.io/acme/app@%s", [_digest]))
	not images.has_digest("ghcr.io/acme/app:v1")
	not images.has_digest("ghcr.io/acme/app@sha256:abc")
	not images.has_digest(5)
}

test_sigstore_glob_table if {
	cases := [
		["ghcr.io/acme/**", "ghcr.io/acme/team/app:v1", true],
		["ghcr.io/acme/*", "ghcr.io/acme/team/app:v1", false],
		["ghcr.io/acme/*", "ghcr.io/acme/app:v1", true],
		["ghcr.io/acme/app*", sprintf("ghcr.io/acme/app@%s", [_digest]), true],
		["**", "busybox", true],
		["*", "busybox", true],
		["*", "vllm/vllm-openai", false],
		["*/*", "vllm/vllm-openai", true],
		["index.docker.io/vllm/**", "vllm/vllm-openai:v0.11.0", true],
		["docker.io/vllm/**", "vllm/vllm-openai:v0.11.0", false],
		["**demo**", "ghcr.io/acme/demo-app:1", true],
		["ghcr.io/acme/(x|y)", "ghcr.io/acme/x", false],
	]
	every c in cases {
		_sigstore(c[0], c[1]) == c[2]
	}
}

test_kyverno_wildcard_table if {
	cases := [
		["ghcr.io/kyverno/test-verify-image*", "ghcr.io/kyverno/test-verify-image:signed", true],
		["ghcr.io/kubeflow/*", "ghcr.io/kubeflow/trainer/torchtune-trainer:v2", true],
		["docker.io/library/*", "busybox", true],
		["docker.io/kubeflowkatib/*", "docker.io/kubeflowkatib/pytorch-mnist-cpu:v1", true],
		["ghcr.io/myorg/myimage?", "ghcr.io/myorg/myimage2", true],
		["ghcr.io/myorg/*", "quay.io/myorg/app", false],
	]
	every c in cases {
		_kyverno(c[0], c[1]) == c[2]
	}
}

_sigstore(glob, image) := true if images.sigstore_glob_matches(glob, image) else := false

_kyverno(pattern, image) := true if images.wildcard_matches(pattern, image) else := false
