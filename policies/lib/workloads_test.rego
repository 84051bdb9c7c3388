package kaic.lib.workloads_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.lib.workloads

_deployment(labels, template_labels, resources) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "d", "namespace": "ml", "labels": labels},
	"spec": {"template": {
		"metadata": {"labels": template_labels},
		"spec": {"containers": [{"name": "c", "image": "x", "resources": resources}]},
	}},
}

_class(obj) := c if c := workloads.class(obj) else := "none"

test_class_table if {
	gpu := {"limits": {"nvidia.com/gpu": 1}}
	cases := [
		["plain deployment", _deployment({}, {}, {}), "none"],
		["label on object", _deployment({"kaic.dev/workload": "agent"}, {}, {}), "agent"],
		["label on template", _deployment({}, {"kaic.dev/workload": "training"}, {}), "training"],
		["object label wins", _deployment({"kaic.dev/workload": "inference"}, {"kaic.dev/workload": "agent"}, gpu), "inference"],
		["unknown label value ignored", _deployment({"kaic.dev/workload": "batch"}, {}, gpu), "accelerated"],
		["nvidia gpu", _deployment({}, {}, gpu), "accelerated"],
		["amd gpu request", _deployment({}, {}, {"requests": {"amd.com/gpu": 1}}), "accelerated"],
		["intel gpu", _deployment({}, {}, {"limits": {"gpu.intel.com/i915": 1}}), "accelerated"],
		["tpu", _deployment({}, {}, {"limits": {"google.com/tpu": 4}}), "accelerated"],
		["neuron", _deployment({}, {}, {"limits": {"aws.amazon.com/neuroncore": 2}}), "accelerated"],
		["mig", _deployment({}, {}, {"limits": {"nvidia.com/mig-1g.5gb": 1}}), "accelerated"],
		["dra claim on container", _deployment({}, {}, {"claims": [{"name": "gpu"}]}), "accelerated"],
		["cpu only", _deployment({}, {}, {"limits": {"cpu": 4}}), "none"],
		["InferenceService", {"kind": "InferenceService", "metadata": {"name": "i"}, "spec": {}}, "inference"],
		["JobSet", {"kind": "JobSet", "metadata": {"name": "j"}, "spec": {}}, "training"],
		["TrainJob", {"kind": "TrainJob", "metadata": {"name": "t"}, "spec": {}}, "training"],
		["Sandbox", {"kind": "Sandbox", "metadata": {"name": "s"}, "spec": {}}, "agent"],
		["SandboxClaim", {"kind": "SandboxClaim", "metadata": {"name": "s"}, "spec": {}}, "agent"],
	]
	every c in cases {
		_class(c[1]) == c[2]
	}
}

test_pod_level_resource_claims_count_as_accelerators if {
	pod := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {
		"resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": "single-gpu"}],
		"containers": [{"name": "c", "image": "ubuntu:22.04"}],
	}}
	workloads.class(pod) == "accelerated"
}

test_ai_workloads_skip_controlled_children_and_non_workloads if {
	deploy := object.union(_deployment({"kaic.dev/workload": "inference"}, {}, {}), {"metadata": {"uid": "d1"}})
	rs := {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
		"name": "d-1", "namespace": "ml", "labels": {"kaic.dev/workload": "inference"},
		"ownerReferences": [{"kind": "Deployment", "name": "d", "uid": "d1", "controller": true}],
	}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}}
	cm := {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "labels": {"kaic.dev/workload": "inference"}}}
	svc := {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "labels": {"kaic.dev/workload": "inference"}}}
	inp := testing.manifests([deploy, rs, cm, svc])
	got := workloads.ai_workloads with input as inp
	got == [deploy]
	by_class := workloads.inference_workloads with input as inp
	by_class == [deploy]
	agents := workloads.agent_workloads with input as inp
	agents == []
}

test_sandbox_claim_resolution if {
	tpl := {"apiVersion": "extensions.agents.x-k8s.io/v1beta1", "kind": "SandboxTemplate", "metadata": {"name": "t", "namespace": "a"}, "spec": {}}
	pool := {"apiVersion": "extensions.agents.x-k8s.io/v1beta1", "kind": "SandboxWarmPool", "metadata": {"name": "p", "namespace": "a"}, "spec": {"sandboxTemplateRef": {"name": "t"}}}
	via_pool := {"apiVersion": "extensions.agents.x-k8s.io/v1beta1", "kind": "SandboxClaim", "metadata": {"name": "c1", "namespace": "a"}, "spec": {"warmPoolRef": {"name": "p"}}}
	direct := {"apiVersion": "extensions.agents.x-k8s.io/v1beta1", "kind": "SandboxClaim", "metadata": {"name": "c2", "namespace": "a"}, "spec": {"sandboxTemplateRef": {"name": "t"}}}
	dangling := {"apiVersion": "extensions.agents.x-k8s.io/v1beta1", "kind": "SandboxClaim", "metadata": {"name": "c3", "namespace": "a"}, "spec": {"sandboxTemplateRef": {"name": "missing"}}}
	inp := testing.manifests([tpl, pool, via_pool, direct, dangling])
	got_pool := workloads.sandbox_template(via_pool) with input as inp
	got_pool == tpl
	got_direct := workloads.sandbox_template(direct) with input as inp
	got_direct == tpl
	not workloads.sandbox_template(dangling) with input as inp
	unknowns := workloads.unresolved_claim_unknowns("its runtime") with input as inp
	unknowns == {{"msg": "SandboxClaim a/c3: its SandboxTemplate (missing) is not in the input, so its runtime cannot be checked"}}
}

# class(obj) reads the per-query table for objects of the input and computes the same
# answer for objects that are not in it.
test_class_is_the_same_from_the_table_and_computed if {
	gpu := {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "g"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}}
	web := {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}, "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}
	inp := {"objects": [gpu, web]}
	workloads.class(gpu) == "accelerated" with input as inp
	workloads.class(gpu) == "accelerated" with input as {"objects": []}
	not workloads.class(web) with input as inp
	not workloads.class(web) with input as {"objects": []}
	workloads._class_of[web] == "" with input as inp
	[x.object | some x in workloads.classified] == [gpu] with input as inp
}
