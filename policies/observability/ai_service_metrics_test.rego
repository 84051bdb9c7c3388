package kaic.observability.ai_service_metrics_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.observability.ai_service_metrics as check

_crd(plural, kind) := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"metadata": {"name": sprintf("%s.monitoring.coreos.com", [plural])},
	"spec": {"group": "monitoring.coreos.com", "names": {"plural": plural, "kind": kind}},
}

_sm_crd := _crd("servicemonitors", "ServiceMonitor")

_vllm(annotations) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "vllm", "namespace": "inference", "labels": {"kaic.dev/workload": "inference"}},
	"spec": {"template": {
		"metadata": {"labels": {"app": "vllm"}, "annotations": annotations},
		"spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.11.0"}]},
	}},
}

_gpu(kind) := {
	"apiVersion": "apps/v1",
	"kind": kind,
	"metadata": {"name": "gpu", "namespace": "inference"},
	"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nvcr.io/nvidia/tritonserver:25.01-py3", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}},
}

_svc := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "vllm", "namespace": "inference", "labels": {"app": "vllm"}},
	"spec": {"selector": {"app": "vllm"}, "ports": [{"name": "http", "port": 8000}]},
}

_sm(ns, selector, extra) := object.union({
	"apiVersion": "monitoring.coreos.com/v1",
	"kind": "ServiceMonitor",
	"metadata": {"name": "vllm", "namespace": ns, "labels": {"release": "kps"}},
	"spec": {"selector": selector, "endpoints": [{"port": "http"}]},
}, extra)

_pm := {
	"apiVersion": "monitoring.coreos.com/v1",
	"kind": "PodMonitor",
	"metadata": {"name": "vllm-pods", "namespace": "inference"},
	"spec": {"selector": {"matchLabels": {"app": "vllm"}}, "podMetricsEndpoints": [{"port": "http"}]},
}

_prometheus(spec) := {
	"apiVersion": "monitoring.coreos.com/v1",
	"kind": "Prometheus",
	"metadata": {"name": "kps", "namespace": "monitoring"},
	"spec": spec,
}

_isvc(annotations) := {
	"apiVersion": "serving.kserve.io/v1beta1",
	"kind": "InferenceService",
	"metadata": {"name": "sklearn-iris", "namespace": "inference", "annotations": annotations},
	"spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://kfserving-examples/models/sklearn/1.0/model"}}},
}

_app_selector := {"matchLabels": {"app": "vllm"}}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"ServiceMonitor selects the Service in front of the inference pods": {
		"input": testing.manifests([_sm_crd, _vllm({}), _svc, _sm("inference", _app_selector, {})]),
		"want": {"deny": 0, "evidence": 2, "warn": 0, "unknown": 0},
	},
	"PodMonitor selects the inference pods": {
		"input": testing.manifests([_vllm({}), _pm]),
		"want": {"deny": 0, "evidence": 1, "warn": 0},
	},
	"prometheus.io/scrape annotation on the pod template": {
		"input": testing.manifests([_sm_crd, _vllm({"prometheus.io/scrape": "true"})]),
		"want": {"deny": 0, "evidence": 2},
	},
	"scrape annotation set to false does not count": {
		"input": testing.manifests([_sm_crd, _vllm({"prometheus.io/scrape": "false"})]),
		"want": {"deny": 1, "evidence": 1},
	},
	"monitoring stack present, inference workload not scraped": {
		"input": testing.manifests([_sm_crd, _vllm({}), _svc]),
		"want": {"deny": 1, "evidence": 1},
	},
	"no monitoring stack at all: no evidence, no verdict": {
		"input": testing.manifests([_vllm({}), _svc]),
		"want": {"deny": 0, "evidence": 0, "warn": 0, "unknown": 0},
	},
	"ServiceMonitor in another namespace without namespaceSelector": {
		"input": testing.manifests([_vllm({}), _svc, _sm("monitoring", _app_selector, {})]),
		"want": {"deny": 1, "evidence": 0},
	},
	"ServiceMonitor in another namespace with matchNames": {
		"input": testing.manifests([_vllm({}), _svc, _sm("monitoring", _app_selector, {"spec": {"namespaceSelector": {"matchNames": ["inference"]}}})]),
		"want": {"deny": 0, "evidence": 1},
	},
	"ServiceMonitor with namespaceSelector any": {
		"input": testing.manifests([_vllm({}), _svc, _sm("monitoring", _app_selector, {"spec": {"namespaceSelector": {"any": true}}})]),
		"want": {"deny": 0, "evidence": 1},
	},
	"ServiceMonitor that selects nothing is a warning": {
		"input": testing.manifests([_vllm({}), _svc, _pm, _sm("inference", {"matchLabels": {"app": "other"}}, {})]),
		"want": {"deny": 0, "evidence": 1, "warn": 1},
	},
	"Prometheus with an empty serviceMonitorSelector selects the monitor in its namespace selector": {
		"input": testing.manifests([_vllm({}), _svc, _sm("inference", _app_selector, {}), _prometheus({"serviceMonitorSelector": {}, "serviceMonitorNamespaceSelector": {}})]),
		"want": {"deny": 0, "evidence": 2, "warn": 0},
	},
	"Prometheus without serviceMonitorSelector selects no ServiceMonitor": {
		"input": testing.manifests([_vllm({}), _svc, _sm("inference", _app_selector, {}), _prometheus({})]),
		"want": {"deny": 0, "evidence": 2, "warn": 1},
	},
	"Prometheus whose namespace selector is null only watches its own namespace": {
		"input": testing.manifests([_vllm({}), _svc, _sm("inference", _app_selector, {}), _prometheus({"serviceMonitorSelector": {"matchLabels": {"release": "kps"}}})]),
		"want": {"warn": 1},
	},
	"KServe InferenceService asking KServe to add scrape annotations": {
		"input": testing.manifests([_sm_crd, _isvc({"serving.kserve.io/enable-prometheus-scraping": "true"})]),
		"want": {"deny": 0, "evidence": 2},
	},
	"KServe InferenceService without scraping": {
		"input": testing.manifests([_sm_crd, _isvc({})]),
		"want": {"deny": 1, "evidence": 1},
	},
	"GPU Deployment without the inference label is a service too": {
		"input": testing.manifests([_sm_crd, _gpu("Deployment")]),
		"want": {"deny": 1},
	},
	"GPU Job is not a service": {
		"input": testing.manifests([_sm_crd, _gpu("Job")]),
		"want": {"deny": 0},
	},
	"Prometheus Operator API served by the cluster": {
		"input": testing.cluster([_vllm({})], [["monitoring.coreos.com", "servicemonitors"]], []),
		"want": {"deny": 1, "evidence": 1, "unknown": 0},
	},
	"live cluster: ServiceMonitor selecting no Service, and no Prometheus": {
		"input": testing.cluster([_sm("inference", _app_selector, {})], [["monitoring.coreos.com", "servicemonitors"]], []),
		"want": {"deny": 0, "evidence": 1, "warn": 2},
	},
	"live cluster: Services unreadable, so an unscraped workload is not judged": {
		"input": testing.cluster([_vllm({})], [["monitoring.coreos.com", "servicemonitors"]], [["", "services"]]),
		"want": {"deny": 0, "evidence": 1, "unknown": 1},
	},
	"live cluster: ServiceMonitors unreadable": {
		"input": testing.cluster([], [], [["monitoring.coreos.com", "servicemonitors"]]),
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
	},
	"ServiceMonitor and Service with two-label selectors (dcgm-exporter shape)": {
		"input": testing.manifests([
			object.union(_vllm({}), {"spec": {"template": {"metadata": {"labels": {"app": "vllm", "version": "0.11"}}}}}),
			object.union(_svc, {"metadata": {"labels": {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/version": "0.11"}}, "spec": {"selector": {"app": "vllm", "version": "0.11"}}}),
			_sm("inference", {"matchLabels": {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/version": "0.11"}}, {}),
		]),
		"want": {"deny": 0, "evidence": 1, "warn": 0},
	},
	"OpenTelemetry collector with a Prometheus receiver": {
		"input": testing.manifests([{
			"apiVersion": "opentelemetry.io/v1alpha1",
			"kind": "OpenTelemetryCollector",
			"metadata": {"name": "metrics", "namespace": "observability"},
			"spec": {"config": "receivers:\n  prometheus:\n    config: {scrape_configs: []}\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    metrics:\n      receivers: [prometheus]\n      exporters: [debug]\n"},
		}]),
		"want": {"deny": 0, "evidence": 1},
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

test_deny_points_at_the_pod_template_metadata if {
	denies := check.deny with input as testing.manifests([_sm_crd, _vllm({})])
	[d.field | some d in denies] == ["spec.template.metadata"]
}

test_evidence_names_the_service_and_monitor if {
	ev := check.evidence with input as testing.manifests([_vllm({}), _svc, _sm("inference", _app_selector, {})])
	some e in ev
	contains(e.msg, "ServiceMonitor vllm (Service vllm)")
}

test_conftest_combine_input if {
	got := _results(testing.combined([_sm_crd, _vllm({}), _svc]))
	count(got.deny) == 1
	count(got.evidence) == 1
}

test_malformed_objects_do_not_break_the_check if {
	odd := [
		{"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": null, "spec": 5},
		{"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "x"}, "spec": {"selector": "x", "namespaceSelector": 3}},
		{"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "p"}, "spec": {"serviceMonitorSelector": 7}},
		{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"selector": "app"}},
		{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"kaic.dev/workload": "inference"}}, "spec": {"template": {"metadata": 3, "spec": {"containers": "x"}}}},
	]
	got := _results(testing.manifests(odd))
	count(got.deny) == 1
}
