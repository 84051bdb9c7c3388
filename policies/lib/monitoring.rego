# Metrics scraping: which ServiceMonitors, PodMonitors (and their Google Managed
# Prometheus and VictoriaMetrics twins) or prometheus.io annotations make Prometheus
# scrape a workload, and which Prometheus servers select a monitor.
# Library package: no METADATA block.
#
# API:
#   monitor_kinds                    kinds of scrape-config objects handled here
#   service_monitors / pod_monitors  the scrape objects in the input, per target type
#   monitor_watches_namespace(m, ns) m's namespaceSelector covers namespace ns
#                                    (absent: the monitor's own namespace; `any: true`:
#                                    all; `matchNames`: the names listed)
#   service_monitors_selecting(ns, labels) / pod_monitors_selecting(ns, labels)
#                                    monitors that select a Service / pod with these labels
#   selecting_service_monitors       indexes of service_monitors that select some Service
#   services_for_labels(ns, labels)  Services in the input in ns whose selector selects
#                                    pods with these labels
#   scrapers(obj)                    [{"kind", "name", "via"}]: what makes Prometheus scrape
#                                    the pods of workload obj (a monitor of its pods or of a
#                                    Service in front of them, or scrape annotations)
#   prometheus_selects(p, m)         Prometheus CR p selects monitor m (serviceMonitor /
#                                    podMonitor selectors; null selector = nothing, empty
#                                    = everything; namespace selector null = own ns)
#   stack_present                    a Prometheus-Operator-style stack is in the input or
#                                    served by the cluster (CRDs, Prometheus or monitors)
package kaic.lib.monitoring

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.pods

# [group, kind, plural, target] of each scrape-config API. target: "service" | "pod".
monitor_apis := [
	["monitoring.coreos.com", "ServiceMonitor", "servicemonitors", "service"],
	["monitoring.coreos.com", "PodMonitor", "podmonitors", "pod"],
	["monitoring.googleapis.com", "PodMonitoring", "podmonitorings", "pod"],
	["monitoring.googleapis.com", "ClusterPodMonitoring", "clusterpodmonitorings", "pod"],
	["operator.victoriametrics.com", "VMServiceScrape", "vmservicescrapes", "service"],
	["operator.victoriametrics.com", "VMPodScrape", "vmpodscrapes", "pod"],
]

monitor_kinds := {api[1] | some api in monitor_apis}

_target := {api[1]: api[3] | some api in monitor_apis}

_group := {api[1]: api[0] | some api in monitor_apis}

# A monitor is an object of a monitor kind in its own API group (a "PodMonitor" kind
# of some other group is not one of these).
_monitors(target) := [m |
	some api in monitor_apis
	api[3] == target
	some m in k8s.objects_of_kind(api[1])
	k8s.group(m) == api[0]
]

service_monitors := _monitors("service")

pod_monitors := _monitors("pod")

all_monitors := array.concat(service_monitors, pod_monitors)

# ---------------------------------------------------------------------------
# Namespaces and selectors
# ---------------------------------------------------------------------------

# Cluster-scoped GMP ClusterPodMonitoring watches every namespace.
monitor_watches_namespace(m, _) if m.kind == "ClusterPodMonitoring"

monitor_watches_namespace(m, ns) if {
	m.kind != "ClusterPodMonitoring"
	nsel := k8s.object_at(m, ["spec", "namespaceSelector"])
	_namespace_selector_covers(m, nsel, ns)
}

_namespace_selector_covers(_, nsel, _) if nsel.any == true

_namespace_selector_covers(_, nsel, ns) if {
	not nsel.any == true
	names := k8s.as_array(object.get(nsel, "matchNames", []))
	count(names) > 0
	ns in names
}

_namespace_selector_covers(m, nsel, ns) if {
	not nsel.any == true
	count(k8s.as_array(object.get(nsel, "matchNames", []))) == 0
	k8s.namespace(m) == ns
}

# The monitor's label selector (spec.selector; a missing one selects everything, as an
# empty selector does).
_selector(m) := object.get(k8s.object_at(m, "spec"), "selector", null)

# monitor_selects_labels(m, ns, labels): m selects an object with these labels in ns.
monitor_selects_labels(m, ns, lbls) if {
	monitor_watches_namespace(m, ns)
	k8s.selector_matches(_selector(m), lbls)
}

# Services of the input (core group), with indexes so that lookups stay linear: by
# namespace, and by one key=value pair of their selector (the smallest key), so that the
# Services in front of a pod are found from the pod's own labels.
_services := [svc | some svc in k8s.objects_of_kind("Service"); k8s.group(svc) == ""]

_services_ns_index[ns] contains i if {
	some i, svc in _services
	ns := k8s.namespace(svc)
}

_services_selector_index[key] contains i if {
	some i, svc in _services
	sel := _service_selector(svc)
	count(sel) > 0
	k := min(object.keys(sel))
	v := sel[k]
	key := _pair_key(k8s.namespace(svc), k, v)
}

_service_selector(svc) := k8s.object_at(k8s.object_at(svc, "spec"), "selector")

_pair_key(ns, k, v) := sprintf("%s|%s=%v", [ns, k, v])

# services_in(ns): Services in namespace ns.
services_in(ns) := [_services[i] | some i in object.get(_services_ns_index, ns, set())]

# services_namespaces: namespaces that have Services in the input.
services_namespaces := object.keys(_services_ns_index)

# Monitors indexed by the namespaces they watch ("*" for all) and one key=value pair of
# their matchLabels ("" when they have none), so that finding the monitors of an object is
# a few lookups instead of a scan over every monitor; candidates are then checked in full.
_service_monitor_index[key] contains i if {
	some i, m in service_monitors
	some key in _index_keys(m)
}

_pod_monitor_index[key] contains i if {
	some i, m in pod_monitors
	some key in _index_keys(m)
}

_index_keys(m) := {sprintf("%s|%s", [nk, sk]) | some nk in _watched_keys(m); sk := _selector_key(m)}

_watched_keys(m) := {"*"} if {
	m.kind == "ClusterPodMonitoring"
} else := {"*"} if {
	k8s.object_at(m, ["spec", "namespaceSelector"]).any == true
} else := names if {
	names := {n | some n in k8s.array_at(m, ["spec", "namespaceSelector", "matchNames"]); is_string(n)}
	count(names) > 0
} else := {k8s.namespace(m)}

_selector_key(m) := key if {
	match_labels := k8s.object_at(k8s.as_object(_selector(m)), "matchLabels")
	count(match_labels) > 0
	k := min(object.keys(match_labels))
	v := match_labels[k]
	key := sprintf("%s=%v", [k, v])
} else := ""

_candidates(index, ns, lbls) := {i |
	some nk in [ns, "*"]
	some sk in array.concat([""], [sprintf("%s=%v", [k, v]) | some k; v := k8s.as_object(lbls)[k]])
	some i in object.get(index, sprintf("%s|%s", [nk, sk]), set())
}

# service_monitors_selecting(ns, labels) / pod_monitors_selecting(ns, labels): the
# ServiceMonitor-like (PodMonitor-like) objects that select a Service (pod) with these
# labels in namespace ns.
service_monitors_selecting(ns, lbls) := [m |
	some i in _candidates(_service_monitor_index, ns, lbls)
	m := service_monitors[i]
	monitor_selects_labels(m, ns, lbls)
]

pod_monitors_selecting(ns, lbls) := [m |
	some i in _candidates(_pod_monitor_index, ns, lbls)
	m := pod_monitors[i]
	monitor_selects_labels(m, ns, lbls)
]

# selecting_service_monitors: indexes (in service_monitors) of the ServiceMonitor-like
# objects that select at least one Service of the input.
selecting_service_monitors contains i if {
	some svc in _services
	ns := k8s.namespace(svc)
	lbls := k8s.labels(svc)
	some i in _candidates(_service_monitor_index, ns, lbls)
	monitor_selects_labels(service_monitors[i], ns, lbls)
}

# services_for_labels(ns, labels): Services in ns whose selector selects pods with these
# labels. Each Service is indexed under one pair, so it is found at most once.
services_for_labels(ns, lbls) := [svc |
	some k, v in k8s.as_object(lbls)
	some i in object.get(_services_selector_index, _pair_key(ns, k, v), set())
	svc := _services[i]
	k8s.map_selects(_service_selector(svc), lbls)
]

# ---------------------------------------------------------------------------
# What scrapes a workload
# ---------------------------------------------------------------------------

scrape_annotation := "prometheus.io/scrape"

# scrapers(obj): every way the pods of workload obj get scraped (deduplicated).
scrapers(obj) := [x | some x in {s |
	label_sets := pods.pod_label_sets(obj)
	ns := k8s.namespace(obj)
	some s in array.concat(
		array.concat(_pod_monitor_scrapers(ns, label_sets), _service_scrapers(ns, label_sets)),
		_annotation_scrapers(obj),
	)
}]

_pod_monitor_scrapers(ns, label_sets) := [{"kind": m.kind, "name": k8s.display_name(m), "via": "its pods"} |
	some p in label_sets
	some m in pod_monitors_selecting(ns, p.labels)
]

_service_scrapers(ns, label_sets) := array.concat(monitors, annotated) if {
	svcs := [svc | some p in label_sets; some svc in services_for_labels(ns, p.labels)]
	monitors := [{"kind": m.kind, "name": k8s.display_name(m), "via": sprintf("Service %s", [k8s.name(svc)])} |
		some svc in svcs
		some m in service_monitors_selecting(ns, k8s.labels(svc))
	]
	annotated := [{"kind": "annotation", "name": scrape_annotation, "via": sprintf("Service %s", [k8s.name(svc)])} |
		some svc in svcs
		_annotation_true(k8s.annotations(svc), scrape_annotation)
	]
}

_annotation_scrapers(obj) := array.concat(templates, kserve) if {
	templates := [{"kind": "annotation", "name": scrape_annotation, "via": "its pod template"} |
		some p in pods.pod_specs(obj)
		_annotation_true(k8s.object_at(p.metadata, "annotations"), scrape_annotation)
	]

	# KServe adds the prometheus.io annotations to the pods of an InferenceService that
	# asks for it.
	kserve := [{"kind": "annotation", "name": key, "via": "KServe"} |
		obj.kind == "InferenceService"
		key := "serving.kserve.io/enable-prometheus-scraping"
		_annotation_true(k8s.annotations(obj), key)
	]
}

_annotation_true(annotations, key) if lower(k8s.as_string(object.get(annotations, key, ""))) == "true"

# ---------------------------------------------------------------------------
# Prometheus servers
# ---------------------------------------------------------------------------

prometheuses := [p | some p in k8s.objects_of_kind("Prometheus"); k8s.group(p) == "monitoring.coreos.com"]

_selector_keys := {
	"ServiceMonitor": ["serviceMonitorSelector", "serviceMonitorNamespaceSelector"],
	"PodMonitor": ["podMonitorSelector", "podMonitorNamespaceSelector"],
}

# prometheus_selects(p, m): Prometheus p picks up ServiceMonitor/PodMonitor m. Per the
# Prometheus CRD: a null selector matches no objects, an empty one matches all; a null
# namespace selector means the Prometheus object's own namespace only.
prometheus_selects(p, m) if {
	keys := _selector_keys[m.kind]
	spec := k8s.object_at(p, "spec")
	sel := object.get(spec, keys[0], null)
	sel != null
	k8s.selector_matches(sel, k8s.labels(m))
	_prometheus_namespace_covers(p, object.get(spec, keys[1], null), k8s.namespace(m))
}

_prometheus_namespace_covers(p, nsel, ns) if {
	nsel == null
	k8s.namespace(p) == ns
}

_prometheus_namespace_covers(_, nsel, ns) if {
	nsel != null
	k8s.selector_matches(nsel, k8s.namespace_labels(ns))
}

# ---------------------------------------------------------------------------
# Is there a scraping stack at all?
# ---------------------------------------------------------------------------

stack_present if {
	some api in monitor_apis
	k8s.crd_defined(api[0], api[2])
}

stack_present if k8s.crd_defined("monitoring.coreos.com", "prometheuses")

stack_present if count(all_monitors) > 0

stack_present if count(prometheuses) > 0
