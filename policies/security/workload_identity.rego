# METADATA
# title: Workload identity instead of static credentials
# description: >-
#   AI workloads authenticate with short-lived, automatically rotated workload identities
#   (SPIFFE/SPIRE, a service mesh's mTLS identity, or the cloud provider's workload identity
#   federation) rather than long-lived secrets: no legacy ServiceAccount token Secrets and no
#   static cloud access keys in AI pods.
# custom:
#   id: workload-identity
#   requirements:
#     whitepaper: [SEC-5.2]
#   severity: medium
#   scope: workload
#   inputs:
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: spire.spiffe.io, resource: clusterspiffeids}
#     - {group: spire.spiffe.io, resource: clusterfederatedtrustdomains}
#     - {group: spire.spiffe.io, resource: clusterstaticentries}
#     - {group: storage.k8s.io, resource: csidrivers}
#     - {group: security.istio.io, resource: peerauthentications}
#     - {group: "", resource: serviceaccounts}
#     - {group: "", resource: namespaces}
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
#     Give AI workloads a SPIFFE identity (SPIRE with the spire-controller-manager and the
#     SPIFFE CSI driver), a mesh identity, or the cloud's workload identity federation, and
#     remove static cloud keys and ServiceAccount token Secrets from their pods:
#
#     ```yaml
#     apiVersion: spire.spiffe.io/v1alpha1
#     kind: ClusterSPIFFEID
#     metadata:
#       name: ai-workloads
#     spec:
#       spiffeIDTemplate: "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}"
#       podSelector:
#         matchExpressions:
#           - {key: kaic.dev/workload, operator: Exists}
#     ```
#   docs:
#     - https://spiffe.io/docs/latest/spire-about/
#     - https://github.com/spiffe/spire-controller-manager
#     - https://github.com/spiffe/spiffe-csi
#     - https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity
#     - https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html
#     - https://azure.github.io/azure-workload-identity/docs/
package kaic.security.workload_identity

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.pods
import data.kaic.lib.workloads

_spiffe_csi := "csi.spiffe.io"

# ---------------------------------------------------------------------------
# Platform: SPIRE, SPIFFE CSI, meshes, cloud workload identity
# ---------------------------------------------------------------------------

_spire_crds := ["clusterspiffeids", "clusterfederatedtrustdomains", "clusterstaticentries"]

evidence contains {"msg": msg, "ref": _crd_ref("spire.spiffe.io", plural)} if {
	some plural in _spire_crds
	k8s.crd_defined("spire.spiffe.io", plural)
	msg := sprintf("The SPIRE controller-manager API (%s.spire.spiffe.io) is available to register workload identities", [plural])
}

evidence contains {"msg": msg, "ref": k8s.ref(id)} if {
	some id in _cluster_spiffe_ids
	msg := sprintf("%s issues SPIFFE IDs%s to the pods it selects", [k8s.describe(id), _template_text(id)])
}

evidence contains {"msg": msg, "ref": k8s.ref(d)} if {
	some d in k8s.objects_of_kind("CSIDriver")
	k8s.name(d) == _spiffe_csi
	msg := sprintf("%s mounts the SPIFFE Workload API into pods", [k8s.describe(d)])
}

# SPIRE server (StatefulSet or Deployment) and agent (DaemonSet), recognised by image.
evidence contains {"msg": msg, "ref": k8s.ref(w)} if {
	some kind in ["StatefulSet", "Deployment", "DaemonSet"]
	some w in k8s.objects_of_kind(kind)
	some img in pods.images(w)
	some component in ["spire-server", "spire-agent"]
	contains(img.image, sprintf("/%s", [component]))
	msg := sprintf("%s runs the SPIRE %s (%s)", [k8s.describe(w), trim_prefix(component, "spire-"), img.image])
}

# Istio: mesh-wide or namespace STRICT mTLS gives every workload a SPIFFE identity.
evidence contains {"msg": msg, "ref": k8s.ref(pa)} if {
	some pa in k8s.objects_of_kind("PeerAuthentication")
	k8s.group(pa) == "security.istio.io"
	k8s.string_at(k8s.object_at(pa, "spec"), ["mtls", "mode"]) == "STRICT"
	msg := sprintf("%s enforces STRICT mutual TLS with Istio's SPIFFE workload identities", [k8s.describe(pa)])
}

# Linkerd: the identity controller issues mTLS identities to meshed pods.
evidence contains {"msg": msg, "ref": k8s.ref(w)} if {
	some w in k8s.objects_of_kind("Deployment")
	k8s.name(w) == "linkerd-identity"
	msg := sprintf("%s issues Linkerd mTLS workload identities", [k8s.describe(w)])
}

# Cloud workload identity federation, per ServiceAccount.
_cloud_annotations := {
	"iam.gke.io/gcp-service-account": "GKE Workload Identity",
	"eks.amazonaws.com/role-arn": "EKS IAM Roles for Service Accounts",
	"azure.workload.identity/client-id": "Azure Workload Identity",
}

evidence contains {"msg": msg, "ref": k8s.ref(sa)} if {
	some sa in k8s.objects_of_kind("ServiceAccount")
	some key, provider in _cloud_annotations
	value := k8s.annotation(sa, key)
	value != ""
	msg := sprintf("%s uses %s (%s=%s)", [k8s.describe(sa), provider, key, value])
}

# ---------------------------------------------------------------------------
# AI workloads
# ---------------------------------------------------------------------------

_ai_pods contains {"workload": x.object, "class": x.class, "pod": p} if {
	some x in workloads.classified
	some p in pods.pod_specs(x.object)
}

evidence contains {"msg": msg, "ref": k8s.ref(w)} if {
	some item in _ai_pods
	w := item.workload
	p := item.pod
	some v in k8s.array_at(p.spec, "volumes")
	k8s.string_at(v, ["csi", "driver"]) == _spiffe_csi
	msg := sprintf("%s (%s) mounts the SPIFFE Workload API (%s volume \"%s\")", [k8s.describe(w), item.class, _spiffe_csi, k8s.string_at(v, "name")])
}

# Legacy ServiceAccount token Secrets never expire: mounting one defeats rotation.
deny contains {"msg": msg, "ref": k8s.ref(w), "field": field} if {
	some item in _ai_pods
	w := item.workload
	p := item.pod
	some i, v in k8s.array_at(p.spec, "volumes")
	secret_name := k8s.string_at(v, ["secret", "secretName"])
	_token_secret(k8s.namespace(w), secret_name)
	field := sprintf("%s.secret.secretName", [k8s.index_path(p.path, "volumes", i)])
	msg := sprintf(
		"%s (%s) mounts Secret \"%s\", a long-lived ServiceAccount token (type kubernetes.io/service-account-token); use the projected, auto-rotated token or a workload identity instead",
		[k8s.describe(w), item.class, secret_name],
	)
}

# Static cloud credentials injected from Secrets: exactly what workload identity replaces.
_static_cloud_env := {
	"AWS_SECRET_ACCESS_KEY": "EKS IAM Roles for Service Accounts or Pod Identity",
	"AWS_ACCESS_KEY_ID": "EKS IAM Roles for Service Accounts or Pod Identity",
	"AZURE_CLIENT_SECRET": "Azure Workload Identity",
	"GOOGLE_APPLICATION_CREDENTIALS_JSON": "GKE Workload Identity",
}

deny contains {"msg": msg, "ref": k8s.ref(w), "field": field} if {
	some x in workloads.classified
	w := x.object
	some c in pods.containers(w)
	some i, e in k8s.array_at(c.container, "env")
	replacement := _static_cloud_env[k8s.string_at(e, "name")]
	secret := k8s.string_at(e, ["valueFrom", "secretKeyRef", "name"])
	secret != ""
	field := sprintf("%s.valueFrom.secretKeyRef", [k8s.index_path(c.path, "env", i)])
	msg := sprintf(
		"%s (%s) reads the static cloud credential %s from Secret \"%s\" in container \"%s\"; use %s instead",
		[k8s.describe(w), x.class, e.name, secret, c.name, replacement],
	)
}

# ---------------------------------------------------------------------------
# ClusterSPIFFEIDs that match no AI workload
# ---------------------------------------------------------------------------

_cluster_spiffe_ids := [id | some id in k8s.objects_of_kind("ClusterSPIFFEID"); k8s.group(id) == "spire.spiffe.io"]

warn contains {"msg": msg, "ref": k8s.ref(id), "field": "spec.podSelector"} if {
	count(workloads.ai_workloads) > 0
	some id in _cluster_spiffe_ids
	not _selects_an_ai_workload(id)
	msg := sprintf("%s selects none of the AI workloads in the input (spec.podSelector, spec.namespaceSelector): they get no SPIFFE identity from it", [k8s.describe(id)])
}

# Pod label sets of every AI workload and the labels of their namespaces, computed once
# (regorus does not memoise function calls).
_ai_label_sets := [{"ns": ns, "labels": set.labels} |
	some w in workloads.ai_workloads
	ns := k8s.namespace(w)
	some set in pods.pod_label_sets(w)
]

_ai_namespace_labels := {ns: k8s.namespace_labels(ns) | some ns in {x.ns | some x in _ai_label_sets}}

# Label sets indexed by each key=value pair, so a podSelector with matchLabels only looks
# at the label sets that carry its first pair.
_ai_label_index[pair] contains i if {
	some i, x in _ai_label_sets
	some k, v in x.labels
	pair := sprintf("%s=%v", [k, v])
}

_candidate_label_sets(selector) := {i | some i in object.get(_ai_label_index, pair, set())} if {
	match_labels := k8s.object_at(k8s.as_object(selector), "matchLabels")
	count(match_labels) > 0
	k := min(object.keys(match_labels))
	v := match_labels[k]
	pair := sprintf("%s=%v", [k, v])
} else := {i | some i; _ = _ai_label_sets[i]}

_selects_an_ai_workload(id) if {
	spec := k8s.object_at(id, "spec")
	pod_selector := object.get(spec, "podSelector", null)
	namespaces := {ns |
		some ns, lbls in _ai_namespace_labels
		k8s.selector_matches(object.get(spec, "namespaceSelector", null), lbls)
	}
	some i in _candidate_label_sets(pod_selector)
	x := _ai_label_sets[i]
	x.ns in namespaces
	k8s.selector_matches(pod_selector, x.labels)
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["spire.spiffe.io", "clusterspiffeids"],
		["storage.k8s.io", "csidrivers"],
		["", "serviceaccounts"],
	])
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# Secrets are never collected from clusters (so `secrets` is not among the inputs): only a
# bundle that ships the token Secret itself shows one.
_token_secret(ns, name) if {
	some s in k8s.objects_of_kind("Secret")
	k8s.name(s) == name
	k8s.namespace(s) == ns
	k8s.string_at(s, "type") == "kubernetes.io/service-account-token"
}

_template_text(id) := sprintf(" (%s)", [t]) if {
	t := k8s.string_at(id, ["spec", "spiffeIDTemplate"])
	t != ""
} else := ""

# The CustomResourceDefinition of group/plural as a finding ref (k8s.crd_ref, built with
# concat: rego-cpp renders sprintf of computed strings with stray quotes).
_crd_ref(group, plural) := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"namespace": "",
	"name": concat(".", [plural, group]),
}
