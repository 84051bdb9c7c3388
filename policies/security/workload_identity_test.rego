package kaic.security.workload_identity_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.security.workload_identity as check

_spire_crd := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"metadata": {"name": "clusterspiffeids.spire.spiffe.io"},
	"spec": {"group": "spire.spiffe.io", "names": {"plural": "clusterspiffeids", "kind": "ClusterSPIFFEID"}},
}

_csi_driver := {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": "csi.spiffe.io"}, "spec": {"attachRequired": false, "volumeLifecycleModes": ["Ephemeral"]}}

_cluster_spiffe_id(pod_selector) := {
	"apiVersion": "spire.spiffe.io/v1alpha1",
	"kind": "ClusterSPIFFEID",
	"metadata": {"name": "ai"},
	"spec": {"spiffeIDTemplate": "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}", "podSelector": pod_selector},
}

_agent(volumes, env) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "agent", "namespace": "agents", "labels": {"kaic.dev/workload": "agent"}},
	"spec": {"template": {
		"metadata": {"labels": {"app": "agent"}},
		"spec": {
			"containers": [{"name": "agent", "image": "ghcr.io/example/agent:1.0", "env": env}],
			"volumes": volumes,
		},
	}},
}

_spiffe_volume := [{"name": "spiffe", "csi": {"driver": "csi.spiffe.io", "readOnly": true}}]

_aws_env := [
	{"name": "AWS_REGION", "value": "us-east-1"},
	{"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "s3-credentials", "key": "secret"}}},
]

_token_secret := {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "agent-token", "namespace": "agents", "annotations": {"kubernetes.io/service-account.name": "agent"}}, "type": "kubernetes.io/service-account-token"}

_sa(annotations) := {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "trainer", "namespace": "ml", "annotations": annotations}}

_peer_auth(mode) := {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication", "metadata": {"name": "default", "namespace": "istio-system"}, "spec": {"mtls": {"mode": mode}}}

_spire_agent := {
	"apiVersion": "apps/v1",
	"kind": "DaemonSet",
	"metadata": {"name": "spire-agent", "namespace": "spire-system"},
	"spec": {"template": {"spec": {"containers": [{"name": "spire-agent", "image": "ghcr.io/spiffe/spire-agent:1.12.4"}]}}},
}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"SPIRE API, SPIFFE CSI driver and an agent mounting it": {
		"input": testing.manifests([_spire_crd, _csi_driver, _cluster_spiffe_id({"matchLabels": {"app": "agent"}}), _agent(_spiffe_volume, [])]),
		"want": {"deny": 0, "evidence": 4, "warn": 0, "unknown": 0},
	},
	"ClusterSPIFFEID that selects no AI workload": {
		"input": testing.manifests([_cluster_spiffe_id({"matchLabels": {"app": "other"}}), _agent([], [])]),
		"want": {"deny": 0, "evidence": 1, "warn": 1},
	},
	"ClusterSPIFFEID with a two-label podSelector": {
		"input": testing.manifests([
			_cluster_spiffe_id({"matchLabels": {"app": "agent", "kaic.dev/workload": "agent"}}),
			object.union(_agent([], []), {"spec": {"template": {"metadata": {"labels": {"app": "agent", "kaic.dev/workload": "agent"}}}}}),
		]),
		"want": {"evidence": 1, "warn": 0},
	},
	"ClusterSPIFFEID without AI workloads in the input is not judged": {
		"input": testing.manifests([_cluster_spiffe_id({"matchLabels": {"app": "other"}})]),
		"want": {"evidence": 1, "warn": 0},
	},
	"ClusterSPIFFEID namespaceSelector excludes the agent's namespace": {
		"input": testing.manifests([object.union(_cluster_spiffe_id({}), {"spec": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ml"}}}}), _agent([], [])]),
		"want": {"warn": 1},
	},
	"static AWS key from a Secret": {
		"input": testing.manifests([_agent([], _aws_env)]),
		"want": {"deny": 1, "evidence": 0},
	},
	"legacy ServiceAccount token Secret mounted": {
		"input": testing.manifests([_token_secret, _agent([{"name": "token", "secret": {"secretName": "agent-token"}}], [])]),
		"want": {"deny": 1},
	},
	"ordinary Secret volume is fine": {
		"input": testing.manifests([_agent([{"name": "cfg", "secret": {"secretName": "agent-config"}}], [])]),
		"want": {"deny": 0},
	},
	"cloud workload identity on ServiceAccounts": {
		"input": testing.manifests([
			_sa({"iam.gke.io/gcp-service-account": "trainer@proj.iam.gserviceaccount.com"}),
			_sa({"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/trainer"}),
		]),
		"want": {"deny": 0, "evidence": 2},
	},
	"Istio STRICT mTLS, not PERMISSIVE": {
		"input": testing.manifests([_peer_auth("STRICT"), object.union(_peer_auth("PERMISSIVE"), {"metadata": {"name": "p", "namespace": "ml"}})]),
		"want": {"evidence": 1},
	},
	"SPIRE agent DaemonSet": {
		"input": testing.manifests([_spire_agent]),
		"want": {"evidence": 1},
	},
	"SPIRE API served by the cluster": {
		"input": testing.cluster([], [["spire.spiffe.io", "clusterspiffeids"]], []),
		"want": {"evidence": 1, "unknown": 0},
	},
	"ClusterSPIFFEIDs unreadable": {
		"input": testing.cluster([], [], [["spire.spiffe.io", "clusterspiffeids"]]),
		"want": {"evidence": 0, "unknown": 1},
	},
	"empty bundle": {
		"input": testing.manifests([]),
		"want": {"deny": 0, "evidence": 0, "warn": 0, "unknown": 0},
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

test_static_key_points_at_the_env_entry if {
	denies := check.deny with input as testing.manifests([_agent([], _aws_env)])
	[d.field | some d in denies] == ["spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef"]
}

test_conftest_combine_input if {
	got := _results(testing.combined([_token_secret, _agent([{"name": "token", "secret": {"secretName": "agent-token"}}], [])]))
	count(got.deny) == 1
}

test_malformed_objects_do_not_break_the_check if {
	odd := [
		{"apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID", "metadata": null, "spec": 5},
		{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "s", "annotations": 3}},
		{"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication", "metadata": {"name": "p"}, "spec": {"mtls": "x"}},
		{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"kaic.dev/workload": "agent"}}, "spec": {"template": {"spec": {"containers": [{"name": "c", "env": "x"}, 4], "volumes": "y"}}}},
	]
	got := _results(testing.manifests(odd))
	count(got.deny) == 0
}
