# METADATA
# title: Sandboxed runtime for agent workloads
# description: >-
#   Agent workloads run model-generated or otherwise untrusted code, so their pods must run
#   in a sandboxed runtime (gVisor or Kata Containers) selected through a RuntimeClass,
#   not directly on the host kernel.
# custom:
#   id: sandbox-runtime
#   requirements:
#     whitepaper: [SEC-5.3]
#     cncf: [workload_sandboxing]
#   severity: high
#   scope: workload
#   inputs:
#     - {group: node.k8s.io, resource: runtimeclasses}
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: agents.x-k8s.io, resource: sandboxes}
#     - {group: extensions.agents.x-k8s.io, resource: sandboxtemplates}
#     - {group: extensions.agents.x-k8s.io, resource: sandboxclaims}
#     - {group: extensions.agents.x-k8s.io, resource: sandboxwarmpools}
#     - {group: "", resource: pods}
#     - {group: "", resource: podtemplates}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: apps, resource: daemonsets}
#     - {group: apps, resource: replicasets}
#     - {group: batch, resource: jobs}
#     - {group: batch, resource: cronjobs}
#     - {group: jobset.x-k8s.io, resource: jobsets}
#     - {group: leaderworkerset.x-k8s.io, resource: leaderworkersets}
#     - {group: ray.io, resource: rayclusters}
#     - {group: ray.io, resource: rayjobs}
#     - {group: ray.io, resource: rayservices}
#     - {group: serving.kserve.io, resource: inferenceservices}
#     - {group: serving.kserve.io, resource: llminferenceservices}
#   remediation: >-
#     Install a sandboxed runtime on the nodes that run agents (gVisor's `runsc` or Kata
#     Containers), register it with a RuntimeClass, and set `runtimeClassName` in every
#     agent pod template (for agent-sandbox, in the `SandboxTemplate` or `Sandbox`
#     `podTemplate`):
#
#     ```yaml
#     apiVersion: node.k8s.io/v1
#     kind: RuntimeClass
#     metadata:
#       name: gvisor
#     handler: runsc
#     ---
#     # in the agent's pod template
#     spec:
#       runtimeClassName: gvisor
#     ```
#   docs:
#     - https://kubernetes.io/docs/concepts/containers/runtime-class/
#     - https://gvisor.dev/docs/user_guide/containerd/quick_start/
#     - https://github.com/kata-containers/kata-containers/blob/main/docs/how-to/run-kata-with-k8s.md
#     - https://agent-sandbox.sigs.k8s.io/
package kaic.security.sandbox_runtime

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.pods
import data.kaic.lib.runtime
import data.kaic.lib.workloads

# ---------------------------------------------------------------------------
# Platform: sandboxed runtimes and the agent-sandbox API
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": k8s.ref(rc)} if {
	some rc in k8s.objects_of_kind("RuntimeClass")
	h := runtime.handler(rc)
	tech := runtime.sandbox_technology(h)
	msg := sprintf("%s uses handler %s (%s): pods that select it run sandboxed", [k8s.describe(rc), h, tech])
}

evidence contains {"msg": msg, "ref": k8s.crd_ref("agents.x-k8s.io", "sandboxes")} if {
	k8s.crd_defined("agents.x-k8s.io", "sandboxes")
	msg := "The agent-sandbox API (sandboxes.agents.x-k8s.io) is available for isolated agent workloads"
}

# ---------------------------------------------------------------------------
# Agent workloads
# ---------------------------------------------------------------------------

# Agent pod specs. SandboxClaims carry no pod spec: their SandboxTemplate is checked
# instead (it is an agent workload itself), or reported as unknown when not in the input.
_agent_pod_specs contains {"workload": w, "pod": p} if {
	some w in workloads.agent_workloads
	some p in pods.pod_specs(w)
}

deny contains {"msg": msg, "ref": k8s.ref(w), "field": p.path} if {
	some item in _agent_pod_specs
	w := item.workload
	p := item.pod
	not _runtime_class_name(p)
	msg := sprintf(
		"%s is an agent workload but its pod spec at %s sets no runtimeClassName, so its pods share the host kernel; select a gVisor or Kata RuntimeClass",
		[k8s.describe(w), p.path],
	)
}

deny contains {"msg": msg, "ref": k8s.ref(w), "field": k8s.path(p.path, "runtimeClassName")} if {
	some item in _agent_pod_specs
	w := item.workload
	p := item.pod
	rc_name := _runtime_class_name(p)
	rc := runtime.runtime_class(rc_name)
	h := runtime.handler(rc)
	not runtime.is_sandboxed_handler(h)
	msg := sprintf(
		"%s is an agent workload but RuntimeClass %s uses handler %s, which is not a sandboxed runtime (gVisor runsc or Kata)",
		[k8s.describe(w), rc_name, h],
	)
}

# A live scan sees every RuntimeClass: a missing one is a real error (pods would not be
# admitted). In manifests mode it may simply be installed separately.
deny contains {"msg": msg, "ref": k8s.ref(w), "field": k8s.path(p.path, "runtimeClassName")} if {
	some item in _agent_pod_specs
	w := item.workload
	p := item.pod
	rc_name := _runtime_class_name(p)
	not runtime.runtime_class(rc_name)
	k8s.observed("node.k8s.io", "runtimeclasses")
	msg := sprintf(
		"%s selects RuntimeClass %s, which does not exist in the cluster",
		[k8s.describe(w), rc_name],
	)
}

evidence contains {"msg": msg, "ref": k8s.ref(w)} if {
	some item in _agent_pod_specs
	w := item.workload
	p := item.pod
	rc_name := _runtime_class_name(p)
	rc := runtime.runtime_class(rc_name)
	h := runtime.handler(rc)
	tech := runtime.sandbox_technology(h)
	msg := sprintf(
		"%s runs its agent pods (%s) in RuntimeClass %s (handler %s, %s)",
		[k8s.describe(w), p.path, rc_name, h, tech],
	)
}

# RuntimeClass not in the input and not observable: judge by name, and say it is unverified.
evidence contains {"msg": msg, "ref": k8s.ref(w)} if {
	some item in _agent_pod_specs
	w := item.workload
	p := item.pod
	rc_name := _runtime_class_name(p)
	_unverifiable(rc_name)
	runtime.name_suggests_sandbox(rc_name)
	msg := sprintf(
		"%s selects RuntimeClass %s for its agent pods (%s); the name indicates a sandboxed runtime",
		[k8s.describe(w), rc_name, p.path],
	)
}

unknown contains {"msg": msg} if {
	some item in _agent_pod_specs
	w := item.workload
	p := item.pod
	rc_name := _runtime_class_name(p)
	_unverifiable(rc_name)
	msg := sprintf(
		"%s selects RuntimeClass %s, which is not in the input: whether its handler is sandboxed can only be verified against the cluster",
		[k8s.describe(w), rc_name],
	)
}

unknown contains item if {
	some item in workloads.unresolved_claim_unknowns("the runtime of its sandbox")
}

# A bundle that shows no such capability is "No" (DESIGN: platform facts come only from the
# objects in the bundle), like every other platform check; a live scan decides for the cluster.

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["node.k8s.io", "runtimeclasses"],
		["agents.x-k8s.io", "sandboxes"],
		["extensions.agents.x-k8s.io", "sandboxtemplates"],
	])
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

_runtime_class_name(p) := name if {
	name := p.spec.runtimeClassName
	is_string(name)
	name != ""
}

_unverifiable(rc_name) if {
	not runtime.runtime_class(rc_name)
	not k8s.observed("node.k8s.io", "runtimeclasses")
}

_platform_evidence if {
	some rc in k8s.objects_of_kind("RuntimeClass")
	runtime.is_sandboxed_handler(runtime.handler(rc))
}

_platform_evidence if k8s.crd_defined("agents.x-k8s.io", "sandboxes")
