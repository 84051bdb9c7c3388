# METADATA
# title: AI service metrics are scraped
# description: >-
#   Inference services must expose their service metrics (request rate, latency, queue depth,
#   tokens) to the cluster's monitoring stack: a Prometheus Operator (or Google Managed
#   Prometheus / VictoriaMetrics) ServiceMonitor or PodMonitor, or prometheus.io scrape
#   annotations, must select every inference workload.
# custom:
#   id: ai-service-metrics
#   requirements:
#     whitepaper: [OBS-6.1]
#     cncf: [ai_service_metrics]
#   severity: medium
#   scope: workload
#   inputs:
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: monitoring.coreos.com, resource: prometheuses}
#     - {group: monitoring.coreos.com, resource: servicemonitors}
#     - {group: monitoring.coreos.com, resource: podmonitors}
#     - {group: monitoring.googleapis.com, resource: podmonitorings}
#     - {group: monitoring.googleapis.com, resource: clusterpodmonitorings}
#     - {group: operator.victoriametrics.com, resource: vmservicescrapes}
#     - {group: operator.victoriametrics.com, resource: vmpodscrapes}
#     - {group: opentelemetry.io, resource: opentelemetrycollectors}
#     - {group: "", resource: services}
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
#     - {group: serving.knative.dev, resource: services}
#   remediation: >-
#     Install the Prometheus Operator (for example kube-prometheus-stack) and give every
#     inference workload a ServiceMonitor (or PodMonitor) that selects it, in a namespace and
#     with labels that the Prometheus object's `serviceMonitorSelector` and
#     `serviceMonitorNamespaceSelector` pick up:
#
#     ```yaml
#     apiVersion: monitoring.coreos.com/v1
#     kind: ServiceMonitor
#     metadata:
#       name: vllm
#       namespace: inference
#       labels:
#         release: kube-prometheus-stack
#     spec:
#       selector:
#         matchLabels:
#           app: vllm
#       endpoints:
#         - port: http
#           path: /metrics
#     ```
#   docs:
#     - https://prometheus-operator.dev/docs/developer/getting-started/
#     - https://github.com/cncf/k8s-ai-conformance
#     - https://docs.vllm.ai/en/latest/usage/metrics.html
package kaic.observability.ai_service_metrics

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.monitoring
import data.kaic.lib.otel
import data.kaic.lib.pods
import data.kaic.lib.workloads

# ---------------------------------------------------------------------------
# Platform: the scraping stack
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": _crd_ref(api[0], api[2])} if {
	some api in monitoring.monitor_apis
	k8s.crd_defined(api[0], api[2])
	msg := sprintf("The %s API (%s.%s) is available to configure metrics scraping", [api[1], api[2], api[0]])
}

evidence contains {"msg": msg, "ref": k8s.ref(p)} if {
	some p in monitoring.prometheuses
	msg := sprintf("%s is a Prometheus server managed by the Prometheus Operator", [k8s.describe(p)])
}

# An OpenTelemetry collector that scrapes Prometheus endpoints into a metrics pipeline.
evidence contains {"msg": msg, "ref": k8s.ref(c)} if {
	some c in otel.collectors
	cfg := otel.collector_config(c)
	some name, pl in otel.pipelines(cfg, "metrics")
	some r in otel.component_names(pl, "receivers")
	otel.component_of_type(r, "prometheus")
	msg := sprintf("%s scrapes Prometheus metrics (pipeline %s, receiver %s)", [k8s.describe(c), name, r])
}

# ---------------------------------------------------------------------------
# Inference workloads
# ---------------------------------------------------------------------------

# Inference workloads, plus accelerated workloads of long-running serving kinds (a vLLM
# Deployment that requests a GPU but carries no kaic.dev/workload label is a service too).
_services := [x |
	some x in workloads.classified
	_is_service(x)
]

_is_service(x) if x.class == "inference"

_is_service(x) if {
	x.class == "accelerated"
	x.object.kind in _serving_kinds
}

_serving_kinds := {"Deployment", "StatefulSet", "LeaderWorkerSet"}

# Each one with the ways it is scraped, computed once.
_coverage := [{"workload": x.object, "class": x.class, "scrapers": monitoring.scrapers(x.object)} | some x in _services]

evidence contains {"msg": msg, "ref": k8s.ref(w)} if {
	some c in _coverage
	count(c.scrapers) > 0
	w := c.workload
	msg := sprintf("%s (%s) is scraped through %s", [k8s.describe(w), c.class, concat(", ", sort([_describe_scraper(s) | some s in c.scrapers]))])
}

# With a monitoring stack in place, an inference workload nothing scrapes is a gap. Without
# one there is nothing to compare against: the requirement is simply not met (status No).
deny contains {"msg": msg, "ref": k8s.ref(w), "field": _labels_field(w)} if {
	monitoring.stack_present
	not _scrape_config_unread
	some c in _coverage
	count(c.scrapers) == 0
	w := c.workload
	msg := sprintf(
		"%s is an AI service (class %s), but no ServiceMonitor or PodMonitor selects it or a Service in front of it, and its pods carry no prometheus.io/scrape annotation: its service metrics are not collected",
		[k8s.describe(w), c.class],
	)
}

# ---------------------------------------------------------------------------
# Monitors that cannot work
# ---------------------------------------------------------------------------

# A ServiceMonitor that selects no Service: only said when the Services it could select
# are visible (a live scan, or a bundle that ships Services in the namespaces it watches).
warn contains {"msg": msg, "ref": k8s.ref(m), "field": "spec.selector"} if {
	some i, m in monitoring.service_monitors
	not i in monitoring.selecting_service_monitors
	_services_visible_for(m)
	msg := sprintf(
		"%s selects no Service (check spec.selector and spec.namespaceSelector): it scrapes nothing",
		[k8s.describe(m)],
	)
}

# Prometheus picks ServiceMonitors/PodMonitors by label and namespace: one that no
# Prometheus selects is never scraped.
warn contains {"msg": msg, "ref": k8s.ref(m), "field": "metadata.labels"} if {
	_prometheuses_visible
	some m in monitoring.all_monitors
	k8s.group(m) == "monitoring.coreos.com"
	not _selected_by_a_prometheus(m)
	msg := sprintf(
		"No Prometheus in the input selects %s (serviceMonitorSelector/podMonitorSelector and their namespace selectors): its targets are not scraped",
		[k8s.describe(m)],
	)
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["monitoring.coreos.com", "servicemonitors"],
		["monitoring.coreos.com", "podmonitors"],
		["monitoring.coreos.com", "prometheuses"],
		["monitoring.googleapis.com", "podmonitorings"],
		["", "services"],
	])
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

_describe_scraper(s) := sprintf("%s annotation on %s", [s.name, s.via]) if {
	s.kind == "annotation"
} else := sprintf("%s %s (%s)", [s.kind, s.name, s.via])

# Where to add labels or scrape annotations: the first pod template's metadata.
_labels_field(w) := specs[0].metadata_path if {
	specs := pods.pod_specs(w)
	count(specs) > 0
} else := "metadata"

_services_visible_for(_) if k8s.observed("", "services")

_services_visible_for(m) if {
	k8s.is_mode_manifests
	some ns in monitoring.services_namespaces
	monitoring.monitor_watches_namespace(m, ns)
}

# No verdict on unread data: when monitors or Services could not be read, an unscraped
# workload may well be scraped (the unknown rule says what was not read).
_scrape_config_unread if {
	some pair in [["monitoring.coreos.com", "servicemonitors"], ["monitoring.coreos.com", "podmonitors"], ["", "services"]]
	k8s.unreadable(pair[0], pair[1])
}

_prometheuses_visible if count(monitoring.prometheuses) > 0

_prometheuses_visible if k8s.observed("monitoring.coreos.com", "prometheuses")

_selected_by_a_prometheus(m) if {
	some p in monitoring.prometheuses
	monitoring.prometheus_selects(p, m)
}

# The CustomResourceDefinition of group/plural as a finding ref (k8s.crd_ref, built with
# concat: rego-cpp renders sprintf of computed strings with stray quotes).
_crd_ref(group, plural) := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"namespace": "",
	"name": concat(".", [plural, group]),
}
