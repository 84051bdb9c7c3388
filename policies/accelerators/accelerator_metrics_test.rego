package kaic.accelerators.accelerator_metrics_test

import rego.v1

import data.kaic.accelerators.accelerator_metrics as check
import data.kaic.lib.testing

_labels := {"app.kubernetes.io/name": "dcgm-exporter"}

_exporter := {
	"apiVersion": "apps/v1",
	"kind": "DaemonSet",
	"metadata": {"name": "dcgm-exporter", "namespace": "gpu-monitoring"},
	"spec": {"selector": {"matchLabels": _labels}, "template": {
		"metadata": {"labels": _labels},
		"spec": {"containers": [{"name": "dcgm-exporter", "image": "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-distroless", "ports": [{"name": "metrics", "containerPort": 9400}]}]},
	}},
}

_service(annotations) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "dcgm-exporter", "namespace": "gpu-monitoring", "labels": _labels, "annotations": annotations},
	"spec": {"selector": _labels, "ports": [{"name": "metrics", "port": 9400}]},
}

_sm(selector, port, ns_selector) := {
	"apiVersion": "monitoring.coreos.com/v1",
	"kind": "ServiceMonitor",
	"metadata": {"name": "dcgm-exporter", "namespace": "monitoring", "labels": {"release": "prometheus"}},
	"spec": {"selector": {"matchLabels": selector}, "namespaceSelector": ns_selector, "endpoints": [{"port": port}]},
}

_pm(selector) := {
	"apiVersion": "monitoring.coreos.com/v1",
	"kind": "PodMonitor",
	"metadata": {"name": "gpu", "namespace": "gpu-monitoring"},
	"spec": {"selector": {"matchLabels": selector}, "podMetricsEndpoints": [{"port": "metrics"}]},
}

_other_sm := {
	"apiVersion": "monitoring.coreos.com/v1",
	"kind": "ServiceMonitor",
	"metadata": {"name": "vllm", "namespace": "ml"},
	"spec": {"selector": {"matchLabels": {"app": "vllm"}}, "endpoints": [{"port": "http"}]},
}

_prometheus(selector) := {
	"apiVersion": "monitoring.coreos.com/v1",
	"kind": "Prometheus",
	"metadata": {"name": "k8s", "namespace": "monitoring"},
	"spec": {"serviceMonitorSelector": selector, "serviceMonitorNamespaceSelector": {}},
}

_cluster_policy(dcgm) := {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "cluster-policy"}, "spec": {"dcgmExporter": dcgm}}

_any := {"any": true}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"exporter scraped by a ServiceMonitor in another namespace": {
		"input": testing.manifests([_exporter, _service({}), _sm(_labels, "metrics", _any)]),
		"want": {"deny": 0, "evidence": 1, "unknown": 0, "warn": 0},
	},
	"exporter scraped by a PodMonitor": {
		"input": testing.manifests([_exporter, _pm(_labels)]),
		"want": {"deny": 0, "evidence": 1, "unknown": 0},
	},
	"exporter scraped through annotations": {
		"input": testing.manifests([_exporter, _service({"prometheus.io/scrape": "true"})]),
		"want": {"deny": 0, "evidence": 1, "unknown": 0},
	},
	"ServiceMonitor without namespaceSelector looks in its own namespace": {
		"input": testing.manifests([_exporter, _service({}), _sm(_labels, "metrics", {})]),
		"want": {"deny": 2, "evidence": 1},
	},
	"ServiceMonitor with a wrong port": {
		"input": testing.manifests([_exporter, _service({}), _sm(_labels, "http-metrics", _any)]),
		"want": {"deny": 1, "evidence": 1},
	},
	"exporter but only unrelated monitors": {
		"input": testing.manifests([_exporter, _service({}), _other_sm]),
		"want": {"deny": 1, "evidence": 1},
	},
	"exporter without any scrape configuration offline": {
		"input": testing.manifests([_exporter, _service({})]),
		"want": {"deny": 0, "evidence": 1, "unknown": 1},
	},
	"exporter not scraped in a live cluster with Prometheus Operator": {
		"input": testing.cluster([_exporter, _service({})], [["monitoring.coreos.com", "servicemonitors"], ["monitoring.coreos.com", "podmonitors"]], []),
		"want": {"deny": 1, "evidence": 1, "unknown": 0},
	},
	"Prometheus does not select the ServiceMonitor (offline: advice)": {
		"input": testing.manifests([_exporter, _service({}), _sm(_labels, "metrics", _any), _prometheus({"matchLabels": {"team": "gpu"}})]),
		"want": {"deny": 0, "evidence": 1, "warn": 1},
	},
	"Prometheus selects the ServiceMonitor": {
		"input": testing.manifests([_exporter, _service({}), _sm(_labels, "metrics", _any), _prometheus({"matchLabels": {"release": "prometheus"}})]),
		"want": {"deny": 0, "evidence": 1, "warn": 0},
	},
	"GPU Operator with operator ServiceMonitor": {
		"input": testing.manifests([_cluster_policy({"enabled": true, "serviceMonitor": {"enabled": true}})]),
		"want": {"deny": 0, "evidence": 1, "unknown": 0},
	},
	"GPU Operator exporter disabled": {
		"input": testing.manifests([_cluster_policy({"enabled": false})]),
		"want": {"deny": 0, "evidence": 0},
	},
	"ServiceMonitor for the operator exporter selecting the wrong label": {
		"input": testing.manifests([_cluster_policy({}), _sm({"app": "dcgm-exporter"}, "gpu-metrics", _any)]),
		"want": {"deny": 1, "evidence": 1},
	},
	"empty bundle": {
		"input": testing.manifests([]),
		"want": {"deny": 0, "evidence": 0, "unknown": 0},
	},
	"empty live cluster": {
		"input": testing.cluster([], [], []),
		"want": {"deny": 0, "evidence": 0, "unknown": 0},
	},
	"odd types": {
		"input": testing.manifests([
			{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "x"}, "spec": {"template": {"spec": {"containers": [{"image": "nvcr.io/nvidia/k8s/dcgm-exporter:4", "ports": "x"}]}}}},
			{"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "dcgm"}, "spec": {"selector": 5, "endpoints": "x", "namespaceSelector": 3}},
			{"apiVersion": "v1", "kind": "Service", "metadata": null, "spec": {"selector": "x", "ports": 4}},
		]),
		"want": {"evidence": 1},
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

test_wrong_port_points_at_the_endpoint if {
	denies := check.deny with input as testing.manifests([_exporter, _service({}), _sm(_labels, "http-metrics", _any)])
	[d.field | some d in denies] == ["spec.endpoints[0].port"]
}

test_conftest_combine_input if {
	got := _results(testing.combined([_exporter, _service({}), _other_sm]))
	count(got.deny) == 1
	count(got.evidence) == 1
}
