# METADATA
# title: Pod autoscaling of AI workloads
# description: >-
#   AI workloads scale their replicas automatically: HorizontalPodAutoscalers (or KEDA
#   ScaledObjects) target them, preferably on custom or external metrics (queue depth,
#   running requests, GPU utilisation) served by a metrics adapter
#   (custom.metrics.k8s.io / external.metrics.k8s.io APIService, prometheus-adapter,
#   KEDA); KServe InferenceServices with an autoscaling range count too. An autoscaler
#   whose target does not exist, or that reads custom/external metrics no adapter serves,
#   and an unavailable metrics APIService are violations. An autoscaler scaling an
#   accelerator workload on CPU or memory alone is a warning: GPU-bound servers rarely
#   show load in CPU utilisation.
# custom:
#   id: pod-autoscaling
#   requirements:
#     whitepaper: []
#     cncf: [pod_autoscaling]
#   severity: high
#   scope: workload
#   inputs:
#     - {group: autoscaling, resource: horizontalpodautoscalers}
#     - {group: keda.sh, resource: scaledobjects}
#     - {group: apiregistration.k8s.io, resource: apiservices}
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: apps, resource: replicasets}
#     - {group: leaderworkerset.x-k8s.io, resource: leaderworkersets}
#     - {group: serving.kserve.io, resource: inferenceservices}
#     - {group: "", resource: pods}
#   remediation: |-
#     Serve inference metrics through a metrics adapter (prometheus-adapter or KEDA) and
#     scale the model server on them:
#
#     ```yaml
#     apiVersion: autoscaling/v2
#     kind: HorizontalPodAutoscaler
#     metadata:
#       name: vllm
#       namespace: inference
#     spec:
#       scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: vllm}
#       minReplicas: 1
#       maxReplicas: 8
#       metrics:
#         - type: Pods
#           pods:
#             metric: {name: vllm_num_requests_waiting}
#             target: {type: AverageValue, averageValue: "4"}
#     ```
#   docs:
#     - https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/
#     - https://github.com/kubernetes-sigs/prometheus-adapter
#     - https://keda.sh/docs/latest/concepts/scaling-deployments/
package kaic.scheduling.pod_autoscaling

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.platform
import data.kaic.lib.workloads

_hpas := platform.of_kind("autoscaling", "HorizontalPodAutoscaler")

_scaled_objects := platform.of_kind("keda.sh", "ScaledObject")

_api_services := platform.of_kind("apiregistration.k8s.io", "APIService")

_adapter_controllers := platform.controllers(["prometheus-adapter", "keda-operator-metrics-apiserver", "keda-operator", "k8s-prometheus-adapter"])

# Metrics APIs by group, from APIService objects or the cluster's discovery.
_metrics_groups := {"custom.metrics.k8s.io", "external.metrics.k8s.io", "metrics.k8s.io"}

_served_metrics_group(g) if {
	some svc in _api_services
	k8s.string_at(k8s.object_at(svc, "spec"), "group") == g
	platform.condition(svc, "Available") != "False"
}

_served_metrics_group(g) if {
	some svc in _api_services
	k8s.string_at(k8s.object_at(svc, "spec"), "group") == g
	not platform.condition(svc, "Available")
}

_served_metrics_group(g) if {
	some r in k8s.api_resources
	r.group == g
}

# Autoscalers as {obj, target, field, types}: the object they scale and their metric types.
_autoscalers contains {"obj": hpa, "ref": ref, "types": types} if {
	some hpa in _hpas
	ref := k8s.object_at(k8s.object_at(hpa, "spec"), "scaleTargetRef")
	types := {t | some m in k8s.array_at(k8s.object_at(hpa, "spec"), "metrics"); t := k8s.string_at(m, "type"); t != ""}
}

_autoscalers contains {"obj": so, "ref": object.union({"kind": "Deployment", "apiVersion": "apps/v1"}, ref), "types": {"External"}} if {
	some so in _scaled_objects
	ref := k8s.object_at(k8s.object_at(so, "spec"), "scaleTargetRef")
}

_target_kind(a) := k8s.string_at(a.ref, "kind")

_target_name(a) := k8s.string_at(a.ref, "name")

_target(a) := platform.find(_target_kind(a), k8s.namespace(a.obj), _target_name(a))

_target_group(a) := k8s.api_group(k8s.string_at(a.ref, "apiVersion"))

_custom_types := {"Pods", "Object", "External"}

_metrics_text(types) := concat(", ", sort(types)) if count(types) > 0 else := "Resource (default CPU)"

# ---------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": k8s.ref(a.obj)} if {
	some a in _autoscalers
	target := _target(a)
	workloads.is_ai_workload(target)
	msg := sprintf("%s scales AI workload %s on %s metrics", [k8s.describe(a.obj), k8s.describe(target), _metrics_text(a.types)])
}

evidence contains {"msg": msg, "ref": k8s.ref(svc)} if {
	some svc in _api_services
	k8s.string_at(k8s.object_at(svc, "spec"), "group") in _metrics_groups
	platform.condition(svc, "Available") != "False"
	msg := sprintf("%s serves %s for autoscalers", [k8s.describe(svc), svc.spec.group])
}

evidence contains {"msg": msg, "ref": k8s.ref(svc)} if {
	some svc in _api_services
	k8s.string_at(k8s.object_at(svc, "spec"), "group") in _metrics_groups
	not platform.condition(svc, "Available")
	msg := sprintf("%s serves %s for autoscalers", [k8s.describe(svc), svc.spec.group])
}

evidence contains {"msg": msg, "ref": k8s.ref(d)} if {
	some d in _adapter_controllers
	platform.rollout_state(d) != "unavailable"
	msg := sprintf("Metrics adapter %s is %s", [k8s.describe(d), platform.rollout_note(d)])
}

evidence contains {"msg": msg, "ref": {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "namespace": "", "name": concat(".", ["v1beta1", g])}} if {
	some g in _metrics_groups
	some r in k8s.api_resources
	r.group == g
	msg := sprintf("The cluster serves %s for autoscalers", [g])
}

# KServe scales InferenceServices itself (Knative KPA, HPA or KEDA).
evidence contains {"msg": msg, "ref": k8s.ref(isvc)} if {
	some isvc in platform.of_kind("serving.kserve.io", "InferenceService")
	predictor := k8s.object_at(k8s.object_at(isvc, "spec"), "predictor")
	_kserve_autoscales(isvc, predictor)
	msg := sprintf("%s is autoscaled by KServe (%s)", [k8s.describe(isvc), _kserve_how(isvc, predictor)])
}

_kserve_autoscales(isvc, predictor) if {
	max := k8s.get(predictor, "maxReplicas", 0)
	is_number(max)
	max > k8s.get(predictor, "minReplicas", 1)
}

_kserve_autoscales(isvc, _) if {
	some k, _ in k8s.annotations(isvc)
	startswith(k, "autoscaling.knative.dev/")
}

_kserve_autoscales(isvc, _) if k8s.annotation(isvc, "serving.kserve.io/autoscalerClass")

_kserve_how(isvc, predictor) := sprintf("autoscaler class %s", [k8s.annotation(isvc, "serving.kserve.io/autoscalerClass")]) if {
	k8s.annotation(isvc, "serving.kserve.io/autoscalerClass")
} else := sprintf("scale metric %s", [predictor.scaleMetric]) if {
	is_string(predictor.scaleMetric)
} else := "Knative autoscaling"

# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------

deny contains {"msg": msg, "ref": k8s.ref(a.obj), "field": "spec.scaleTargetRef.name"} if {
	some a in _autoscalers
	_target_name(a) != ""
	not _target(a)
	platform.complete_in(_target_group(a), _plural(_target_kind(a)), _target_kind(a), k8s.namespace(a.obj))
	msg := sprintf("%s scales %s %s, which does not exist in namespace %s", [k8s.describe(a.obj), _target_kind(a), _target_name(a), k8s.namespace(a.obj)])
}

_plural(kind) := sprintf("%ss", [lower(kind)])

deny contains {"msg": msg, "ref": k8s.ref(a.obj), "field": "spec.metrics"} if {
	some a in _autoscalers
	a.obj.kind == "HorizontalPodAutoscaler"
	some t in a.types & _custom_types
	g := _group_for_type(t)
	k8s.observed("apiregistration.k8s.io", "apiservices")
	not _served_metrics_group(g)
	msg := sprintf("%s reads %s metrics, but no APIService serves %s; the HPA cannot compute a replica count", [k8s.describe(a.obj), t, g])
}

_group_for_type(t) := "external.metrics.k8s.io" if t == "External" else := "custom.metrics.k8s.io"

deny contains {"msg": msg, "ref": k8s.ref(svc), "field": "status.conditions"} if {
	some svc in _api_services
	k8s.string_at(k8s.object_at(svc, "spec"), "group") in _metrics_groups
	platform.condition(svc, "Available") == "False"
	msg := sprintf("%s (%s) is not Available; autoscalers using these metrics stop scaling", [k8s.describe(svc), svc.spec.group])
}

# ---------------------------------------------------------------------------
# Advice
# ---------------------------------------------------------------------------

warn contains {"msg": msg, "ref": k8s.ref(a.obj), "field": "spec.metrics"} if {
	some a in _autoscalers
	a.obj.kind == "HorizontalPodAutoscaler"
	count(a.types & _custom_types) == 0
	target := _target(a)
	workloads.requests_accelerators(target)
	msg := sprintf("%s scales accelerator workload %s on CPU/memory only; GPU-bound model servers rarely show load there, scale on requests, queue depth or GPU utilisation instead", [k8s.describe(a.obj), k8s.describe(target)])
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains {"msg": msg} if {
	not k8s.is_live
	needed := {_group_for_type(t) | some a in _autoscalers; a.obj.kind == "HorizontalPodAutoscaler"; some t in a.types & _custom_types}
	missing := {g | some g in needed; not _served_metrics_group(g)}
	count(missing) > 0
	count(_adapter_controllers) == 0
	msg := sprintf("Autoscalers read metrics from %s, which the bundle does not serve; whether a metrics adapter runs can only be seen in a live scan", [concat(", ", sort(missing))])
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["autoscaling", "horizontalpodautoscalers"],
		["keda.sh", "scaledobjects"],
		["apiregistration.k8s.io", "apiservices"],
	])
}
