# METADATA
# title: Disaggregated (prefill/decode) inference
# description: >-
#   The platform serves LLMs with prefill and decode disaggregated onto separate pods:
#   llm-d (pod label `llm-d.ai/role: prefill|decode`), KServe LLMInferenceService with a
#   `spec.prefill` section, NVIDIA Dynamo DynamoGraphDeployments (nvidia.com) with prefill
#   and decode workers, or vLLM / SGLang servers (Deployments, LeaderWorkerSets) configured
#   as KV producers and consumers (`kv_role: kv_producer|kv_consumer`,
#   `--disaggregation-mode prefill|decode`). Evidence needs both sides in a namespace (or
#   in one object); a namespace with only one side is a warning. A pod template whose
#   declared role contradicts its engine configuration (a prefill pod configured as KV
#   consumer) or an unknown `llm-d.ai/role` value is a violation. Role labels, engine flags
#   and (as a last resort) workload names that contain "prefill" or "decode" mark a
#   workload as disaggregated serving even when it requests no accelerator.
# custom:
#   id: disaggregated-inference
#   requirements:
#     whitepaper: []
#     cncf: [disaggregated_inference]
#   severity: low
#   scope: platform
#   inputs:
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: leaderworkerset.x-k8s.io, resource: leaderworkersets}
#     - {group: serving.kserve.io, resource: llminferenceservices}
#     - {group: nvidia.com, resource: dynamographdeployments}
#     - {group: "", resource: pods}
#   remediation: |-
#     Run prefill and decode as separate pools and let the endpoint picker pair them, for
#     example with KServe:
#
#     ```yaml
#     apiVersion: serving.kserve.io/v1alpha2
#     kind: LLMInferenceService
#     metadata:
#       name: qwen2-7b-pd
#     spec:
#       model: {uri: hf://Qwen/Qwen2.5-7B-Instruct}
#       replicas: 1            # decode
#       router: {route: {}, gateway: {}, scheduler: {}}
#       prefill:
#         replicas: 2
#     ```
#
#     or label llm-d model servers `llm-d.ai/role: prefill` and `llm-d.ai/role: decode`.
#   docs:
#     - https://llm-d.ai/docs/architecture
#     - https://docs.nvidia.com/dynamo/latest/
#     - https://kserve.github.io/website/docs/model-serving/generative-inference/llmisvc/llmisvc-overview
package kaic.networking.disaggregated_inference

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.platform
import data.kaic.lib.workload_index as windex
import data.kaic.lib.pods

role_label := "llm-d.ai/role"

_valid_roles := {"prefill", "decode", "both"}

# ---------------------------------------------------------------------------
# Roles of pod templates
# ---------------------------------------------------------------------------

# One entry per pod template with a role signal:
#   {w, ns, declared, source, field, configured}
# declared: role from the llm-d label, the LLMInferenceService structure or the name;
# configured: roles the engine flags give ({} when none).
_entries contains entry if {
	some t in windex.pod_templates
	w := t.w
	specs := t.specs
	containers := pods.containers(w)
	some p in specs
	configured := {r | some c in containers; c.pod_path == p.path; some r in _engine_roles(c.container)}
	[declared, source, field] := _declared(w, p, configured)
	entry := {"w": w, "ns": k8s.namespace(w), "declared": declared, "source": source, "field": field, "configured": configured}
}

_declared(w, p, configured) := [v, "label", platform.label_field(k8s.path(p.metadata_path, "labels"), role_label)] if {
	v := _template_label(p)
} else := ["prefill", "structure", p.path] if {
	w.kind == "LLMInferenceService"
	startswith(p.path, "spec.prefill")
} else := ["decode", "structure", p.path] if {
	w.kind == "LLMInferenceService"
	is_object(w.spec.prefill)
} else := [r, "engine", p.path] if {
	some r in configured
} else := [r, "name", "metadata.name"] if {
	# Names are the weakest signal: AI workloads only, whole name segments only.
	some r in ["prefill", "decode"]
	regex.match(sprintf(`(^|[-_.])%s([-_.]|$)`, [r]), lower(k8s.name(w)))
	windex.object_key(w) in windex.ai_keys
}

_template_label(p) := v if {
	v := k8s.object_at(p.metadata, "labels")[role_label]
	is_string(v)
} else := v if {
	v := k8s.as_object(p.labels)[role_label]
	is_string(v)
}

# Engine flags: vLLM kv_transfer_config roles and SGLang --disaggregation-mode.
_engine_roles(container) := {r |
	text := _container_text(container)
	some [pattern, r] in [
		[`kv_role\W+kv_producer`, "prefill"],
		[`kv_role\W+kv_consumer`, "decode"],
		[`disaggregation-mode[\s="']+prefill`, "prefill"],
		[`disaggregation-mode[\s="']+decode`, "decode"],
		[`--is-prefill-worker`, "prefill"],
	]
	regex.match(pattern, text)
}

_container_text(c) := concat(" ", array.concat(
	[s | some key in ["command", "args"]; some s in k8s.array_at(c, key); is_string(s)],
	[s | some e in k8s.array_at(c, "env"); s := e.value; is_string(s)],
))

# NVIDIA Dynamo graphs: roles of the services of each DynamoGraphDeployment.
_dynamo_roles(dgd) := {r |
	some name, svc in k8s.object_at(k8s.object_at(dgd, "spec"), "services")
	some r in ["prefill", "decode"]
	_dynamo_service_role(name, svc, r)
}

_dynamo_service_role(_, svc, r) if lower(k8s.string_at(svc, "subComponentType")) == r

_dynamo_service_role(name, _, r) if contains(lower(name), r)

_dgds := platform.of_kind("nvidia.com", "DynamoGraphDeployment")

# Namespaces and the roles present in each; workloads per "namespace|role". Read through
# object.get so that each index is built once per query.
_role_index[ns] contains e.declared if {
	some e in _entries
	ns := e.ns
}

_roles_by_ns[ns] := roles if {
	some ns, roles in _role_index
}

_described_index[key] contains k8s.describe(e.w) if {
	some e in _entries
	key := concat("|", [e.ns, e.declared])
}

_described[key] := names if {
	some key, names in _described_index
}

_decode_index[ns] contains e.w if {
	some e in _entries
	e.declared == "decode"
	ns := e.ns
}

_decode_servers[ns] := ws if {
	some ns, ws in _decode_index
}

_sides := {"prefill", "decode"}

# ---------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": k8s.ref(first)} if {
	some ns, roles in _roles_by_ns
	_sides & roles == _sides
	prefill := sort(object.get(_described, concat("|", [ns, "prefill"]), set()))
	decode := sort(object.get(_described, concat("|", [ns, "decode"]), set()))
	first := [w | some w in object.get(_decode_servers, ns, set())][0]
	msg := sprintf("Namespace %s serves disaggregated inference: prefill on %s, decode on %s", [ns, concat(", ", prefill), concat(", ", decode)])
}

evidence contains {"msg": msg, "ref": k8s.ref(dgd)} if {
	some dgd in _dgds
	_dynamo_roles(dgd) == _sides
	msg := sprintf("%s runs separate prefill and decode workers (NVIDIA Dynamo)", [k8s.describe(dgd)])
}

evidence contains {"msg": msg, "ref": platform.crd_ref("nvidia.com", "dynamographdeployments")} if {
	platform.kind_defined("nvidia.com", "DynamoGraphDeployment")
	msg := "NVIDIA Dynamo's DynamoGraphDeployment API is installed"
}

# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------

deny contains {"msg": msg, "ref": k8s.ref(e.w), "field": e.field} if {
	some e in _entries
	e.source in {"label", "structure"}
	e.declared in _sides
	some other in e.configured
	other != e.declared
	msg := sprintf("%s: the pod template at %s is a %s pod but its engine is configured for %s (KV transfer role or disaggregation mode); the KV cache never reaches the decode pods", [k8s.describe(e.w), _template_path(e), e.declared, other])
}

_template_path(e) := e.field if e.source == "structure" else := trim_suffix(e.field, sprintf(`.labels["%s"]`, [role_label]))

deny contains {"msg": msg, "ref": k8s.ref(e.w), "field": e.field} if {
	some e in _entries
	e.source == "label"
	not e.declared in _valid_roles
	msg := sprintf("%s has %s=%s; llm-d recognises only prefill, decode and both, so the scheduler ignores these pods", [k8s.describe(e.w), role_label, e.declared])
}

# ---------------------------------------------------------------------------
# Advice
# ---------------------------------------------------------------------------

warn contains {"msg": msg, "ref": k8s.ref(e.w), "field": e.field} if {
	some e in _entries
	e.declared in _sides
	roles := object.get(_roles_by_ns, e.ns, set())
	count(_sides & roles) == 1
	missing := [r | some r in _sides; not r in roles][0]
	msg := sprintf("%s is a %s server but namespace %s has no %s server; disaggregated serving needs both", [k8s.describe(e.w), e.declared, e.ns, missing])
}

warn contains {"msg": msg, "ref": k8s.ref(dgd), "field": "spec.services"} if {
	some dgd in _dgds
	roles := _dynamo_roles(dgd)
	count(roles) == 1
	msg := sprintf("%s has only %s workers; disaggregated serving needs both prefill and decode", [k8s.describe(dgd), concat("", roles)])
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["apps", "deployments"],
		["leaderworkerset.x-k8s.io", "leaderworkersets"],
		["serving.kserve.io", "llminferenceservices"],
		["nvidia.com", "dynamographdeployments"],
	])
}
