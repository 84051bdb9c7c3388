package kaic.lib.netpol_test

import rego.v1

import data.kaic.lib.netpol
import data.kaic.lib.testing

_np(spec) := {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": "ml"}, "spec": spec}

test_policy_types_defaulting if {
	netpol.policy_types(_np({"podSelector": {}})) == ["Ingress"]
	netpol.policy_types(_np({"podSelector": {}, "egress": [{"to": []}]})) == ["Ingress", "Egress"]
	netpol.policy_types(_np({"podSelector": {}, "policyTypes": ["Egress"]})) == ["Egress"]
	netpol.policy_types(_np({"podSelector": {}, "policyTypes": ["Ingress"], "egress": [{}]})) == ["Ingress"]
	netpol.policy_types(_np(5)) == ["Ingress"]
}

test_default_deny_and_open_rules if {
	netpol.is_default_deny_egress(_np({"podSelector": {}, "policyTypes": ["Egress"]}))
	not netpol.is_default_deny_egress(_np({"podSelector": {"matchLabels": {"a": "b"}}, "policyTypes": ["Egress"]}))
	not netpol.is_default_deny_egress(_np({"podSelector": {}, "policyTypes": ["Ingress"]}))
	netpol.open_egress_rules(_np({"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}, {}]})) == ["spec.egress[1]"]
	netpol.open_egress_rules(_np({"egress": [{"ports": [{"port": 53}]}]})) == []
}

test_egress_controls_per_vendor if {
	pods := {"app": "vllm"}
	k8s_np := _np({"podSelector": {"matchLabels": {"app": "vllm"}}, "policyTypes": ["Egress"]})
	ingress_only := object.union(_np({"podSelector": {}, "policyTypes": ["Ingress"]}), {"metadata": {"name": "ing"}})
	anp := {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy", "metadata": {"name": "anp"}, "spec": {
		"priority": 10, "subject": {"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "ml"}}},
		"egress": [{"name": "deny-all", "action": "Deny", "to": [{"networks": ["0.0.0.0/0"]}]}],
	}}
	cnp := {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "cnp", "namespace": "ml"}, "spec": {
		"endpointSelector": {"matchLabels": {"k8s:app": "vllm"}}, "egress": [{"toEntities": ["cluster"]}],
	}}
	calico_eval := {"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "cal", "namespace": "ml"}, "spec": {
		"selector": "app == 'vllm'", "types": ["Egress"], "egress": [{"action": "Allow", "protocol": "UDP", "destination": {"ports": [53]}}],
	}}
	calico_complex := {"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy", "metadata": {"name": "gcal"}, "spec": {
		"selector": "app in {'vllm', 'tgi'}", "types": ["Egress"],
	}}
	inp := testing.manifests([k8s_np, ingress_only, anp, cnp, calico_eval, calico_complex])
	controls := netpol.egress_controls("ml", pods) with input as inp
	[[c.policy.metadata.name, c.certain] | some c in controls] == [["p", true], ["anp", true], ["cnp", true], ["cal", true], ["gcal", false]]
	other_ns := netpol.egress_controls("web", pods) with input as inp
	[c.policy.metadata.name | some c in other_ns] == ["gcal"]
	ingress_only_selecting := netpol.ingress_only_selecting("ml", pods) with input as inp
	[p.metadata.name | some p in ingress_only_selecting] == ["ing"]
}
