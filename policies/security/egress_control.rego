# METADATA
# title: Egress restricted for AI workloads
# description: >-
#   Every namespace that runs AI workloads has network policies that restrict the egress
#   of those pods (ideally a default-deny egress policy plus explicit allows), so a
#   compromised model server, agent or training job cannot reach arbitrary destinations.
# custom:
#   id: egress-control
#   requirements:
#     whitepaper: [SEC-5.1]
#   severity: high
#   scope: workload
#   inputs:
#     - {group: networking.k8s.io, resource: networkpolicies}
#     - {group: "", resource: namespaces}
#     - {group: policy.networking.k8s.io, resource: adminnetworkpolicies}
#     - {group: policy.networking.k8s.io, resource: baselineadminnetworkpolicies}
#     - {group: policy.networking.k8s.io, resource: clusternetworkpolicies}
#     - {group: cilium.io, resource: ciliumnetworkpolicies}
#     - {group: cilium.io, resource: ciliumclusterwidenetworkpolicies}
#     - {group: crd.projectcalico.org, resource: networkpolicies}
#     - {group: crd.projectcalico.org, resource: globalnetworkpolicies}
#     - {group: extensions.agents.x-k8s.io, resource: sandboxtemplates}
#     - {group: extensions.agents.x-k8s.io, resource: sandboxclaims}
#     - {group: extensions.agents.x-k8s.io, resource: sandboxwarmpools}
#     - {group: agents.x-k8s.io, resource: sandboxes}
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
#     - {group: trainer.kubeflow.org, resource: trainjobs}
#     - {group: trainer.kubeflow.org, resource: trainingruntimes}
#     - {group: kubeflow.org, resource: pytorchjobs}
#     - {group: kubeflow.org, resource: mpijobs}
#     - {group: ray.io, resource: rayclusters}
#     - {group: ray.io, resource: rayjobs}
#     - {group: ray.io, resource: rayservices}
#     - {group: serving.kserve.io, resource: inferenceservices}
#     - {group: serving.kserve.io, resource: llminferenceservices}
#   remediation: >-
#     Add a default-deny egress NetworkPolicy to every namespace that runs AI workloads,
#     then allow only what the workloads need (DNS, the model registry, the inference
#     gateway). `policyTypes` must include `Egress`: a policy that lists only `Ingress`
#     does not restrict egress at all, and a rule without `to` and `ports` allows
#     everything.
#
#     ```yaml
#     apiVersion: networking.k8s.io/v1
#     kind: NetworkPolicy
#     metadata:
#       name: default-deny-egress
#       namespace: inference
#     spec:
#       podSelector: {}
#       policyTypes: [Egress]
#     ---
#     apiVersion: networking.k8s.io/v1
#     kind: NetworkPolicy
#     metadata:
#       name: allow-dns
#       namespace: inference
#     spec:
#       podSelector: {}
#       policyTypes: [Egress]
#       egress:
#         - to:
#             - namespaceSelector:
#                 matchLabels:
#                   kubernetes.io/metadata.name: kube-system
#           ports:
#             - {protocol: UDP, port: 53}
#     ```
#
#     Whether policies are enforced depends on the CNI (Flannel alone ignores them); only
#     an active probe proves enforcement.
#   docs:
#     - https://kubernetes.io/docs/concepts/services-networking/network-policies/
#     - https://network-policy-api.sigs.k8s.io/
#     - https://docs.cilium.io/en/stable/security/policy/
package kaic.security.egress_control

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.netpol
import data.kaic.lib.pods
import data.kaic.lib.workloads

# ---------------------------------------------------------------------------
# The pods to protect: every pod group of every AI workload, with the policies that
# restrict its egress. SandboxClaims are judged through their SandboxTemplate; cluster-
# scoped blueprints have no namespace of their own.
# ---------------------------------------------------------------------------

_groups := [g |
	some x in workloads.classified
	w := x.object
	w.kind != "SandboxClaim"
	workloads.pods_run_in_namespace(w)
	ns := k8s.namespace(w)
	some s in pods.pod_label_sets(w)
	g := {
		"workload": w,
		"class": x.class,
		"namespace": ns,
		"labels": s.labels,
		"path": s.path,
		"controls": netpol.egress_controls(ns, s.labels),
		"sandbox_policy": _sandbox_policy(w),
	}
]

# agent-sandbox: a SandboxTemplate's sandboxes get a NetworkPolicy from the controller
# unless networkPolicyManagement is Unmanaged: the rules in spec.networkPolicy, or (v1beta1)
# a secure default that allows only the public internet.
_sandbox_policy(w) := {"kind": "custom", "open_rules": open_rules} if {
	_sandbox_policy_managed(w)
	is_object(w.spec.networkPolicy)
	open_rules := [sprintf("spec.networkPolicy.egress[%d]", [i]) |
		rules := k8s.array_at(w, ["spec", "networkPolicy", "egress"])
		some i
		rule := rules[i]
		is_object(rule)
		count(k8s.array_at(rule, "to")) == 0
		count(k8s.array_at(rule, "ports")) == 0
	]
} else := {"kind": "default", "open_rules": []} if {
	_sandbox_policy_managed(w)
	endswith(k8s.api_version(w), "/v1beta1")
} else := {"kind": "none", "open_rules": []}

_sandbox_policy_managed(w) if {
	w.kind == "SandboxTemplate"
	k8s.get(w, ["spec", "networkPolicyManagement"], "Managed") != "Unmanaged"
}

_opened(g) if {
	some c in g.controls
	count(c.open_rules) > 0
}

_opened(g) if count(g.sandbox_policy.open_rules) > 0

_restricted(g) if {
	not _opened(g)
	some c in g.controls
	c.certain
}

_restricted(g) if {
	not _opened(g)
	g.sandbox_policy.kind != "none"
}

_uncertain(g) if {
	not _opened(g)
	not _restricted(g)
	some c in g.controls
	not c.certain
}

_uncovered(g) if {
	not _opened(g)
	not _restricted(g)
	not _uncertain(g)
}

# ---------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": k8s.ref(np)} if {
	some np in netpol.network_policies
	netpol.is_default_deny_egress(np)
	msg := sprintf(
		"%s denies all egress by default in namespace %s (empty podSelector, policyTypes Egress, no egress rules)",
		[k8s.describe(np), k8s.namespace(np)],
	)
}

evidence contains {"msg": msg, "ref": k8s.ref(p)} if {
	some p in netpol.egress_policy_objects
	not _default_deny(p)
	not _opens_egress(p)
	msg := sprintf("%s restricts egress of the pods it selects", [k8s.describe(p)])
}

evidence contains {"msg": msg, "ref": k8s.ref(g.workload)} if {
	some g in _groups
	_restricted(g)
	names := [k8s.describe(c.policy) | some c in g.controls; c.certain]
	count(names) > 0
	msg := sprintf(
		"%s (%s workload): egress of its pods (%s) is restricted by %s",
		[k8s.describe(g.workload), g.class, g.path, concat(", ", names)],
	)
}

evidence contains {"msg": msg, "ref": k8s.ref(g.workload)} if {
	some g in _groups
	_restricted(g)
	g.sandbox_policy.kind == "custom"
	msg := sprintf(
		"%s: the agent-sandbox controller applies the egress rules of spec.networkPolicy to its sandboxes",
		[k8s.describe(g.workload)],
	)
}

evidence contains {"msg": msg, "ref": k8s.ref(g.workload)} if {
	some g in _groups
	_restricted(g)
	g.sandbox_policy.kind == "default"
	msg := sprintf(
		"%s: the agent-sandbox controller applies its default NetworkPolicy to its sandboxes (egress to the public internet only; cluster-internal ranges and the metadata server blocked)",
		[k8s.describe(g.workload)],
	)
}

_opens_egress(p) if {
	p.kind == "NetworkPolicy"
	k8s.group(p) == "networking.k8s.io"
	count(netpol.open_egress_rules(p)) > 0
}

_default_deny(p) if {
	p.kind == "NetworkPolicy"
	k8s.group(p) == "networking.k8s.io"
	netpol.is_default_deny_egress(p)
}

# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------

deny contains {"msg": msg, "ref": k8s.ref(g.workload), "field": g.path} if {
	some g in _groups
	_uncovered(g)
	msg := sprintf(
		"%s (%s workload): no network policy in namespace %s restricts egress of its pods (%s)%s",
		[k8s.describe(g.workload), g.class, g.namespace, g.path, _ingress_only_hint(g)],
	)
}

# NetworkPolicies are additive: one rule that allows everything opens egress for every
# pod the policy selects, whatever other policies deny.
deny contains {"msg": msg, "ref": k8s.ref(c.policy), "field": rule} if {
	some g in _groups
	some c in g.controls
	some rule in c.open_rules
	msg := sprintf(
		"%s: egress rule %s has no `to` and no `ports`, so it allows all egress for the pods of %s (%s workload)",
		[k8s.describe(c.policy), rule, k8s.describe(g.workload), g.class],
	)
}

deny contains {"msg": msg, "ref": k8s.ref(g.workload), "field": rule} if {
	some g in _groups
	some rule in g.sandbox_policy.open_rules
	msg := sprintf(
		"%s: egress rule %s has no `to` and no `ports`, so its sandboxes may reach any destination",
		[k8s.describe(g.workload), rule],
	)
}

_ingress_only_hint(g) := sprintf(
	"; %s selects these pods but its policyTypes do not include Egress, so it does not restrict egress",
	[concat(", ", names)],
) if {
	names := [k8s.describe(np) | some np in netpol.ingress_only_selecting(g.namespace, g.labels)]
	count(names) > 0
} else := ""

# ---------------------------------------------------------------------------
# Advice
# ---------------------------------------------------------------------------

warn contains {"msg": msg, "ref": k8s.ref(g.workload), "field": g.path} if {
	some g in _groups
	_uncertain(g)
	names := [k8s.describe(c.policy) | some c in g.controls; not c.certain]
	msg := sprintf(
		"%s (%s workload): %s may restrict egress of its pods (%s), but its selector could not be evaluated",
		[k8s.describe(g.workload), g.class, concat(", ", names), g.path],
	)
}

# An ipBlock of 0.0.0.0/0 (or ::/0) without exceptions and without ports opens egress to
# every address, the internet included.
warn contains {"msg": msg, "ref": k8s.ref(np), "field": field} if {
	some g in _groups
	some c in g.controls
	np := c.policy
	np.kind == "NetworkPolicy"
	some i, rule in k8s.array_at(np, ["spec", "egress"])
	count(k8s.array_at(rule, "ports")) == 0
	some j, peer in k8s.array_at(rule, "to")
	peer.ipBlock.cidr in {"0.0.0.0/0", "::/0"}
	count(k8s.array_at(peer, ["ipBlock", "except"])) == 0
	field := sprintf("spec.egress[%d].to[%d].ipBlock.cidr", [i, j])
	msg := sprintf(
		"%s allows egress to any address (%s) on any port for the pods of %s",
		[k8s.describe(np), peer.ipBlock.cidr, k8s.describe(g.workload)],
	)
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["networking.k8s.io", "networkpolicies"],
		["", "namespaces"],
		["policy.networking.k8s.io", "adminnetworkpolicies"],
		["policy.networking.k8s.io", "baselineadminnetworkpolicies"],
		["cilium.io", "ciliumnetworkpolicies"],
		["cilium.io", "ciliumclusterwidenetworkpolicies"],
		["crd.projectcalico.org", "networkpolicies"],
		["crd.projectcalico.org", "globalnetworkpolicies"],
	])
}

unknown contains item if {
	some item in workloads.unresolved_claim_unknowns("the egress policy of its sandbox")
}

unknown contains {"msg": msg} if {
	k8s.is_mode_manifests
	some g in _groups
	_uncovered(g)
	msg := "Cluster-wide egress policies (AdminNetworkPolicy, CiliumClusterwideNetworkPolicy, Calico GlobalNetworkPolicy) installed outside this bundle are not visible offline and may cover workloads reported here"
}
