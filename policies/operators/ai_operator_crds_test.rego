package kaic.operators.ai_operator_crds_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.operators.ai_operator_crds as check

_crd(group, kind, plural) := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"metadata": {"name": sprintf("%s.%s", [plural, group])},
	"spec": {"group": group, "names": {"kind": kind, "plural": plural}, "scope": "Namespaced"},
}

_established(crd, status) := object.union(crd, {"status": {"conditions": [{"type": "Established", "status": status}]}})

_with_conversion(crd, ca) := object.union(crd, {"spec": {"conversion": {"strategy": "Webhook", "webhook": {"clientConfig": object.union({"service": {"name": "kuberay-webhook", "namespace": "ray-system"}}, ca)}}}})

_ray_crd := _crd("ray.io", "RayCluster", "rayclusters")

_operator(name, available) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": name, "namespace": "ray-system"},
	"spec": {"template": {"spec": {"containers": [{"name": "manager", "image": "quay.io/kuberay/operator:v1.4.2"}]}}},
	"status": {"conditions": [{"type": "Available", "status": available}]},
}

_declared_operator := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "kuberay-operator", "namespace": "ray-system"},
	"spec": {"template": {"spec": {"containers": [{"name": "manager", "image": "quay.io/kuberay/operator:v1.4.2"}]}}},
}

_webhook_config(ca, annotations) := {
	"apiVersion": "admissionregistration.k8s.io/v1",
	"kind": "ValidatingWebhookConfiguration",
	"metadata": {"name": "kuberay-validating", "annotations": annotations},
	"webhooks": [{"name": "vraycluster.ray.io", "clientConfig": object.union({"service": {"name": "kuberay-webhook", "namespace": "ray-system"}}, ca), "rules": [{"apiGroups": ["ray.io"], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["rayclusters"]}]}],
}

_raycluster := {
	"apiVersion": "ray.io/v1",
	"kind": "RayCluster",
	"metadata": {"name": "raycluster", "namespace": "ml"},
	"spec": {"headGroupSpec": {"template": {"spec": {"containers": [{"name": "ray-head", "image": "rayproject/ray:2.46.0"}]}}}},
}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"CRD and declared controller": {
		"objects": [_ray_crd, _declared_operator],
		"want": {"deny": 0, "evidence": 2, "warn": 0, "unknown": 0},
	},
	"CRD Established=False": {
		"objects": [_established(_ray_crd, "False"), _operator("kuberay-operator", "True")],
		"want": {"deny": 1, "evidence": 1},
	},
	"controller not available": {
		"objects": [_ray_crd, _operator("kuberay-operator", "False")],
		"want": {"deny": 1, "evidence": 1},
	},
	"CRDs without a controller in a bundle": {
		"objects": [_ray_crd],
		"want": {"deny": 0, "evidence": 1, "warn": 1},
	},
	"conversion webhook without caBundle in a bundle is a warning": {
		"objects": [_with_conversion(_ray_crd, {}), _declared_operator],
		"want": {"deny": 0, "warn": 1},
	},
	"conversion webhook with caBundle": {
		"objects": [_with_conversion(_ray_crd, {"caBundle": "LS0tLS1CRUdJTi"}), _declared_operator],
		"want": {"deny": 0, "warn": 0},
	},
	"admission webhook injected by cert-manager": {
		"objects": [_ray_crd, _declared_operator, _webhook_config({}, {"cert-manager.io/inject-ca-from": "ray-system/serving-cert"})],
		"want": {"deny": 0, "warn": 0},
	},
	"custom resource whose kind has no CRD although the group is installed": {
		"objects": [_crd("ray.io", "RayJob", "rayjobs"), _declared_operator, _raycluster],
		"want": {"deny": 1, "evidence": 2},
	},
	"custom resources without any CRD of the group": {
		"objects": [_raycluster],
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
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

test_live_missing_controller_and_webhook_ca_deny if {
	inp := testing.cluster([_ray_crd, _webhook_config({}, {})], [["ray.io", "rayclusters"]], [])
	denies := check.deny with input as inp
	fields := {d.field | some d in denies}
	fields == {"spec", "webhooks[0].clientConfig.caBundle"}
}

test_live_served_group_is_evidence_without_crd_object if {
	inp := testing.cluster([], [], [])
	resources := [{"group": "trainer.kubeflow.org", "version": "v1alpha1", "resource": "trainjobs", "kind": "TrainJob", "namespaced": true}]
	live := json.patch(inp, [{"op": "replace", "path": "/cluster/api_resources", "value": resources}])
	evidence := check.evidence with input as live
	[e.msg | some e in evidence] == ["Kubeflow Trainer: the API trainer.kubeflow.org (TrainJob) is installed"]
}

test_catalogue_is_configurable if {
	agent_tool := _crd("agents.example.dev", "AgentTool", "agenttools")
	params := [{"name": "Example agents", "group": "agents.example.dev", "kinds": ["AgentTool"], "controllers": ["example-agents"]}]
	evidence := check.evidence with input as testing.manifests([agent_tool, _ray_crd]) with data.kaic.params.ai_operator_crds as params
	[e.msg | some e in evidence] == ["Example agents: the API agents.example.dev (AgentTool) is installed"]
}

test_default_catalogue_names_agent_tool if {
	some e in check.catalogue
	"AgentTool" in e.kinds
}

test_odd_types_do_not_break if {
	odd := [{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": null, "spec": 5}, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kuberay-operator"}, "status": "x"}]
	got := _results(testing.manifests(odd))
	count(got.deny) == 0
}

test_conftest_combine_input if {
	got := _results(testing.combined([_established(_ray_crd, "False"), _declared_operator]))
	count(got.deny) == 1
}
