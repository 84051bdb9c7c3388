# Prometheus scraping: which ServiceMonitors, PodMonitors, Google Managed Prometheus
# PodMonitorings and `prometheus.io/scrape` annotations reach a given set of pods, and which
# Prometheus instances pick a monitor up. Library package: no METADATA block.
#
# A "target" is {"namespace", "labels", "ports", "services"}: the pods of one workload
# (their labels and named container ports) and the Services that select them.
#
# API:
#   service_monitors / pod_monitors / pod_monitorings   the monitor objects in the input
#   target(obj)                      the target of a workload object (first pod spec)
#   services_for(ns, labels)         Services in ns whose selector matches the pod labels
#   scrapers(target)                 [{"object", "how", "field"}]: everything that scrapes
#                                    the target (how: ServiceMonitor | PodMonitor |
#                                    PodMonitoring | annotation)
#   port_mismatches(target)          [{"object", "field", "port"}]: monitors that select the
#                                    target but name a port it does not have
#   sm_selects_service(sm, svc)      ServiceMonitor selector and namespaceSelector match
#   pm_selects_pods(pm, ns, labels)  PodMonitor selector and namespaceSelector match
#   selecting_prometheus(monitor)    Prometheus objects whose monitor selectors pick it
#   prometheuses                     Prometheus objects (monitoring.coreos.com)
package kaic.lib.scrape

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.pods

_group := "monitoring.coreos.com"

_of(kind, group) := [o | some o in k8s.objects_of_kind(kind); k8s.group(o) == group]

service_monitors := _of("ServiceMonitor", _group)

pod_monitors := _of("PodMonitor", _group)

prometheuses := _of("Prometheus", _group)

# Google Managed Prometheus.
pod_monitorings := array.concat(
	_of("PodMonitoring", "monitoring.googleapis.com"),
	_of("ClusterPodMonitoring", "monitoring.googleapis.com"),
)

# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------

target(obj) := {
	"namespace": k8s.namespace(obj),
	"labels": p.labels,
	"annotations": k8s.as_object(object.get(p.metadata, "annotations", {})),
	"ports": _container_ports(p.spec),
	"services": services_for(k8s.namespace(obj), p.labels),
} if {
	p := pods.pod_specs(obj)[0]
}

_container_ports(spec) := [port |
	some c in k8s.array_at(spec, "containers")
	some port in k8s.array_at(c, "ports")
	is_object(port)
]

services_for(ns, labels) := [svc |
	some svc in object.get(_services_by_namespace, ns, [])
	k8s.map_selects(k8s.get(k8s.object_at(svc, "spec"), "selector", null), labels)
]

# Core Services per namespace, built in one pass (positions, then arrays).
_services_by_namespace[ns] := [services[i] | some i in ids] if {
	services := k8s.objects_of_kind("Service")
	some ns, ids in _service_index
}

_service_index[ns] contains i if {
	some i, svc in k8s.objects_of_kind("Service")
	k8s.group(svc) == ""
	ns := k8s.namespace(svc)
}

# ---------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------

# namespaceSelector of the Prometheus Operator monitors: {any: true}, {matchNames: [...]},
# or absent = the monitor's own namespace.
_namespace_selected(monitor, ns) if {
	k8s.object_at(monitor, ["spec", "namespaceSelector"]).any == true
}

_namespace_selected(monitor, ns) if {
	sel := k8s.object_at(monitor, ["spec", "namespaceSelector"])
	not sel.any == true
	names := k8s.array_at(sel, "matchNames")
	count(names) > 0
	ns in names
}

_namespace_selected(monitor, ns) if {
	sel := k8s.object_at(monitor, ["spec", "namespaceSelector"])
	not sel.any == true
	count(k8s.array_at(sel, "matchNames")) == 0
	ns == k8s.namespace(monitor)
}

_selector(monitor) := k8s.get(k8s.object_at(monitor, "spec"), "selector", {})

sm_selects_service(sm, svc) if {
	_namespace_selected(sm, k8s.namespace(svc))
	k8s.selector_matches(_selector(sm), k8s.labels(svc))
}

pm_selects_pods(pm, ns, labels) if {
	_namespace_selected(pm, ns)
	k8s.selector_matches(_selector(pm), labels)
}

# GMP PodMonitoring selects pods in its own namespace; ClusterPodMonitoring in all.
_gmp_selects(pm, ns, labels) if {
	pm.kind == "ClusterPodMonitoring"
	k8s.selector_matches(_selector(pm), labels)
}

_gmp_selects(pm, ns, labels) if {
	pm.kind == "PodMonitoring"
	k8s.namespace(pm) == ns
	k8s.selector_matches(_selector(pm), labels)
}

# ---------------------------------------------------------------------------
# Who scrapes a target
# ---------------------------------------------------------------------------

scrapers(t) := array.concat(array.concat(by_sm, by_pm), array.concat(by_gmp, by_annotation)) if {
	by_sm := [{"object": sm, "how": "ServiceMonitor", "field": "spec.selector"} |
		some sm in service_monitors
		some svc in t.services
		sm_selects_service(sm, svc)
		_sm_port_ok(sm, svc)
	]
	by_pm := [{"object": pm, "how": "PodMonitor", "field": "spec.selector"} |
		some pm in pod_monitors
		pm_selects_pods(pm, t.namespace, t.labels)
		_pm_port_ok(pm, t)
	]
	by_gmp := [{"object": pm, "how": pm.kind, "field": "spec.selector"} |
		some pm in pod_monitorings
		_gmp_selects(pm, t.namespace, t.labels)
	]
	by_annotation := array.concat(
		[{"object": svc, "how": "annotation", "field": "metadata.annotations"} |
			some svc in t.services
			k8s.annotation(svc, "prometheus.io/scrape") == "true"
		],
		[{"object": null, "how": "annotation", "field": "metadata.annotations"} |
			object.get(t.annotations, "prometheus.io/scrape", "") == "true"
		],
	)
}

# An endpoint that names a port must find it on the Service; endpoints with targetPort
# or without a port name are not judged.
_sm_port_ok(sm, svc) if {
	some ep in k8s.array_at(sm, ["spec", "endpoints"])
	_endpoint_port_ok(ep, _service_port_names(svc))
}

_pm_port_ok(pm, t) if {
	some ep in k8s.array_at(pm, ["spec", "podMetricsEndpoints"])
	_endpoint_port_ok(ep, {n | some p in t.ports; n := p.name; is_string(n)})
}

_endpoint_port_ok(ep, names) if {
	is_object(ep)
	not is_string(ep.port)
}

_endpoint_port_ok(ep, names) if {
	is_string(ep.port)
	ep.port in names
}

_service_port_names(svc) := {n | some p in k8s.array_at(svc, ["spec", "ports"]); n := p.name; is_string(n)}

# Monitors that select the target but whose every endpoint names a missing port.
port_mismatches(t) := array.concat(sm_bad, pm_bad) if {
	sm_bad := [{"object": sm, "field": sprintf("spec.endpoints[%d].port", [i]), "port": ep.port} |
		some sm in service_monitors
		some svc in t.services
		sm_selects_service(sm, svc)
		not _sm_port_ok(sm, svc)
		some i, ep in k8s.array_at(sm, ["spec", "endpoints"])
		is_string(ep.port)
	]
	pm_bad := [{"object": pm, "field": sprintf("spec.podMetricsEndpoints[%d].port", [i]), "port": ep.port} |
		some pm in pod_monitors
		pm_selects_pods(pm, t.namespace, t.labels)
		not _pm_port_ok(pm, t)
		some i, ep in k8s.array_at(pm, ["spec", "podMetricsEndpoints"])
		is_string(ep.port)
	]
}

# ---------------------------------------------------------------------------
# Prometheus instances
# ---------------------------------------------------------------------------

# serviceMonitorSelector / podMonitorSelector: null selects nothing, {} everything; the
# namespace selector: null = the Prometheus object's own namespace, {} = all namespaces.
selecting_prometheus(monitor) := [p |
	some p in prometheuses
	key := _selector_key[monitor.kind]
	sel := k8s.object_at(p, "spec")[key]
	is_object(sel)
	k8s.selector_matches(sel, k8s.labels(monitor))
	_prometheus_namespace_ok(p, key, k8s.namespace(monitor))
]

_selector_key := {"ServiceMonitor": "serviceMonitorSelector", "PodMonitor": "podMonitorSelector"}

_prometheus_namespace_ok(p, key, ns) if {
	ns_sel := k8s.object_at(p, "spec")[sprintf("%sNamespaceSelector", [trim_suffix(key, "Selector")])]
	is_object(ns_sel)
	k8s.selector_matches(ns_sel, k8s.namespace_labels(ns))
}

_prometheus_namespace_ok(p, key, ns) if {
	not is_object(k8s.object_at(p, "spec")[sprintf("%sNamespaceSelector", [trim_suffix(key, "Selector")])])
	k8s.namespace(p) == ns
}
