package kaic.lib.otel_test

import rego.v1

import data.kaic.lib.otel

test_config_as_object_or_yaml_string if {
	cfg := {"service": {"pipelines": {"traces": {"receivers": ["otlp"]}}}}
	otel.collector_config({"spec": {"config": cfg}}) == cfg
	otel.collector_config({"spec": {"config": "service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n"}}) == cfg
	not otel.collector_config({"spec": {"config": "receivers: [otlp"}})
	not otel.collector_config({"spec": {"config": "- a list"}})
	not otel.collector_config({"spec": 5})
}

test_pipelines_by_signal if {
	cfg := {"service": {"pipelines": {"traces": {}, "traces/agents": {}, "metrics": {}, "tracesx": {}}}}
	object.keys(otel.pipelines(cfg, "traces")) == {"traces", "traces/agents"}
}

test_components if {
	otel.component_of_type("otlp/tempo", "otlp")
	otel.component_of_type("otlp", "otlp")
	not otel.component_of_type("otlphttp", "otlp")
}
