package kaic.security.egress_control_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.security.egress_control as check

# --- objects ------------------------------------------------------------------

_vllm := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "vllm", "namespace": "ml"},
	"spec": {"template": {
		"metadata": {"labels": {"app": "vllm"}},
		"spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.11.0", "resources": {"limits": {"nvidia.com/gpu": 1}}}]},
	}},
}

_web := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "web", "namespace": "ml"},
	"spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
}

_np(name, ns, spec) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "NetworkPolicy",
	"metadata": {"name": name, "namespace": ns},
	"spec": spec,
}

_default_deny := _np("default-deny-egress", "ml", {"podSelector": {}, "policyTypes": ["Egress"]})

_select_vllm := {"matchLabels": {"app": "vllm"}}

_sandbox_template(api_version, spec) := {
	"apiVersion": api_version,
	"kind": "SandboxTemplate",
	"metadata": {"name": "py", "namespace": "agents"},
	"spec": object.union({"podTemplate": {"metadata": {"labels": {"app": "py"}}, "spec": {"containers": [{"name": "c", "image": "python:3.12"}]}}}, spec),
}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

# --- table ------------------------------------------------------------------------

_cases := {
	"default deny covers the workload": {
		"objects": [_vllm, _default_deny],
		"want": {"deny": 0, "evidence": 2, "warn": 0, "unknown": 0},
	},
	"no policy at all": {
		"objects": [_vllm, _web],
		"want": {"deny": 1, "evidence": 0, "unknown": 1},
	},
	"selector matching the pod template labels": {
		"objects": [_vllm, _np("vllm-egress", "ml", {"podSelector": _select_vllm, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 443}]}]})],
		"want": {"deny": 0, "evidence": 2},
	},
	"matchExpressions selector": {
		"objects": [_vllm, _np("vllm-egress", "ml", {"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["vllm", "tgi"]}]}, "policyTypes": ["Egress"]})],
		"want": {"deny": 0, "evidence": 2},
	},
	"policy without Egress in policyTypes does not count": {
		"objects": [_vllm, _np("ingress-only", "ml", {"podSelector": _select_vllm, "policyTypes": ["Ingress"], "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]})],
		"want": {"deny": 1, "evidence": 0},
	},
	"policyTypes defaulted from egress rules counts": {
		"objects": [_vllm, _np("implicit", "ml", {"podSelector": _select_vllm, "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]})],
		"want": {"deny": 0, "evidence": 2},
	},
	"selector for other pods": {
		"objects": [_vllm, _np("web-egress", "ml", {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"]})],
		"want": {"deny": 1, "evidence": 1},
	},
	"policy in another namespace": {
		"objects": [_vllm, _np("default-deny-egress", "other", {"podSelector": {}, "policyTypes": ["Egress"]})],
		"want": {"deny": 1, "evidence": 1},
	},
	"allow-all rule reopens egress": {
		"objects": [_vllm, _default_deny, _np("allow-all", "ml", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]})],
		"want": {"deny": 1, "evidence": 1},
	},
	"0.0.0.0/0 without ports is advised against": {
		"objects": [_vllm, _np("internet", "ml", {"podSelector": _select_vllm, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]})],
		"want": {"deny": 0, "warn": 1},
	},
	"non-AI workloads are not judged": {
		"objects": [_web],
		"want": {"deny": 0, "evidence": 0, "warn": 0, "unknown": 0},
	},
	"AdminNetworkPolicy with a Deny egress rule": {
		"objects": [_vllm, {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy", "metadata": {"name": "deny-egress"}, "spec": {
			"priority": 5, "subject": {"namespaces": {}},
			"egress": [{"name": "deny", "action": "Deny", "to": [{"networks": ["0.0.0.0/0"]}]}],
		}}],
		"want": {"deny": 0, "evidence": 2},
	},
	"Calico selector that cannot be evaluated": {
		"objects": [_vllm, {"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "c", "namespace": "ml"}, "spec": {
			"selector": "app in {'vllm'}", "types": ["Egress"],
		}}],
		"want": {"deny": 0, "warn": 1},
	},
	"SandboxTemplate v1beta1 gets the managed default policy": {
		"objects": [_sandbox_template("extensions.agents.x-k8s.io/v1beta1", {})],
		"want": {"deny": 0, "evidence": 1},
	},
	"SandboxTemplate with Unmanaged policy": {
		"objects": [_sandbox_template("extensions.agents.x-k8s.io/v1beta1", {"networkPolicyManagement": "Unmanaged"})],
		"want": {"deny": 1, "evidence": 0},
	},
	"SandboxTemplate with an allow-all custom rule": {
		"objects": [_sandbox_template("extensions.agents.x-k8s.io/v1beta1", {"networkPolicy": {"egress": [{}]}})],
		"want": {"deny": 1},
	},
	"SandboxTemplate v1alpha1 without rules": {
		"objects": [_sandbox_template("extensions.agents.x-k8s.io/v1alpha1", {})],
		"want": {"deny": 1},
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

# --- details ------------------------------------------------------------------------

test_deny_points_at_the_pod_template_metadata if {
	denies := check.deny with input as testing.manifests([_vllm])
	[d.field | some d in denies] == ["spec.template.metadata"]
	[d.ref | some d in denies] == [{"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "ml", "name": "vllm"}]
}

test_deny_explains_missing_egress_policy_type if {
	inp := testing.manifests([_vllm, _np("ingress-only", "ml", {"podSelector": _select_vllm, "policyTypes": ["Ingress"]})])
	denies := check.deny with input as inp
	some d in denies
	contains(d.msg, "NetworkPolicy ml/ingress-only selects these pods but its policyTypes do not include Egress")
}

test_allow_all_rule_is_reported_on_the_policy if {
	inp := testing.manifests([_vllm, _default_deny, _np("allow-all", "ml", {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}, {}]})])
	denies := check.deny with input as inp
	[[d.ref.name, d.field] | some d in denies] == [["allow-all", "spec.egress[1]"]]
}

test_every_pod_template_is_judged if {
	js := {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "metadata": {"name": "train", "namespace": "ml"}, "spec": {"replicatedJobs": [
		{"name": "driver", "template": {"spec": {"template": {"metadata": {"labels": {"role": "driver"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}},
		{"name": "workers", "template": {"spec": {"template": {"metadata": {"labels": {"role": "worker"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}},
	]}}
	policy := _np("driver-egress", "ml", {"podSelector": {"matchLabels": {"role": "driver"}}, "policyTypes": ["Egress"]})
	denies := check.deny with input as testing.manifests([js, policy])
	[d.field | some d in denies] == ["spec.replicatedJobs[1].template.spec.template.metadata"]
}

test_conftest_combine_input if {
	got := _results(testing.combined([_vllm, _default_deny]))
	count(got.deny) == 0
	count(got.evidence) == 2
	got_bad := _results(testing.combined_files([_vllm]))
	count(got_bad.deny) == 1
}

test_single_object_input if {
	denies := check.deny with input as _vllm
	count(denies) == 1
}

test_live_scan_reports_unreadable_policies if {
	inp := testing.cluster([_vllm], [["networking.k8s.io", "networkpolicies"]], [["networking.k8s.io", "networkpolicies"]])
	unknowns := check.unknown with input as inp
	unknowns == {{"msg": "networkpolicies.networking.k8s.io could not be read (forbidden); results that depend on them are incomplete"}}
}

test_sandbox_claims_are_judged_through_their_template if {
	tpl := _sandbox_template("extensions.agents.x-k8s.io/v1beta1", {})
	claim := {"apiVersion": "extensions.agents.x-k8s.io/v1beta1", "kind": "SandboxClaim", "metadata": {"name": "c", "namespace": "agents"}, "spec": {"sandboxTemplateRef": {"name": "py"}}}
	got := _results(testing.manifests([tpl, claim]))
	count(got.deny) == 0
	count(got.unknown) == 0
	orphan := _results(testing.manifests([claim]))
	count(orphan.unknown) == 1
}
