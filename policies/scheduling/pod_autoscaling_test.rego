package kaic.scheduling.pod_autoscaling_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.scheduling.pod_autoscaling as check

_vllm := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "vllm", "namespace": "ml"},
	"spec": {"template": {"spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.11.0", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}},
}

_web := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "web", "namespace": "ml"},
	"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
}

_hpa(target, metrics) := {
	"apiVersion": "autoscaling/v2",
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": "vllm", "namespace": "ml"},
	"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target}, "minReplicas": 1, "maxReplicas": 4, "metrics": metrics},
}

_pods_metric := [{"type": "Pods", "pods": {"metric": {"name": "vllm_num_requests_waiting"}, "target": {"type": "AverageValue", "averageValue": "4"}}}]

_cpu_metric := [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]

_api_service(group, available) := {
	"apiVersion": "apiregistration.k8s.io/v1",
	"kind": "APIService",
	"metadata": {"name": sprintf("v1beta1.%s", [group])},
	"spec": {"group": group, "version": "v1beta1", "service": {"name": "prometheus-adapter", "namespace": "monitoring"}},
	"status": {"conditions": [{"type": "Available", "status": available}]},
}

_scaled_object(target) := {
	"apiVersion": "keda.sh/v1alpha1",
	"kind": "ScaledObject",
	"metadata": {"name": "vllm", "namespace": "ml"},
	"spec": {"scaleTargetRef": {"name": target}, "triggers": [{"type": "prometheus", "metadata": {"query": "sum(vllm:num_requests_waiting)", "threshold": "4"}}]},
}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"HPA on a custom metric with an adapter": {
		"objects": [_vllm, _hpa("vllm", _pods_metric), _api_service("custom.metrics.k8s.io", "True")],
		"want": {"deny": 0, "evidence": 2, "warn": 0, "unknown": 0},
	},
	"HPA on a custom metric, adapter not in the bundle": {
		"objects": [_vllm, _hpa("vllm", _pods_metric)],
		"want": {"deny": 0, "evidence": 1, "unknown": 1},
	},
	"HPA target missing": {
		"objects": [_web, _hpa("vllm", _pods_metric)],
		"want": {"deny": 1, "evidence": 0},
	},
	"HPA on CPU for a GPU workload": {
		"objects": [_vllm, _hpa("vllm", _cpu_metric)],
		"want": {"deny": 0, "evidence": 1, "warn": 1},
	},
	"HPA on CPU for a non-AI workload": {
		"objects": [_web, _hpa("web", _cpu_metric)],
		"want": {"deny": 0, "evidence": 0, "warn": 0},
	},
	"metrics APIService unavailable": {
		"objects": [_api_service("custom.metrics.k8s.io", "False")],
		"want": {"deny": 1, "evidence": 0},
	},
	"KEDA ScaledObject": {
		"objects": [_vllm, _scaled_object("vllm")],
		"want": {"deny": 0, "evidence": 1},
	},
	"KEDA ScaledObject with a missing target": {
		"objects": [_vllm, _scaled_object("vllm-v2")],
		"want": {"deny": 1},
	},
	"bare bundle": {
		"objects": [],
		"want": {"deny": 0, "evidence": 0, "warn": 0, "unknown": 0},
	},
}

failures contains msg if {
	some name, tc in _cases
	got := _results(testing.manifests(tc.objects))
	some msg in testing.count_mismatches(name, got, tc.want)
}

test_cases if count(failures) == 0

test_live_custom_metrics_without_adapter_denies if {
	inp := testing.cluster([_vllm, _hpa("vllm", _pods_metric)], [["apps", "deployments"]], [])
	denies := check.deny with input as inp
	[d.field | some d in denies] == ["spec.metrics"]
}

test_live_served_custom_metrics_is_evidence if {
	inp := testing.cluster([_vllm, _hpa("vllm", _pods_metric)], [["custom.metrics.k8s.io", "pods"]], [])
	got := _results(inp)
	count(got.deny) == 0
	count(got.evidence) == 2
}

test_kserve_autoscaling_annotation if {
	isvc := {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": "flowers", "annotations": {"autoscaling.knative.dev/target": "1"}}, "spec": {"predictor": {"tensorflow": {"storageUri": "gs://x"}}}}
	evidence := check.evidence with input as testing.manifests([isvc])
	count(evidence) == 1
}

test_odd_types_do_not_break if {
	odd := [{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"}, "spec": {"scaleTargetRef": 4, "metrics": "x"}}, {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "a"}, "spec": null}]
	got := _results(testing.manifests(odd))
	count(got.deny) == 0
}

test_conftest_combine_input if {
	got := _results(testing.combined([_web, _hpa("vllm", _pods_metric)]))
	count(got.deny) == 1
}
