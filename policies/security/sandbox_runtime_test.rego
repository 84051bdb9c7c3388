package kaic.security.sandbox_runtime_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.security.sandbox_runtime as check

_rc(name, handler) := {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name}, "handler": handler}

_agent(runtime_class) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "agent", "namespace": "agents", "labels": {"kaic.dev/workload": "agent"}},
	"spec": {"template": {"spec": object.union(
		{"containers": [{"name": "a", "image": "ghcr.io/openclaw/openclaw:2026.3.23"}]},
		{"runtimeClassName": runtime_class | runtime_class != ""},
	)}},
}

_sandbox(runtime_class) := {
	"apiVersion": "agents.x-k8s.io/v1beta1",
	"kind": "Sandbox",
	"metadata": {"name": "sb", "namespace": "agents"},
	"spec": {"podTemplate": {"spec": object.union(
		{"containers": [{"name": "a", "image": "busybox"}]},
		{"runtimeClassName": runtime_class | runtime_class != ""},
	)}},
}

_inference := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "vllm", "namespace": "ml", "labels": {"kaic.dev/workload": "inference"}},
	"spec": {"template": {"spec": {"containers": [{"name": "v", "image": "vllm/vllm-openai:v0.11.0"}]}}},
}

_sandbox_crd := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"metadata": {"name": "sandboxes.agents.x-k8s.io"},
	"spec": {"group": "agents.x-k8s.io", "names": {"plural": "sandboxes", "kind": "Sandbox"}},
}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"gVisor RuntimeClass and an agent using it": {
		"input": testing.manifests([_rc("gvisor", "runsc"), _agent("gvisor")]),
		"want": {"deny": 0, "evidence": 2, "unknown": 0},
	},
	"Kata RuntimeClass and a Sandbox using it": {
		"input": testing.manifests([_rc("kata-qemu", "kata-qemu"), _sandbox("kata-qemu")]),
		"want": {"deny": 0, "evidence": 2, "unknown": 0},
	},
	"agent without runtimeClassName": {
		"input": testing.manifests([_rc("gvisor", "runsc"), _agent("")]),
		"want": {"deny": 1, "evidence": 1},
	},
	"RuntimeClass with handler runc": {
		"input": testing.manifests([_rc("standard", "runc"), _agent("standard")]),
		"want": {"deny": 1, "evidence": 0, "unknown": 0},
	},
	"RuntimeClass not in the bundle, sandbox-like name": {
		"input": testing.manifests([_agent("gvisor")]),
		"want": {"deny": 0, "evidence": 1, "unknown": 1},
	},
	"RuntimeClass not in the bundle, unknown name": {
		"input": testing.manifests([_agent("nvidia")]),
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
	},
	"RuntimeClass missing in a live cluster": {
		"input": testing.cluster([_rc("gvisor", "runsc"), _agent("kata")], [["node.k8s.io", "runtimeclasses"]], []),
		"want": {"deny": 1, "evidence": 1, "unknown": 0},
	},
	"RuntimeClasses unreadable in a live cluster": {
		"input": testing.cluster([_agent("gvisor")], [["node.k8s.io", "runtimeclasses"]], [["node.k8s.io", "runtimeclasses"]]),
		"want": {"deny": 0, "unknown": 2},
	},
	"non-agent AI workloads need no sandbox": {
		"input": testing.manifests([_rc("gvisor", "runsc"), _inference]),
		"want": {"deny": 0, "evidence": 1},
	},
	"agent-sandbox CRD is platform evidence": {
		"input": testing.manifests([_sandbox_crd]),
		"want": {"deny": 0, "evidence": 1, "unknown": 0},
	},
	"agent-sandbox API served by the cluster": {
		"input": testing.cluster([], [["agents.x-k8s.io", "sandboxes"]], []),
		"want": {"deny": 0, "evidence": 1, "unknown": 0},
	},
	"empty bundle shows no capability: No, not Unknown": {
		"input": testing.manifests([]),
		"want": {"deny": 0, "evidence": 0, "unknown": 0},
	},
	"empty live cluster has no evidence": {
		"input": testing.cluster([], [], []),
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

test_missing_runtime_class_points_at_the_pod_spec if {
	denies := check.deny with input as testing.manifests([_sandbox("")])
	[d.field | some d in denies] == ["spec.podTemplate.spec"]
}

test_wrong_runtime_class_points_at_the_field if {
	denies := check.deny with input as testing.manifests([_rc("standard", "runc"), _agent("standard")])
	[d.field | some d in denies] == ["spec.template.spec.runtimeClassName"]
	some d in denies
	contains(d.msg, "RuntimeClass standard uses handler runc")
}

test_sandbox_claim_without_template_is_unknown if {
	claim := {"apiVersion": "extensions.agents.x-k8s.io/v1beta1", "kind": "SandboxClaim", "metadata": {"name": "c", "namespace": "agents"}, "spec": {"warmPoolRef": {"name": "pool"}}}
	got := _results(testing.manifests([_rc("gvisor", "runsc"), claim]))
	count(got.deny) == 0
	some u in got.unknown
	contains(u.msg, "SandboxClaim agents/c")
}

test_conftest_combine_input if {
	got := _results(testing.combined([_rc("gvisor", "runsc"), _agent("")]))
	count(got.deny) == 1
	count(got.evidence) == 1
}
