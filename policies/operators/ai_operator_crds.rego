# METADATA
# title: AI-native operator CRDs and their controllers
# description: >-
#   The platform installs the CRDs of AI operators (Kubeflow Trainer, KubeRay, KServe,
#   LeaderWorkerSet, JobSet, agent-sandbox, Volcano, NVIDIA Dynamo, kagent, and the
#   whitepaper's AgentTool), they are Established, their controller runs, and their
#   conversion/admission webhooks can be trusted by the API server (caBundle set or
#   injected by cert-manager / the service CA). The catalogue is configurable through
#   the data document `kaic.params.ai_operator_crds`: an array of
#   `{name: string, group: string, kinds: [string], controllers: [string]}` where kinds
#   are the CRD kinds that belong to the operator (an empty list means every CRD of the
#   group) and controllers are substrings of the controller Deployment's name or
#   `app.kubernetes.io/name` label. When the parameter is absent the built-in catalogue
#   below is used. Custom resources of kinds added through the parameter are only seen
#   in a live scan when their resources are collected (the inputs list the built-in
#   catalogue).
# custom:
#   id: ai-operator-crds
#   requirements:
#     whitepaper: [WL-2.1]
#     cncf: [robust_controller]
#   severity: high
#   scope: platform
#   inputs:
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: admissionregistration.k8s.io, resource: validatingwebhookconfigurations}
#     - {group: admissionregistration.k8s.io, resource: mutatingwebhookconfigurations}
#     - {group: trainer.kubeflow.org, resource: trainjobs}
#     - {group: trainer.kubeflow.org, resource: trainingruntimes}
#     - {group: trainer.kubeflow.org, resource: clustertrainingruntimes}
#     - {group: kubeflow.org, resource: pytorchjobs}
#     - {group: kubeflow.org, resource: tfjobs}
#     - {group: kubeflow.org, resource: mpijobs}
#     - {group: kubeflow.org, resource: xgboostjobs}
#     - {group: kubeflow.org, resource: paddlejobs}
#     - {group: kubeflow.org, resource: jaxjobs}
#     - {group: ray.io, resource: rayclusters}
#     - {group: ray.io, resource: rayjobs}
#     - {group: ray.io, resource: rayservices}
#     - {group: serving.kserve.io, resource: inferenceservices}
#     - {group: serving.kserve.io, resource: llminferenceservices}
#     - {group: serving.kserve.io, resource: llminferenceserviceconfigs}
#     - {group: serving.kserve.io, resource: servingruntimes}
#     - {group: serving.kserve.io, resource: clusterservingruntimes}
#     - {group: serving.kserve.io, resource: inferencegraphs}
#     - {group: serving.kserve.io, resource: trainedmodels}
#     - {group: leaderworkerset.x-k8s.io, resource: leaderworkersets}
#     - {group: jobset.x-k8s.io, resource: jobsets}
#     - {group: agents.x-k8s.io, resource: sandboxes}
#     - {group: extensions.agents.x-k8s.io, resource: sandboxclaims}
#     - {group: extensions.agents.x-k8s.io, resource: sandboxtemplates}
#     - {group: extensions.agents.x-k8s.io, resource: sandboxwarmpools}
#     - {group: batch.volcano.sh, resource: jobs}
#     - {group: nvidia.com, resource: dynamographdeployments}
#     - {group: nvidia.com, resource: dynamocomponentdeployments}
#     - {group: kagent.dev, resource: agents}
#     - {group: kagent.dev, resource: modelconfigs}
#     - {group: kagent.dev, resource: remotemcpservers}
#     - {group: kagent.dev, resource: mcpservers}
#     - {group: agents.agentops.io, resource: agenttools}
#   remediation: |-
#     Install the AI operator with its CRDs and controller (Helm chart or release
#     manifests), let cert-manager or the operator's own cert controller fill the webhook
#     caBundle, and check that the CRDs are Established (`kubectl get crd`). A catalogue
#     of your own operators can be given as data:
#
#     ```yaml
#     kaic:
#       params:
#         ai_operator_crds:
#           - name: AgentOps
#             group: agents.agentops.io
#             kinds: [AgentTool]
#             controllers: [agentops-controller]
#     ```
#
#     A conversion webhook the API server can trust:
#
#     ```yaml
#     apiVersion: apiextensions.k8s.io/v1
#     kind: CustomResourceDefinition
#     metadata:
#       name: agenttools.agents.agentops.io
#       annotations:
#         cert-manager.io/inject-ca-from: agentops-system/agentops-serving-cert
#     ```
#   docs:
#     - https://github.com/cncf/k8s-ai-conformance
#     - https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/
#     - https://cert-manager.io/docs/concepts/ca-injector/
package kaic.operators.ai_operator_crds

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.platform

# Built-in catalogue (research/cncf-ai-conformance.md section 4.1, WL-2.1).
default_catalogue := [
	{"name": "Kubeflow Trainer", "group": "trainer.kubeflow.org", "kinds": ["TrainJob", "TrainingRuntime", "ClusterTrainingRuntime"], "controllers": ["kubeflow-trainer", "trainer-controller-manager"]},
	{"name": "Kubeflow Training Operator", "group": "kubeflow.org", "kinds": ["PyTorchJob", "TFJob", "MPIJob", "XGBoostJob", "PaddleJob", "JAXJob"], "controllers": ["training-operator"]},
	{"name": "KubeRay", "group": "ray.io", "kinds": ["RayCluster", "RayJob", "RayService"], "controllers": ["kuberay-operator"]},
	{"name": "KServe", "group": "serving.kserve.io", "kinds": ["InferenceService", "ServingRuntime", "ClusterServingRuntime", "LLMInferenceService", "LLMInferenceServiceConfig", "InferenceGraph", "TrainedModel"], "controllers": ["kserve-controller-manager", "llmisvc-controller-manager"]},
	{"name": "LeaderWorkerSet", "group": "leaderworkerset.x-k8s.io", "kinds": ["LeaderWorkerSet"], "controllers": ["lws-controller-manager"]},
	{"name": "JobSet", "group": "jobset.x-k8s.io", "kinds": ["JobSet"], "controllers": ["jobset-controller-manager"]},
	{"name": "agent-sandbox", "group": "agents.x-k8s.io", "kinds": ["Sandbox"], "controllers": ["agent-sandbox-controller"]},
	{"name": "agent-sandbox extensions", "group": "extensions.agents.x-k8s.io", "kinds": ["SandboxTemplate", "SandboxClaim", "SandboxWarmPool"], "controllers": ["agent-sandbox-controller"]},
	{"name": "Volcano", "group": "batch.volcano.sh", "kinds": ["Job"], "controllers": ["volcano-controller"]},
	{"name": "NVIDIA Dynamo", "group": "nvidia.com", "kinds": ["DynamoGraphDeployment", "DynamoComponentDeployment"], "controllers": ["dynamo-operator"]},
	{"name": "kagent", "group": "kagent.dev", "kinds": ["Agent", "ModelConfig", "RemoteMCPServer", "MCPServer"], "controllers": ["kagent-controller"]},
	{"name": "AgentTool (whitepaper WL-2.1)", "group": "agents.agentops.io", "kinds": ["AgentTool"], "controllers": ["agentops"]},
]

# The catalogue in force: data.kaic.params.ai_operator_crds when it is an array.
catalogue := [_normalised(e) | some e in data.kaic.params.ai_operator_crds; is_object(e); is_string(e.group)] if {
	is_array(data.kaic.params.ai_operator_crds)
} else := default_catalogue

_normalised(e) := {
	"name": object.get(e, "name", e.group),
	"group": e.group,
	"kinds": [k | some k in k8s.array_at(e, "kinds"); is_string(k)],
	"controllers": [c | some c in k8s.array_at(e, "controllers"); is_string(c)],
}

# Operators whose CRDs the input shows, with those CRDs and matching controllers.
_installed := [{"entry": e, "crds": crds, "controllers": ctrls} |
	some e in catalogue
	crds := platform.crds_of(e.group, e.kinds)
	_present(e, crds)
	ctrls := platform.controllers(e.controllers)
]

_present(_, crds) if count(crds) > 0

_present(e, _) if {
	some kind in e.kinds
	platform.kind_defined(e.group, kind)
}

_kinds_text(op) := concat(", ", sort({k | some crd in op.crds; k := platform.crd_kind(crd)})) if {
	count(op.crds) > 0
} else := concat(", ", sort({k | some k in op.entry.kinds; platform.kind_defined(op.entry.group, k)}))

# ---------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": _op_ref(op)} if {
	some op in _installed
	not _any_not_established(op)
	msg := sprintf("%s: the API %s (%s) is installed", [op.entry.name, op.entry.group, _kinds_text(op)])
}

evidence contains {"msg": msg, "ref": k8s.ref(d)} if {
	some op in _installed
	some d in op.controllers
	platform.rollout_state(d) != "unavailable"
	msg := sprintf("%s: controller %s is %s", [op.entry.name, k8s.describe(d), platform.rollout_note(d)])
}

_op_ref(op) := k8s.ref(op.crds[0]) if {
	count(op.crds) > 0
} else := platform.crd_ref(op.entry.group, plurals[0]) if {
	# Served by the cluster without a CRD object in the input: the plural from discovery.
	plurals := [r.resource | some r in k8s.api_resources; r.group == op.entry.group; r.kind in op.entry.kinds]
	count(plurals) > 0
} else := platform.crd_ref(op.entry.group, lower(op.entry.kinds[0]))

_any_not_established(op) if {
	some crd in op.crds
	platform.crd_not_established(crd)
}

# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------

deny contains {"msg": msg, "ref": k8s.ref(crd), "field": "status.conditions"} if {
	some op in _installed
	some crd in op.crds
	platform.crd_not_established(crd)
	msg := sprintf("%s: %s is not Established (its resources cannot be served)", [op.entry.name, k8s.describe(crd)])
}

deny contains {"msg": msg, "ref": k8s.ref(d), "field": "status.conditions"} if {
	some op in _installed
	some d in op.controllers
	platform.rollout_state(d) == "unavailable"
	msg := sprintf("%s: controller %s is not available, so its custom resources are not reconciled", [op.entry.name, k8s.describe(d)])
}

# No controller: a fact in a live scan; in a bundle the controller may be installed apart.
deny contains {"msg": msg, "ref": _op_ref(op), "field": "spec"} if {
	some op in _installed
	count(op.controllers) == 0
	count(op.entry.controllers) > 0
	k8s.observed("apps", "deployments")
	msg := sprintf("%s: the CRDs are installed but no controller Deployment (%s) runs in the cluster", [op.entry.name, concat(", ", op.entry.controllers)])
}

warn contains {"msg": msg, "ref": _op_ref(op), "field": "spec"} if {
	some op in _installed
	count(op.controllers) == 0
	count(op.entry.controllers) > 0
	not k8s.is_live
	msg := sprintf("%s: the bundle installs the CRDs but no controller Deployment (%s); install the controller with them", [op.entry.name, concat(", ", op.entry.controllers)])
}

# Webhooks without a CA the API server can use. Operators such as Kueue, JobSet and the
# Trainer fill caBundle at run time (their own cert controller), so an empty caBundle in
# a bundle is only a warning; in a live scan it is a broken webhook.
_conversion_without_ca contains [op, crd] if {
	some op in _installed
	some crd in op.crds
	crd.spec.conversion.strategy == "Webhook"
	not _has_ca(crd.spec.conversion.webhook.clientConfig)
	not _ca_injected(crd)
}

_webhooks_without_ca contains [op, cfg, i] if {
	some op in _installed
	some kind in ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"]
	some cfg in platform.of_kind("admissionregistration.k8s.io", kind)
	not _ca_injected(cfg)
	some i, hook in k8s.array_at(cfg, "webhooks")
	_hook_covers(hook, op.entry.group)
	not _has_ca(hook.clientConfig)
	not _url_webhook(hook.clientConfig)
}

_has_ca(client_config) if {
	ca := client_config.caBundle
	is_string(ca)
	ca != ""
	ca != "Cg=="
}

# A URL webhook may be served with a publicly trusted certificate.
_url_webhook(client_config) if is_string(client_config.url)

_ca_injected(obj) if {
	some key in ["cert-manager.io/inject-ca-from", "cert-manager.io/inject-ca-from-secret", "cert-manager.io/inject-apiserver-ca", "service.beta.openshift.io/inject-cabundle"]
	k8s.annotation(obj, key)
}

_hook_covers(hook, group) if {
	some rule in k8s.array_at(hook, "rules")
	some g in k8s.array_at(rule, "apiGroups")
	g in {group, "*"}
}

deny contains {"msg": msg, "ref": k8s.ref(crd), "field": "spec.conversion.webhook.clientConfig.caBundle"} if {
	k8s.is_live
	some [op, crd] in _conversion_without_ca
	msg := sprintf("%s: the conversion webhook of %s has no caBundle and no CA injection annotation; the API server cannot convert its resources", [op.entry.name, k8s.describe(crd)])
}

deny contains {"msg": msg, "ref": k8s.ref(cfg), "field": sprintf("webhooks[%d].clientConfig.caBundle", [i])} if {
	k8s.is_live
	some [op, cfg, i] in _webhooks_without_ca
	msg := sprintf("%s: webhook %d of %s has no caBundle and no CA injection annotation; admission of %s resources fails", [op.entry.name, i, k8s.describe(cfg), op.entry.group])
}

warn contains {"msg": msg, "ref": k8s.ref(crd), "field": "spec.conversion.webhook.clientConfig.caBundle"} if {
	not k8s.is_live
	some [op, crd] in _conversion_without_ca
	msg := sprintf("%s: the conversion webhook of %s has no caBundle and no cert-manager injection annotation; make sure the operator injects its CA at run time", [op.entry.name, k8s.describe(crd)])
}

warn contains {"msg": msg, "ref": k8s.ref(cfg), "field": sprintf("webhooks[%d].clientConfig.caBundle", [i])} if {
	not k8s.is_live
	some [op, cfg, i] in _webhooks_without_ca
	msg := sprintf("%s: webhook %d of %s has no caBundle and no cert-manager injection annotation; make sure the operator injects its CA at run time", [op.entry.name, i, k8s.describe(cfg)])
}

# Custom resources of a catalogue kind whose CRD is missing although the operator's API
# group is installed (an older operator release without that kind) or, in a live scan,
# not served at all.
_orphans contains [e, obj] if {
	some e in catalogue
	some kind in e.kinds
	some obj in platform.of_kind(e.group, kind)
	not platform.kind_defined(e.group, kind)
	_group_known_complete(e.group)
}

_group_known_complete(group) if platform.group_defined(group)

_group_known_complete(_) if {
	k8s.is_live
	count(k8s.api_resources) > 0
}

deny contains {"msg": msg, "ref": k8s.ref(obj), "field": "apiVersion"} if {
	some [e, obj] in _orphans
	msg := sprintf("%s: %s is a %s, but no CRD defines kind %s in group %s", [e.name, k8s.describe(obj), obj.kind, obj.kind, e.group])
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains {"msg": msg} if {
	not k8s.is_live
	some e in catalogue
	not platform.group_defined(e.group)
	some kind in e.kinds
	count(platform.of_kind(e.group, kind)) > 0
	msg := sprintf("The bundle uses %s resources (%s) but does not install their CRDs; whether the cluster serves them can only be seen in a live scan", [e.name, e.group])
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["apiextensions.k8s.io", "customresourcedefinitions"],
		["apps", "deployments"],
		["admissionregistration.k8s.io", "validatingwebhookconfigurations"],
		["admissionregistration.k8s.io", "mutatingwebhookconfigurations"],
	])
}
