package kaic.lib.scrape_test

import rego.v1

import data.kaic.lib.scrape
import data.kaic.lib.testing

_svc(ns, labels) := {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": ns, "labels": labels}, "spec": {"selector": {"app": "x"}, "ports": [{"name": "metrics", "port": 9400}]}}

_sm(ns, ns_selector) := {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "m", "namespace": ns}, "spec": {"selector": {"matchLabels": {"app": "x"}}, "namespaceSelector": ns_selector}}

test_service_monitor_namespace_selection if {
	scrape.sm_selects_service(_sm("mon", {"any": true}), _svc("gpu", {"app": "x"}))
	scrape.sm_selects_service(_sm("mon", {"matchNames": ["gpu"]}), _svc("gpu", {"app": "x"}))
	not scrape.sm_selects_service(_sm("mon", {}), _svc("gpu", {"app": "x"}))
	scrape.sm_selects_service(_sm("gpu", {}), _svc("gpu", {"app": "x"}))
	not scrape.sm_selects_service(_sm("gpu", {}), _svc("gpu", {"app": "y"}))
}

test_prometheus_selectors if {
	sm := _sm("mon", {"any": true})
	labelled := object.union(sm, {"metadata": {"name": "m", "namespace": "mon", "labels": {"release": "kps"}}})
	null_selector := {"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "p", "namespace": "mon"}, "spec": {}}
	all_selector := {"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "p", "namespace": "mon"}, "spec": {"serviceMonitorSelector": {}}}
	release := {"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "p", "namespace": "other"}, "spec": {"serviceMonitorSelector": {"matchLabels": {"release": "kps"}}, "serviceMonitorNamespaceSelector": {}}}
	count(scrape.selecting_prometheus(sm)) == 0 with input as testing.manifests([null_selector])
	count(scrape.selecting_prometheus(sm)) == 1 with input as testing.manifests([all_selector])
	count(scrape.selecting_prometheus(sm)) == 0 with input as testing.manifests([release])
	count(scrape.selecting_prometheus(labelled)) == 1 with input as testing.manifests([release])
}
