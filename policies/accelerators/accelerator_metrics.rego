# METADATA
# title: Accelerator utilization and memory metrics are exported and scraped
# description: >-
#   A per-accelerator metrics exporter runs on the GPU nodes (NVIDIA DCGM exporter, AMD
#   device-metrics-exporter, Intel XPU Manager, Intel Gaudi metric exporter, AWS Neuron
#   monitor, or the DCGM exporter of the NVIDIA GPU Operator) and Prometheus scrapes it
#   through a ServiceMonitor, PodMonitor, PodMonitoring or `prometheus.io/scrape`
#   annotations. A monitor meant for the exporter that selects nothing, or names a port the
#   exporter does not have, collects no metrics.
# custom:
#   id: accelerator-metrics
#   requirements:
#     whitepaper: [HW-1.2]
#     cncf: [accelerator_metrics]
#   severity: high
#   scope: platform
#   inputs:
#     - {group: apps, resource: daemonsets}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: "", resource: services}
#     - {group: "", resource: namespaces}
#     - {group: nvidia.com, resource: clusterpolicies}
#     - {group: monitoring.coreos.com, resource: servicemonitors}
#     - {group: monitoring.coreos.com, resource: podmonitors}
#     - {group: monitoring.coreos.com, resource: prometheuses}
#     - {group: monitoring.googleapis.com, resource: podmonitorings}
#     - {group: monitoring.googleapis.com, resource: clusterpodmonitorings}
#   remediation: |-
#     Run DCGM exporter (or your vendor's exporter) as a DaemonSet on the accelerator nodes,
#     expose it with a Service (DCGM exporter listens on 9400), and scrape it with a
#     ServiceMonitor whose selector and port name match that Service; with the GPU Operator,
#     set `dcgmExporter.serviceMonitor.enabled: true` in the ClusterPolicy:
#
#     ```yaml
#     apiVersion: monitoring.coreos.com/v1
#     kind: ServiceMonitor
#     metadata:
#       name: dcgm-exporter
#       namespace: gpu-operator
#     spec:
#       selector:
#         matchLabels:
#           app.kubernetes.io/name: dcgm-exporter
#       endpoints:
#         - port: metrics
#           path: /metrics
#     ```
#   docs:
#     - https://github.com/NVIDIA/dcgm-exporter
#     - https://docs.nvidia.com/datacenter/cloud-native/gpu-telemetry/latest/kube-prometheus.html
#     - https://github.com/ROCm/device-metrics-exporter
#     - https://prometheus-operator.dev/docs/developer/getting-started/
package kaic.accelerators.accelerator_metrics

import rego.v1

import data.kaic.lib.accelerators as acc
import data.kaic.lib.k8s
import data.kaic.lib.scrape

# Exporter workloads with their scrape target and who scrapes them.
_exporters := [{"c": c, "target": t, "scrapers": scrape.scrapers(t)} |
	some c in acc.components_with_role("metrics-exporter")
	t := scrape.target(c.object)
]

# ---------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": k8s.ref(e.c.object)} if {
	some e in _exporters
	count(e.scrapers) > 0
	msg := sprintf("%s runs the %s (%s)%s, scraped through %s", [
		k8s.describe(e.c.object), e.c.product, e.c.image, _service_note(e.target),
		concat(", ", sort({_scraper_text(s) | some s in e.scrapers})),
	])
}

evidence contains {"msg": msg, "ref": k8s.ref(e.c.object)} if {
	some e in _exporters
	count(e.scrapers) == 0
	msg := sprintf("%s runs the %s (%s)%s", [k8s.describe(e.c.object), e.c.product, e.c.image, _service_note(e.target)])
}

_service_note(t) := sprintf(", exposed by %s", [concat(", ", sort([_service_text(s) | some s in t.services]))]) if {
	count(t.services) > 0
} else := ""

_service_text(svc) := sprintf("Service %s (port %s)", [k8s.name(svc), concat(", ", [sprintf("%v", [p.port]) | some p in k8s.array_at(svc, ["spec", "ports"])])])

_scraper_text(s) := "prometheus.io/scrape annotations" if {
	s.how == "annotation"
} else := k8s.describe(s.object)

# The GPU Operator deploys DCGM exporter (DaemonSet nvidia-dcgm-exporter, Service port 9400)
# unless dcgmExporter.enabled is false, and a ServiceMonitor for it when asked to.
evidence contains {"msg": msg, "ref": k8s.ref(cp)} if {
	some cp in acc.cluster_policies
	acc.not_disabled(cp, "dcgmExporter")
	msg := sprintf("%s deploys the NVIDIA DCGM exporter (nvidia-dcgm-exporter, port 9400)%s", [k8s.describe(cp), _operator_scrape_note(cp)])
}

_operator_scrape_note(cp) := " with a ServiceMonitor (dcgmExporter.serviceMonitor.enabled)" if {
	acc.component(cp, "dcgmExporter").serviceMonitor.enabled == true
} else := " and a ServiceMonitor or PodMonitor selects it" if {
	_operator_exporter_selected
} else := ""

# Labels of the operator's DCGM exporter Service and pods.
_operator_exporter_labels := {"app": "nvidia-dcgm-exporter"}

_operator_exporter_selected if {
	some m in array.concat(scrape.service_monitors, scrape.pod_monitors)
	k8s.selector_matches(k8s.get(k8s.object_at(m, "spec"), "selector", {}), _operator_exporter_labels)
}

# ---------------------------------------------------------------------------
# Misconfigurations
# ---------------------------------------------------------------------------

# Monitors meant for an accelerator exporter (by name or selector) that select none.
_exporter_words := ["dcgm", "device-metrics-exporter", "xpumanager", "xpu-manager", "gaudi-metric", "neuron-monitor"]

_monitor_text(m) := lower(concat(" ", array.concat(
	[k8s.name(m)],
	[sprintf("%v", [v]) | v := k8s.object_at(k8s.object_at(m, ["spec", "selector"]), "matchLabels")[_]],
)))

_meant_for_exporter(m) if {
	text := _monitor_text(m)
	some word in _exporter_words
	contains(text, word)
}

_selects_an_exporter(m) if {
	m.kind == "ServiceMonitor"
	some e in _exporters
	some svc in e.target.services
	scrape.sm_selects_service(m, svc)
}

_selects_an_exporter(m) if {
	m.kind == "PodMonitor"
	some e in _exporters
	scrape.pm_selects_pods(m, e.target.namespace, e.target.labels)
}

# Any Service in the input: the exporter's pods may be deployed by another bundle.
_selects_an_exporter(m) if {
	m.kind == "ServiceMonitor"
	some svc in k8s.objects_of_kind("Service")
	k8s.group(svc) == ""
	scrape.sm_selects_service(m, svc)
}

# The GPU Operator's own exporter, when the operator is in the input.
_selects_an_exporter(m) if {
	count(acc.cluster_policies) > 0
	k8s.selector_matches(k8s.get(k8s.object_at(m, "spec"), "selector", {}), _operator_exporter_labels)
}

deny contains {"msg": msg, "ref": k8s.ref(m), "field": "spec.selector"} if {
	count(_exporters) + count(acc.cluster_policies) > 0
	some m in array.concat(scrape.service_monitors, scrape.pod_monitors)
	_meant_for_exporter(m)
	not _selects_an_exporter(m)
	msg := sprintf(
		"%s is meant for the accelerator metrics exporter but its selector (and namespaceSelector) match none of the exporter's %s: accelerator metrics are not collected",
		[k8s.describe(m), _selected_kind(m)],
	)
}

_selected_kind(m) := "Services" if m.kind == "ServiceMonitor" else := "pods"

deny contains {"msg": msg, "ref": k8s.ref(bad.object), "field": bad.field} if {
	some e in _exporters
	some bad in scrape.port_mismatches(e.target)
	msg := sprintf(
		"%s selects %s but scrapes port %q, which it does not expose: Prometheus finds no target and accelerator metrics are not collected",
		[k8s.describe(bad.object), k8s.describe(e.c.object), bad.port],
	)
}

# Nothing scrapes the exporter although the input shows how metrics are collected: the
# bundle carries Prometheus Operator monitors, or the cluster serves them and they were read.
deny contains {"msg": msg, "ref": k8s.ref(e.c.object), "field": "metadata.name"} if {
	_scrape_config_visible
	some e in _exporters
	count(e.scrapers) == 0
	count(scrape.port_mismatches(e.target)) == 0
	msg := sprintf(
		"%s runs the %s but no ServiceMonitor, PodMonitor or prometheus.io/scrape annotation selects it: its utilization and memory metrics are not collected",
		[k8s.describe(e.c.object), e.c.product],
	)
}

_scrape_config_visible if {
	k8s.is_mode_manifests
	count(array.concat(scrape.service_monitors, scrape.pod_monitors)) > 0
}

_scrape_config_visible if {
	k8s.cluster_has_resource("monitoring.coreos.com", "servicemonitors")
	k8s.observed("monitoring.coreos.com", "servicemonitors")
	k8s.observed("monitoring.coreos.com", "podmonitors")
}

# A monitor for the exporter that no Prometheus picks up. Offline another Prometheus may
# exist elsewhere (advice); a live scan sees them all.
_unpicked contains s.object if {
	count(scrape.prometheuses) > 0
	some e in _exporters
	some s in e.scrapers
	s.how in {"ServiceMonitor", "PodMonitor"}
	count(scrape.selecting_prometheus(s.object)) == 0
}

warn contains {"msg": msg, "ref": k8s.ref(m), "field": "metadata.labels"} if {
	not k8s.observed("monitoring.coreos.com", "prometheuses")
	some m in _unpicked
	msg := sprintf("%s is not selected by any Prometheus in the input (serviceMonitorSelector/podMonitorSelector and their namespace selectors)", [k8s.describe(m)])
}

deny contains {"msg": msg, "ref": k8s.ref(m), "field": "metadata.labels"} if {
	k8s.observed("monitoring.coreos.com", "prometheuses")
	some m in _unpicked
	msg := sprintf("%s is not selected by any Prometheus (serviceMonitorSelector/podMonitorSelector and their namespace selectors): accelerator metrics are not collected", [k8s.describe(m)])
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

unknown contains {"msg": msg} if {
	some e in _exporters
	count(e.scrapers) == 0
	not _scrape_config_visible
	msg := sprintf(
		"%s runs the %s, but the input shows no scrape configuration (no ServiceMonitor/PodMonitor); whether Prometheus scrapes it can only be seen in the cluster or its Prometheus configuration",
		[k8s.describe(e.c.object), e.c.product],
	)
}

# A bundle that shows no such capability is "No" (DESIGN: platform facts come only from the
# objects in the bundle), like every other platform check; a live scan decides for the cluster.

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["apps", "daemonsets"],
		["", "services"],
		["monitoring.coreos.com", "servicemonitors"],
		["monitoring.coreos.com", "podmonitors"],
	])
}
