# Network policy semantics: which policies restrict the egress of which pods, across
# Kubernetes NetworkPolicy, AdminNetworkPolicy / BaselineAdminNetworkPolicy /
# ClusterNetworkPolicy (policy.networking.k8s.io), Cilium and Calico.
# Library package: no METADATA block.
#
# API:
#   policy_types(np)            effective spec.policyTypes of a networking.k8s.io
#                               NetworkPolicy, with the API server's defaulting
#   restricts_egress(np)        "Egress" is among them
#   is_default_deny_egress(np)  empty podSelector, Egress, and no egress rules
#   open_egress_rules(np)       field paths of rules that allow all egress (no `to`, no
#                               `ports`): such a rule lifts every restriction, because
#                               NetworkPolicies are additive
#   egress_controls(ns, labels) every policy object that restricts egress of pods with
#                               `labels` in namespace `ns`: [{"policy", "open_rules",
#                               "certain"}]; open_rules as above; certain is false when the
#                               policy's selector could not be evaluated (Calico
#                               expressions beyond `all()`, `k == 'v'`, `has(k)`)
#   ingress_only_selecting(ns, labels)  networking.k8s.io NetworkPolicies that select the
#                               pods but do not list Egress in their policy types
#   egress_policy_objects       every policy object of any vendor with egress rules
package kaic.lib.netpol

import rego.v1

import data.kaic.lib.k8s

# ---------------------------------------------------------------------------
# Kubernetes NetworkPolicy (networking.k8s.io)
# ---------------------------------------------------------------------------

network_policies := [np |
	some np in k8s.objects_of_kind("NetworkPolicy")
	k8s.group(np) == "networking.k8s.io"
]

_np_namespace_index[ns] contains i if {
	some i, np in network_policies
	ns := k8s.namespace(np)
}

_np_by_namespace[ns] := [network_policies[i] | some i in ids] if {
	some ns, ids in _np_namespace_index
}

# The API server defaults policyTypes to ["Ingress"], plus "Egress" when the policy
# has egress rules; an explicit list is taken as written.
policy_types(np) := types if {
	types := np.spec.policyTypes
	is_array(types)
	count(types) > 0
} else := ["Ingress", "Egress"] if {
	count(k8s.array_at(np, ["spec", "egress"])) > 0
} else := ["Ingress"]

restricts_egress(np) if "Egress" in policy_types(np)

_restricts_egress_value(np) := true if restricts_egress(np) else := false

_pod_selector(np) := k8s.get(np, ["spec", "podSelector"], {})

is_default_deny_egress(np) if {
	restricts_egress(np)
	_pod_selector(np) in [{}, null]
	count(k8s.array_at(np, ["spec", "egress"])) == 0
}

np_selects(np, pod_labels) if k8s.selector_matches(_pod_selector(np), pod_labels)

# An egress rule with neither `to` nor `ports` allows every destination on every port.
open_egress_rules(np) := [sprintf("spec.egress[%d]", [i]) |
	rules := k8s.array_at(np, ["spec", "egress"])
	some i
	rule := rules[i] # bound first: rego-cpp does not enumerate i inside a call argument
	_open_rule(rule)
]

_open_rule(rule) if {
	is_object(rule)
	count(k8s.array_at(rule, "to")) == 0
	count(k8s.array_at(rule, "ports")) == 0
}

ingress_only_selecting(ns, pod_labels) := [f.policy |
	some f in object.get(_np_facts, ns, [])
	not f.egress
	k8s.selector_matches(f.selector, pod_labels)
]

_k8s_controls(ns, pod_labels) := [{"policy": f.policy, "open_rules": f.open_rules, "certain": true} |
	some f in object.get(_np_facts, ns, [])
	f.egress
	k8s.selector_matches(f.selector, pod_labels)
]

# _np_facts[ns]: what the controls above need of each NetworkPolicy of namespace ns,
# worked out once per query rather than once per pod group and policy.
_np_facts[ns] := [{
	"policy": np,
	"egress": _restricts_egress_value(np),
	"selector": _pod_selector(np),
	"open_rules": open_egress_rules(np),
} |
	some np in policies
] if {
	some ns, policies in _np_by_namespace
}

# ---------------------------------------------------------------------------
# AdminNetworkPolicy, BaselineAdminNetworkPolicy (v1alpha1), ClusterNetworkPolicy
# (v1alpha2): cluster-scoped, a subject of namespaces or pods, and rules with actions.
# Only a Deny rule restricts egress.
# ---------------------------------------------------------------------------

_admin_kinds := ["AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy"]

_admin_policies := [p |
	some kind in _admin_kinds
	some p in k8s.objects_of_kind(kind)
	k8s.group(p) == "policy.networking.k8s.io"
]

_admin_denies_egress(p) if {
	some rule in k8s.array_at(p, ["spec", "egress"])
	rule.action == "Deny"
}

_admin_subject_matches(p, ns, _) if {
	sel := p.spec.subject.namespaces
	is_object(sel)
	k8s.selector_matches(sel, k8s.namespace_labels(ns))
}

_admin_subject_matches(p, ns, pod_labels) if {
	pods := p.spec.subject.pods
	is_object(pods)
	k8s.selector_matches(object.get(pods, "namespaceSelector", {}), k8s.namespace_labels(ns))
	k8s.selector_matches(object.get(pods, "podSelector", {}), pod_labels)
}

_admin_controls(ns, pod_labels) := [{"policy": p, "open_rules": [], "certain": true} |
	some p in _admin_policies
	_admin_denies_egress(p)
	_admin_subject_matches(p, ns, pod_labels)
]

# ---------------------------------------------------------------------------
# Cilium: CiliumNetworkPolicy (namespaced) and CiliumClusterwideNetworkPolicy. A rule
# with an egress or egressDeny section puts the selected endpoints in default-deny for
# egress (unless enableDefaultDeny.egress is false).
# ---------------------------------------------------------------------------

_cilium_policies := [p |
	some kind in ["CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"]
	some p in k8s.objects_of_kind(kind)
]

# A Cilium policy holds one rule in `spec` and/or a list in `specs`.
_cilium_rules(p) := array.concat(
	[r | r := p.spec; is_object(r)],
	[r | some r in k8s.array_at(p, "specs"); is_object(r)],
)

_cilium_rule_restricts_egress(rule) if {
	some section in ["egress", "egressDeny"]
	is_array(rule[section])
	not rule.enableDefaultDeny.egress == false
}

# Cilium label selectors may carry a source prefix ("k8s:app"); pods also carry their
# namespace as the label io.kubernetes.pod.namespace.
_cilium_selects(rule, ns, pod_labels) if {
	sel := object.get(rule, "endpointSelector", {})
	is_object(sel)
	lbls := object.union(k8s.as_object(pod_labels), {"io.kubernetes.pod.namespace": ns})
	k8s.selector_matches(_strip_cilium_prefixes(sel), lbls)
}

# (Built afresh: object.union merges nested objects, which would keep the prefixed keys.)
_strip_cilium_prefixes(sel) := {
	"matchLabels": {_strip_source(k): v | some k, v in k8s.object_at(sel, "matchLabels")},
	"matchExpressions": [object.union(e, {"key": _strip_source(e.key)}) |
		some e in k8s.array_at(sel, "matchExpressions")
		is_string(e.key)
	],
}

_strip_source(key) := substring(key, i + 1, -1) if {
	some prefix in ["k8s:", "any:"]
	startswith(key, prefix)
	i := indexof(key, ":")
} else := key

_cilium_controls(ns, pod_labels) := [{"policy": p, "open_rules": [], "certain": true} |
	some p in _cilium_policies
	_cilium_in_scope(p, ns)
	some rule in _cilium_rules(p)
	_cilium_rule_restricts_egress(rule)
	_cilium_selects(rule, ns, pod_labels)
]

_cilium_in_scope(p, ns) if {
	p.kind == "CiliumNetworkPolicy"
	k8s.namespace(p) == ns
}

_cilium_in_scope(p, _) if p.kind == "CiliumClusterwideNetworkPolicy"

# ---------------------------------------------------------------------------
# Calico: NetworkPolicy / GlobalNetworkPolicy (crd.projectcalico.org/v1 and
# projectcalico.org/v3). Selectors are Calico expressions; the simple forms are
# evaluated, anything else is reported as uncertain.
# ---------------------------------------------------------------------------

_calico_groups := {"crd.projectcalico.org", "projectcalico.org"}

_calico_policies := [p |
	some kind in ["NetworkPolicy", "GlobalNetworkPolicy"]
	some p in k8s.objects_of_kind(kind)
	k8s.group(p) in _calico_groups
]

_calico_restricts_egress(p) if "Egress" in k8s.array_at(p, ["spec", "types"])

_calico_restricts_egress(p) if {
	not is_array(k8s.get(p, ["spec", "types"], null))
	count(k8s.array_at(p, ["spec", "egress"])) > 0
}

_calico_in_scope(p, ns) if {
	p.kind == "NetworkPolicy"
	k8s.namespace(p) == ns
}

_calico_in_scope(p, ns) if {
	p.kind == "GlobalNetworkPolicy"
	_calico_match(k8s.get(p, ["spec", "namespaceSelector"], ""), k8s.namespace_labels(ns)) != "no"
}

_calico_controls(ns, pod_labels) := [{"policy": p, "open_rules": [], "certain": result == "yes"} |
	some p in _calico_policies
	_calico_restricts_egress(p)
	_calico_in_scope(p, ns)
	result := _calico_match(k8s.get(p, ["spec", "selector"], ""), pod_labels)
	result != "no"
]

# _calico_match(selector, labels): "yes" | "no" | "unknown".
_calico_match(sel, pod_labels) := "yes" if {
	_calico_selects_all(sel)
} else := "unknown" if {
	not is_string(sel)
} else := result if {
	terms := [trim_space(t) | some t in split(sel, "&&")]
	outcomes := [_calico_term(t, k8s.as_object(pod_labels)) | some t in terms]
	result := _combine(outcomes)
}

_calico_selects_all(sel) if sel == null

_calico_selects_all(sel) if {
	is_string(sel)
	trim_space(sel) in {"", "all()"}
}

_combine(outcomes) := "no" if {
	"no" in outcomes
} else := "unknown" if {
	"unknown" in outcomes
} else := "yes"

_calico_term(term, pod_labels) := _bool_outcome(object.get(pod_labels, m[0][1], null) == m[0][2]) if {
	m := regex.find_all_string_submatch_n(`^([A-Za-z0-9_./-]+)\s*==\s*['"]([^'"]*)['"]$`, term, 1)
	count(m) == 1
} else := _bool_outcome(object.get(pod_labels, m[0][1], null) != m[0][2]) if {
	m := regex.find_all_string_submatch_n(`^([A-Za-z0-9_./-]+)\s*!=\s*['"]([^'"]*)['"]$`, term, 1)
	count(m) == 1
} else := _bool_outcome(object.get(pod_labels, m[0][1], null) != null) if {
	m := regex.find_all_string_submatch_n(`^has\(([A-Za-z0-9_./-]+)\)$`, term, 1)
	count(m) == 1
} else := "unknown"

_bool_outcome(true) := "yes"

_bool_outcome(false) := "no"

# ---------------------------------------------------------------------------
# All vendors
# ---------------------------------------------------------------------------

egress_controls(ns, pod_labels) := array.concat(
	array.concat(_k8s_controls(ns, pod_labels), _admin_controls(ns, pod_labels)),
	array.concat(_cilium_controls(ns, pod_labels), _calico_controls(ns, pod_labels)),
)

egress_policy_objects := array.concat(
	array.concat([np | some np in network_policies; restricts_egress(np)], [p | some p in _admin_policies; _admin_denies_egress(p)]),
	array.concat(
		[p | some p in _cilium_policies; some rule in _cilium_rules(p); _cilium_rule_restricts_egress(rule)],
		[p | some p in _calico_policies; _calico_restricts_egress(p)],
	),
)
