# METADATA
# title: Confidential computing for sensitive AI workloads
# description: >-
#   The platform offers confidential computing (hardware TEEs such as Intel TDX, AMD SEV-SNP,
#   IBM Secure Execution or Arm CCA, through Confidential Containers RuntimeClasses), and
#   workloads that declare they need it (label kaic.dev/confidential: "true") run in a
#   RuntimeClass backed by a hardware TEE.
# custom:
#   id: confidential-computing
#   requirements:
#     whitepaper: [SEC-5.4]
#   severity: medium
#   scope: workload
#   inputs:
#     - {group: node.k8s.io, resource: runtimeclasses}
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: confidentialcontainers.org, resource: ccruntimes}
#     - {group: nvidia.com, resource: clusterpolicies}
#     - {group: "", resource: nodes}
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
#     - {group: agents.x-k8s.io, resource: sandboxes}
#     - {group: extensions.agents.x-k8s.io, resource: sandboxtemplates}
#   remediation: >-
#     Install Confidential Containers (the CoCo operator, or kata-deploy with the TEE shims) on
#     nodes with TDX or SEV-SNP enabled, and run every workload labelled
#     `kaic.dev/confidential: "true"` in a RuntimeClass backed by a hardware TEE
#     (`kata-qemu-coco-dev` is for development only: it has no TEE):
#
#     ```yaml
#     apiVersion: apps/v1
#     kind: Deployment
#     metadata:
#       name: private-llm
#       labels:
#         kaic.dev/confidential: "true"
#     spec:
#       template:
#         spec:
#           runtimeClassName: kata-qemu-nvidia-gpu-snp
#     ```
#   docs:
#     - https://confidentialcontainers.org/docs/getting-started/
#     - https://github.com/kata-containers/kata-containers/tree/main/tools/packaging/kata-deploy
#     - https://kubernetes-sigs.github.io/node-feature-discovery/stable/usage/customization-guide.html
#     - https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/gpu-operator-confidential-containers.html
package kaic.security.confidential_computing

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.pods
import data.kaic.lib.runtime

# The label a workload (or its pod template) carries to say it must run in a TEE.
label_key := "kaic.dev/confidential"

# ---------------------------------------------------------------------------
# Confidential runtimes
# ---------------------------------------------------------------------------

# Name tokens (split on "-") of Confidential Containers runtimes and what they run on.
_tee_tokens := {
	"tdx": "Intel TDX",
	"snp": "AMD SEV-SNP",
	"sev": "AMD SEV",
	"se": "IBM Secure Execution",
	"cca": "Arm CCA",
	"sgx": "Intel SGX",
}

# tee(name): the TEE a runtime handler or RuntimeClass name stands for; "none" for the
# CoCo development runtimes, which run the CoCo stack without hardware protection.
tee(name) := "none" if {
	is_string(name)
	contains(lower(name), "coco-dev")
} else := found[0] if {
	is_string(name)
	lowered := lower(name)
	_is_coco_runtime(lowered)
	found := [t | some token in split(lowered, "-"); t := _tee_tokens[token]]
	count(found) > 0
}

# Kata shims (kata-qemu-tdx, kata-qemu-nvidia-gpu-snp, ...) and enclave-cc (SGX).
_is_coco_runtime(lowered) if contains(lowered, "kata")

_is_coco_runtime(lowered) if startswith(lowered, "enclave-cc")

hardware_tee(name) if {
	t := tee(name)
	t != "none"
}

# The TEE of a RuntimeClass: judged by its handler.
_rc_tee(rc) := tee(runtime.handler(rc))

evidence contains {"msg": msg, "ref": k8s.ref(rc)} if {
	some rc in k8s.objects_of_kind("RuntimeClass")
	t := _rc_tee(rc)
	t != "none"
	msg := sprintf("%s uses the Confidential Containers handler \"%s\" (%s)", [k8s.describe(rc), runtime.handler(rc), t])
}

# A development runtime alone is not confidential computing: it is only flagged.
warn contains {"msg": msg, "ref": k8s.ref(rc), "field": "handler"} if {
	some rc in k8s.objects_of_kind("RuntimeClass")
	_rc_tee(rc) == "none"
	msg := sprintf(
		"%s (handler \"%s\") runs Confidential Containers without a hardware TEE: use it for development only",
		[k8s.describe(rc), runtime.handler(rc)],
	)
}

evidence contains {"msg": msg, "ref": _crd_ref("confidentialcontainers.org", "ccruntimes")} if {
	k8s.crd_defined("confidentialcontainers.org", "ccruntimes")
	msg := "The Confidential Containers operator API (ccruntimes.confidentialcontainers.org) is installed"
}

evidence contains {"msg": msg, "ref": k8s.ref(cc)} if {
	some cc in k8s.objects_of_kind("CcRuntime")
	k8s.group(cc) == "confidentialcontainers.org"
	msg := sprintf("%s installs the Confidential Containers runtimes", [k8s.describe(cc)])
}

# NVIDIA GPU Operator: confidential computing manager for Hopper/Blackwell CC mode.
evidence contains {"msg": msg, "ref": k8s.ref(cp)} if {
	some cp in k8s.objects_of_kind("ClusterPolicy")
	k8s.group(cp) == "nvidia.com"
	cp.spec.ccManager.enabled == true
	msg := sprintf("%s enables the GPU Operator's confidential computing manager (ccManager)", [k8s.describe(cp)])
}

# ---------------------------------------------------------------------------
# Nodes with TEEs (Node Feature Discovery labels, NVIDIA GPU CC mode)
# ---------------------------------------------------------------------------

_node_labels := {
	"feature.node.kubernetes.io/cpu-security.tdx.enabled": "Intel TDX",
	"feature.node.kubernetes.io/cpu-security.tdx.protected": "Intel TDX",
	"feature.node.kubernetes.io/cpu-security.sev.enabled": "AMD SEV",
	"feature.node.kubernetes.io/cpu-security.sev.es.enabled": "AMD SEV-ES",
	"feature.node.kubernetes.io/cpu-security.sev.snp.enabled": "AMD SEV-SNP",
	"feature.node.kubernetes.io/cpu-security.se.enabled": "IBM Secure Execution",
	"feature.node.kubernetes.io/cpu-security.sgx.enabled": "Intel SGX",
	"intel.feature.node.kubernetes.io/tdx": "Intel TDX",
	"amd.feature.node.kubernetes.io/snp": "AMD SEV-SNP",
}

evidence contains {"msg": msg, "ref": k8s.ref(node)} if {
	some node in k8s.objects_of_kind("Node")
	techs := {t | some key; t := _node_labels[key]; k8s.label(node, key) == "true"}
	count(techs) > 0
	msg := sprintf("%s has a confidential-computing CPU: %s", [k8s.describe(node), concat(", ", sort(techs))])
}

evidence contains {"msg": msg, "ref": k8s.ref(node)} if {
	some node in k8s.objects_of_kind("Node")
	mode := k8s.label(node, "nvidia.com/cc.mode")
	mode in {"on", "devtools", "ppcie"}
	msg := sprintf("%s has its NVIDIA GPUs in confidential computing mode (nvidia.com/cc.mode=%s)", [k8s.describe(node), mode])
}

# ---------------------------------------------------------------------------
# Workloads that ask for confidential computing
# ---------------------------------------------------------------------------

# Objects labelled kaic.dev/confidential=true (on the object or a pod template): an
# explicit opt-in, so it applies to any workload kind, AI-classified or not.
_confidential_pods contains {"workload": w, "pod": p} if {
	some kind in pods.workload_kinds
	some w in k8s.objects_of_kind(kind)
	not k8s.controller_in_input(w)
	specs := pods.pod_specs(w)
	_requests_confidential(w, specs)
	some p in specs
}

_requests_confidential(w, _) if lower(k8s.label(w, label_key)) == "true"

_requests_confidential(_, specs) if {
	some p in specs
	lower(k8s.as_string(object.get(k8s.object_at(p.metadata, "labels"), label_key, ""))) == "true"
}

deny contains {"msg": msg, "ref": k8s.ref(w), "field": p.path} if {
	some item in _confidential_pods
	w := item.workload
	p := item.pod
	not _runtime_class_name(p)
	msg := sprintf(
		"%s is labelled %s=true but its pod spec at %s sets no runtimeClassName: its pods run without a TEE; select a Confidential Containers RuntimeClass (e.g. kata-qemu-tdx, kata-qemu-snp)",
		[k8s.describe(w), label_key, p.path],
	)
}

deny contains {"msg": msg, "ref": k8s.ref(w), "field": k8s.path(p.path, "runtimeClassName")} if {
	some item in _confidential_pods
	w := item.workload
	p := item.pod
	rc_name := _runtime_class_name(p)
	rc := runtime.runtime_class(rc_name)
	not hardware_tee(runtime.handler(rc))
	msg := sprintf(
		"%s is labelled %s=true but RuntimeClass \"%s\" (handler \"%s\") is not backed by a hardware TEE",
		[k8s.describe(w), label_key, rc_name, runtime.handler(rc)],
	)
}

deny contains {"msg": msg, "ref": k8s.ref(w), "field": k8s.path(p.path, "runtimeClassName")} if {
	some item in _confidential_pods
	w := item.workload
	p := item.pod
	rc_name := _runtime_class_name(p)
	not runtime.runtime_class(rc_name)
	k8s.observed("node.k8s.io", "runtimeclasses")
	msg := sprintf("%s selects RuntimeClass \"%s\", which does not exist in the cluster", [k8s.describe(w), rc_name])
}

# The RuntimeClass is not in the input and cannot be observed: judge by its name.
deny contains {"msg": msg, "ref": k8s.ref(w), "field": k8s.path(p.path, "runtimeClassName")} if {
	some item in _confidential_pods
	w := item.workload
	p := item.pod
	rc_name := _runtime_class_name(p)
	_unverifiable(rc_name)
	tee(rc_name) == "none"
	msg := sprintf(
		"%s is labelled %s=true but selects RuntimeClass \"%s\", a Confidential Containers development runtime without a hardware TEE",
		[k8s.describe(w), label_key, rc_name],
	)
}

evidence contains {"msg": msg, "ref": k8s.ref(w)} if {
	some item in _confidential_pods
	w := item.workload
	p := item.pod
	rc_name := _runtime_class_name(p)
	rc := runtime.runtime_class(rc_name)
	t := _rc_tee(rc)
	t != "none"
	msg := sprintf("%s runs its pods (%s) in the confidential RuntimeClass \"%s\" (%s)", [k8s.describe(w), p.path, rc_name, t])
}

evidence contains {"msg": msg, "ref": k8s.ref(w)} if {
	some item in _confidential_pods
	w := item.workload
	p := item.pod
	rc_name := _runtime_class_name(p)
	_unverifiable(rc_name)
	hardware_tee(rc_name)
	msg := sprintf(
		"%s selects RuntimeClass \"%s\" for its pods (%s); the name indicates a %s Confidential Containers runtime",
		[k8s.describe(w), rc_name, p.path, tee(rc_name)],
	)
}

unknown contains {"msg": msg} if {
	some item in _confidential_pods
	w := item.workload
	p := item.pod
	rc_name := _runtime_class_name(p)
	_unverifiable(rc_name)
	not tee(rc_name)
	msg := sprintf(
		"%s is labelled %s=true and selects RuntimeClass \"%s\", which is not in the input: whether it is backed by a TEE can only be verified against the cluster",
		[k8s.describe(w), label_key, rc_name],
	)
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["node.k8s.io", "runtimeclasses"],
		["", "nodes"],
		["confidentialcontainers.org", "ccruntimes"],
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

# The CustomResourceDefinition of group/plural as a finding ref (k8s.crd_ref, built with
# concat: rego-cpp renders sprintf of computed strings with stray quotes).
_crd_ref(group, plural) := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"namespace": "",
	"name": concat(".", [plural, group]),
}
