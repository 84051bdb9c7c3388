# METADATA
# title: Image signatures verified for AI workloads
# description: >-
#   Images of AI workloads (model servers, training jobs, agents) are pinned by digest and
#   covered by an admission policy that verifies their signatures (sigstore
#   policy-controller ClusterImagePolicy or Kyverno verifyImages), so only signed,
#   reviewed artifacts run next to models and data.
# custom:
#   id: image-signatures
#   requirements:
#     whitepaper: [SEC-5.5]
#   severity: medium
#   scope: workload
#   inputs:
#     - {group: policy.sigstore.dev, resource: clusterimagepolicies}
#     - {group: kyverno.io, resource: clusterpolicies}
#     - {group: kyverno.io, resource: policies}
#     - {group: policies.kyverno.io, resource: imagevalidatingpolicies}
#     - {group: "", resource: namespaces}
#     - {group: extensions.agents.x-k8s.io, resource: sandboxtemplates}
#     - {group: extensions.agents.x-k8s.io, resource: sandboxclaims}
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
#     - {group: trainer.kubeflow.org, resource: clustertrainingruntimes}
#     - {group: kubeflow.org, resource: pytorchjobs}
#     - {group: kubeflow.org, resource: mpijobs}
#     - {group: ray.io, resource: rayclusters}
#     - {group: ray.io, resource: rayjobs}
#     - {group: ray.io, resource: rayservices}
#     - {group: serving.kserve.io, resource: inferenceservices}
#     - {group: serving.kserve.io, resource: llminferenceservices}
#   remediation: >-
#     Sign the images you build (for example with `cosign sign`), reference them by digest
#     (`image: ghcr.io/acme/vllm@sha256:...`), and enforce verification at admission with
#     a sigstore policy-controller `ClusterImagePolicy` (and label the workload namespaces
#     `policy.sigstore.dev/include: "true"`) or a Kyverno `verifyImages` rule:
#
#     ```yaml
#     apiVersion: policy.sigstore.dev/v1beta1
#     kind: ClusterImagePolicy
#     metadata:
#       name: signed-ai-images
#     spec:
#       images:
#         - glob: "ghcr.io/acme/**"
#       authorities:
#         - keyless:
#             url: https://fulcio.sigstore.dev
#             identities:
#               - issuer: https://token.actions.githubusercontent.com
#                 subjectRegExp: "^https://github.com/acme/.*$"
#     ```
#   docs:
#     - https://docs.sigstore.dev/policy-controller/overview/
#     - https://kyverno.io/docs/policy-types/cluster-policy/verify-images/
#     - https://kubernetes.io/docs/concepts/containers/images/#image-names
package kaic.security.image_signatures

import rego.v1

import data.kaic.lib.images
import data.kaic.lib.k8s
import data.kaic.lib.pods
import data.kaic.lib.workloads

_sigstore_include_label := "policy.sigstore.dev/include"

# ---------------------------------------------------------------------------
# Verification policies, normalised: {"policy", "engine", "patterns", "skip",
# "enforced", "namespace"} (namespace "" = cluster-wide), plus the patterns compiled to
# regular expressions once ("regexes", "skip_regexes").
# ---------------------------------------------------------------------------

_verifiers := [object.union(v, {"regexes": _regexes(v.engine, v.patterns), "skip_regexes": _regexes(v.engine, v.skip)}) |
	some v in array.concat(array.concat(_sigstore, _kyverno), _kyverno_ivp)
]

_regexes("sigstore", patterns) := [rx | some p in patterns; rx := images.sigstore_glob_regex(p)]

_regexes("kyverno", patterns) := [rx | some p in patterns; rx := images.wildcard_regex(p)]

# sigstore policy-controller: spec.images[].glob; spec.mode "warn" only reports.
_sigstore := [v |
	some p in k8s.objects_of_kind("ClusterImagePolicy")
	k8s.group(p) == "policy.sigstore.dev"
	v := {
		"policy": p,
		"engine": "sigstore",
		"patterns": [g | some entry in k8s.array_at(p, ["spec", "images"]); g := entry.glob; is_string(g)],
		"skip": [],
		"enforced": k8s.get(p, ["spec", "mode"], "enforce") != "warn",
		"namespace": "",
	}
]

# Kyverno ClusterPolicy / Policy: spec.rules[].verifyImages[] with imageReferences (or
# the older single `image`) and skipImageReferences. Enforcement comes from the entry's
# failureAction or the policy's validationFailureAction (Kyverno's default is Audit).
_kyverno := [v |
	some kind in ["ClusterPolicy", "Policy"]
	some p in k8s.objects_of_kind(kind)
	k8s.group(p) == "kyverno.io"
	some rule in k8s.array_at(p, ["spec", "rules"])
	some entry in k8s.array_at(rule, "verifyImages")
	is_object(entry)
	v := {
		"policy": p,
		"engine": "kyverno",
		"patterns": array.concat(
			[r | some r in k8s.array_at(entry, "imageReferences"); is_string(r)],
			[r | r := entry.image; is_string(r)],
		),
		"skip": [r | some r in k8s.array_at(entry, "skipImageReferences"); is_string(r)],
		"enforced": lower(_kyverno_action(p, entry)) == "enforce",
		"namespace": _policy_namespace(p),
	}
]

_kyverno_action(p, entry) := entry.failureAction if {
	is_string(entry.failureAction)
} else := p.spec.validationFailureAction if {
	is_string(p.spec.validationFailureAction)
} else := "Audit"

# Kyverno ImageValidatingPolicy (policies.kyverno.io): spec.matchImageReferences[].glob;
# it enforces when validationActions include Deny.
_kyverno_ivp := [v |
	some kind in ["ImageValidatingPolicy", "NamespacedImageValidatingPolicy"]
	some p in k8s.objects_of_kind(kind)
	k8s.group(p) == "policies.kyverno.io"
	v := {
		"policy": p,
		"engine": "kyverno",
		"patterns": [g | some entry in k8s.array_at(p, ["spec", "matchImageReferences"]); g := entry.glob; is_string(g)],
		"skip": [],
		"enforced": "Deny" in k8s.array_at(p, ["spec", "validationActions"]),
		"namespace": _policy_namespace(p),
	}
]

_policy_namespace(p) := k8s.namespace(p) if p.kind in {"Policy", "NamespacedImageValidatingPolicy"} else := ""

# sigstore matches the go-containerregistry name of the image; Kyverno the Docker-
# normalised name, or the reference as written.
_matches(v, names) if {
	v.engine == "sigstore"
	some rx in v.regexes
	regex.match(rx, names.sigstore)
}

_matches(v, names) if {
	v.engine == "kyverno"
	some rx in v.regexes
	some name in names.kyverno
	regex.match(rx, name)
	not _skipped(v, names)
}

_skipped(v, names) if {
	some rx in v.skip_regexes
	some name in names.kyverno
	regex.match(rx, name)
}

# ---------------------------------------------------------------------------
# Images of AI workloads, with the verifiers that cover each
# ---------------------------------------------------------------------------

# The names each verifier engine matches, once per distinct image reference (workloads
# share a few images: parsing each reference once keeps this linear in distinct images).
_image_names[image] := {
	"sigstore": images.name_of(ref, images.default_registry),
	"kyverno": {image, images.name_of(ref, "docker.io")},
} if {
	some image in {i.image |
		some w in workloads.ai_workloads
		some i in pods.images(w)
	}
	ref := images.parse(image)
}

_images := [entry |
	some w in workloads.ai_workloads
	w.kind != "SandboxClaim"
	ns := k8s.namespace(w)
	some i in pods.images(w)
	names := _image_names[i.image]
	entry := {
		"workload": w,
		"namespace": ns,
		"image": i,
		"verifiers": [v |
			some v in _verifiers
			v.namespace in {"", ns}
			_matches(v, names)
		],
	}
]

# Coverage is only judged when the verification policies are visible: some are in the
# input, or a live scan read them all. Offline, the cluster may hold policies the bundle
# does not.
_coverage_decidable if {
	not _verifier_unreadable
	count(_verifiers) > 0
}

_coverage_decidable if {
	not _verifier_unreadable
	k8s.is_live
}

_verifier_resources := [
	["policy.sigstore.dev", "clusterimagepolicies"],
	["kyverno.io", "clusterpolicies"],
	["kyverno.io", "policies"],
	["policies.kyverno.io", "imagevalidatingpolicies"],
]

_verifier_unreadable if {
	some pair in _verifier_resources
	k8s.unreadable(pair[0], pair[1])
}

# ---------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": k8s.ref(v.policy)} if {
	some v in _verifiers
	count(v.patterns) > 0
	msg := sprintf(
		"%s verifies signatures of images matching %s (%s)",
		[k8s.describe(v.policy), concat(", ", v.patterns), _mode(v)],
	)
}

evidence contains {"msg": msg, "ref": k8s.ref(x.workload)} if {
	some x in _images
	images.has_digest(x.image.image)
	enforcing := [v | some v in x.verifiers; _enforced_in(v, x.namespace)]
	count(enforcing) > 0
	msg := sprintf(
		"%s: image %s (%s) is pinned by digest and its signature is enforced by %s",
		[k8s.describe(x.workload), x.image.image, x.image.path, _verifier_names(enforcing)],
	)
}

_mode(v) := "enforced" if v.enforced else := "audit/warn only"

_verifier_names(vs) := concat(", ", {k8s.describe(v.policy) | some v in vs})

# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------

deny contains {"msg": msg, "ref": k8s.ref(x.workload), "field": x.image.path} if {
	some x in _images
	not images.has_digest(x.image.image)
	msg := sprintf(
		"%s: image %s (%s) is not pinned by digest; a tag can later point at different, unverified content; reference it as <image>@sha256:<digest>",
		[k8s.describe(x.workload), x.image.image, x.image.name],
	)
}

deny contains {"msg": msg, "ref": k8s.ref(x.workload), "field": x.image.path} if {
	_coverage_decidable
	some x in _images
	count(x.verifiers) == 0
	msg := sprintf(
		"%s: image %s (%s) is not covered by any signature-verification policy (sigstore ClusterImagePolicy or Kyverno verifyImages)%s",
		[k8s.describe(x.workload), x.image.image, x.image.name, _namespace_hint(x.namespace)],
	)
}

# Kyverno namespaced Policies only apply in their own namespace.
_namespace_hint(ns) := sprintf("; the namespaced policies %s do not apply in namespace %s", [names, ns]) if {
	others := {k8s.describe(v.policy) | some v in _verifiers; v.namespace != ""; v.namespace != ns}
	count(others) > 0
	names := concat(", ", others)
} else := ""

# ---------------------------------------------------------------------------
# Advice
# ---------------------------------------------------------------------------

warn contains {"msg": msg, "ref": k8s.ref(x.workload), "field": x.image.path} if {
	some x in _images
	count(x.verifiers) > 0
	every v in x.verifiers {
		not _enforced_in(v, x.namespace)
	}
	msg := sprintf(
		"%s: image %s is covered only by %s, which do not enforce in namespace %s (audit/warn mode, or namespace not opted in); unsigned images are still admitted",
		[k8s.describe(x.workload), x.image.image, _verifier_names(x.verifiers), x.namespace],
	)
}

# A sigstore policy enforces only in namespaces that opted in; when the Namespace object
# is not in the input its labels are unknown, and the policy is given the benefit of
# the doubt (the namespace warning below covers the case where it is visible).
_enforced_in(v, ns) if {
	v.enforced
	v.engine != "sigstore"
}

_enforced_in(v, ns) if {
	v.enforced
	v.engine == "sigstore"
	not _namespace_not_opted_in(ns)
}

_namespace_not_opted_in(ns) if ns in _namespaces_not_opted_in

# Namespace objects in the input without the opt-in label (computed once).
_namespaces_not_opted_in contains k8s.name(ns_obj) if {
	some ns_obj in k8s.objects_of_kind("Namespace")
	not k8s.label(ns_obj, _sigstore_include_label) == "true"
}

# policy-controller only acts in namespaces labelled policy.sigstore.dev/include=true
# (its default webhook configuration).
warn contains {"msg": msg, "ref": k8s.ref(ns_obj), "field": "metadata.labels"} if {
	some ns in {x.namespace | some x in _images; some v in x.verifiers; v.engine == "sigstore"}
	_namespace_not_opted_in(ns)
	ns_obj := k8s.namespace_object(ns)
	msg := sprintf(
		"%s runs AI workloads whose images sigstore ClusterImagePolicies cover, but lacks the label %s=true, so policy-controller does not verify them there",
		[k8s.describe(ns_obj), _sigstore_include_label],
	)
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains {"msg": msg} if {
	not _coverage_decidable
	not _verifier_unreadable
	count(_images) > 0
	msg := "No image-signature verification policy (sigstore ClusterImagePolicy, Kyverno verifyImages) is in the bundle; whether the cluster verifies these images can only be seen in a live scan"
}

unknown contains item if {
	some item in k8s.unreadable_unknowns(_verifier_resources)
}

unknown contains item if {
	some item in workloads.unresolved_claim_unknowns("the images of its sandbox")
}
