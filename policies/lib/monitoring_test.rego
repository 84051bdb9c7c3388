package kaic.lib.monitoring_test

import rego.v1

import data.kaic.lib.monitoring
import data.kaic.lib.testing

_sm(ns, nsel) := {
	"apiVersion": "monitoring.coreos.com/v1",
	"kind": "ServiceMonitor",
	"metadata": {"name": "m", "namespace": ns},
	"spec": object.union({"selector": {"matchLabels": {"app": "vllm"}}}, {"namespaceSelector": nsel | nsel != null}),
}

test_namespace_selector_semantics if {
	monitoring.monitor_watches_namespace(_sm("inference", null), "inference")
	not monitoring.monitor_watches_namespace(_sm("monitoring", null), "inference")
	monitoring.monitor_watches_namespace(_sm("monitoring", {"any": true}), "inference")
	monitoring.monitor_watches_namespace(_sm("monitoring", {"matchNames": ["inference"]}), "inference")
	not monitoring.monitor_watches_namespace(_sm("monitoring", {"matchNames": ["other"]}), "inference")
}

test_gmp_cluster_pod_monitoring_watches_everything if {
	monitoring.monitor_watches_namespace({"kind": "ClusterPodMonitoring", "metadata": {"name": "x"}}, "anything")
}

test_monitor_kind_of_another_group_is_ignored if {
	inp := testing.manifests([{"apiVersion": "example.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "x"}}])
	got := monitoring.service_monitors with input as inp
	count(got) == 0
}

test_prometheus_selectors if {
	sm := object.union(_sm("inference", null), {"metadata": {"labels": {"release": "kps"}}})
	p_all := {"kind": "Prometheus", "metadata": {"name": "p", "namespace": "monitoring"}, "spec": {"serviceMonitorSelector": {}, "serviceMonitorNamespaceSelector": {}}}
	p_none := {"kind": "Prometheus", "metadata": {"name": "p", "namespace": "monitoring"}, "spec": {}}
	p_own_ns := {"kind": "Prometheus", "metadata": {"name": "p", "namespace": "monitoring"}, "spec": {"serviceMonitorSelector": {"matchLabels": {"release": "kps"}}}}
	monitoring.prometheus_selects(p_all, sm)
	not monitoring.prometheus_selects(p_none, sm)
	not monitoring.prometheus_selects(p_own_ns, sm)
}

test_services_for_labels_finds_each_service_once if {
	svc := {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "inference"}, "spec": {"selector": {"app": "vllm", "tier": "gpu"}}}
	other := {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "o", "namespace": "inference"}, "spec": {"selector": {"app": "vllm", "tier": "cpu"}}}
	got := monitoring.services_for_labels("inference", {"app": "vllm", "tier": "gpu", "x": "y"}) with input as testing.manifests([svc, other])
	[s.metadata.name | some s in got] == ["s"]
}
