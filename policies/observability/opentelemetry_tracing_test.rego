package kaic.observability.opentelemetry_tracing_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.observability.opentelemetry_tracing as check

_traces_config := {
	"receivers": {"otlp": {"protocols": {"grpc": {}, "http": {}}}},
	"exporters": {"otlp/tempo": {"endpoint": "tempo.observability:4317"}},
	"service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["otlp/tempo"]}}},
}

_metrics_config := {
	"receivers": {"prometheus": {"config": {"scrape_configs": []}}},
	"exporters": {"debug": {}},
	"service": {"pipelines": {"metrics": {"receivers": ["prometheus"], "exporters": ["debug"]}}},
}

_collector(name, config) := {
	"apiVersion": "opentelemetry.io/v1beta1",
	"kind": "OpenTelemetryCollector",
	"metadata": {"name": name, "namespace": "observability"},
	"spec": {"mode": "deployment", "config": config},
}

# v1alpha1 carries the config as a YAML string.
_alpha_collector(config) := {
	"apiVersion": "opentelemetry.io/v1alpha1",
	"kind": "OpenTelemetryCollector",
	"metadata": {"name": "otel", "namespace": "observability"},
	"spec": {"config": config},
}

_alpha_config := `receivers:
  otlp:
    protocols:
      grpc: {}
exporters:
  debug: {}
service:
  pipelines:
    traces/agents:
      receivers: [otlp]
      exporters: [debug]
`

_instrumentation(name, ns) := {
	"apiVersion": "opentelemetry.io/v1alpha1",
	"kind": "Instrumentation",
	"metadata": {"name": name, "namespace": ns},
	"spec": {"exporter": {"endpoint": "http://traces-collector.observability:4317"}, "propagators": ["tracecontext", "baggage"]},
}

_agent(annotations, env) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "agent", "namespace": "agents", "labels": {"kaic.dev/workload": "agent"}},
	"spec": {"template": {
		"metadata": {"annotations": annotations},
		"spec": {"containers": [{"name": "agent", "image": "ghcr.io/example/agent:1.0", "env": env}]},
	}},
}

_vllm_otlp := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "vllm", "namespace": "agents", "labels": {"kaic.dev/workload": "inference"}},
	"spec": {"template": {"spec": {"containers": [{
		"name": "vllm", "image": "vllm/vllm-openai:v0.11.0",
		"args": ["--model", "Qwen/Qwen2.5-7B-Instruct", "--otlp-traces-endpoint=grpc://traces-collector.observability:4317"],
	}]}}},
}

_py := {"instrumentation.opentelemetry.io/inject-python": "true"}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"collector with an OTLP traces pipeline (v1beta1 object config)": {
		"input": testing.manifests([_collector("traces", _traces_config)]),
		"want": {"deny": 0, "evidence": 1, "warn": 0, "unknown": 0},
	},
	"collector with an OTLP traces pipeline (v1alpha1 YAML string config)": {
		"input": testing.manifests([_alpha_collector(_alpha_config)]),
		"want": {"deny": 0, "evidence": 1},
	},
	"config string that is not YAML": {
		"input": testing.manifests([_alpha_collector("receivers: [otlp")]),
		"want": {"deny": 1, "evidence": 0},
	},
	"traces pipeline fed by a Jaeger receiver": {
		"input": testing.manifests([_collector("jaeger", {
			"receivers": {"jaeger": {"protocols": {"grpc": {}}}},
			"exporters": {"debug": {}},
			"service": {"pipelines": {"traces": {"receivers": ["jaeger"], "exporters": ["debug"]}}},
		})]),
		"want": {"deny": 0, "evidence": 1},
	},
	"only collector has no traces pipeline": {
		"input": testing.manifests([_collector("metrics", _metrics_config)]),
		"want": {"deny": 1, "evidence": 0},
	},
	"a metrics collector beside a traces collector is fine": {
		"input": testing.manifests([_collector("metrics", _metrics_config), _collector("traces", _traces_config)]),
		"want": {"deny": 0, "evidence": 1},
	},
	"traces pipeline names an undefined exporter": {
		"input": testing.manifests([_collector("traces", object.remove(_traces_config, ["exporters"]))]),
		"want": {"deny": 1},
	},
	"injection resolves to the namespace's single Instrumentation": {
		"input": testing.manifests([_instrumentation("python", "agents"), _agent(_py, [])]),
		"want": {"deny": 0, "evidence": 2, "warn": 0, "unknown": 0},
	},
	"injection names an Instrumentation in another namespace": {
		"input": testing.manifests([_instrumentation("python", "observability"), _agent({"instrumentation.opentelemetry.io/inject-python": "observability/python"}, [])]),
		"want": {"deny": 0, "evidence": 2},
	},
	"injection names an Instrumentation that does not exist": {
		"input": testing.manifests([_instrumentation("python", "agents"), _agent({"instrumentation.opentelemetry.io/inject-python": "python-v2"}, [])]),
		"want": {"deny": 1, "evidence": 1},
	},
	"\"true\" with two Instrumentations in the namespace is ambiguous": {
		"input": testing.manifests([_instrumentation("python", "agents"), _instrumentation("java", "agents"), _agent(_py, [])]),
		"want": {"deny": 1, "evidence": 2},
	},
	"\"true\" with no Instrumentation in the pod's namespace": {
		"input": testing.manifests([_instrumentation("python", "observability"), _agent(_py, [])]),
		"want": {"deny": 1},
	},
	"injection disabled with \"false\"": {
		"input": testing.manifests([_instrumentation("python", "agents"), _agent({"instrumentation.opentelemetry.io/inject-python": "false"}, [])]),
		"want": {"deny": 0, "warn": 1},
	},
	"Instrumentation not in the bundle: unknown, not a violation": {
		"input": testing.manifests([_agent(_py, [])]),
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
	},
	"live cluster: Instrumentation missing": {
		"input": testing.cluster([_agent(_py, [])], [["opentelemetry.io", "instrumentations"]], []),
		"want": {"deny": 1, "unknown": 0},
	},
	"namespace annotation instruments its pods": {
		"input": testing.manifests([
			_instrumentation("python", "agents"),
			{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "agents", "annotations": _py}},
			_agent({}, []),
		]),
		"want": {"deny": 0, "evidence": 2, "warn": 0},
	},
	"agent without instrumentation while an Instrumentation exists": {
		"input": testing.manifests([_instrumentation("python", "agents"), _agent({}, [])]),
		"want": {"deny": 0, "evidence": 1, "warn": 1},
	},
	"agent exporting OTLP through the SDK environment": {
		"input": testing.manifests([_instrumentation("python", "agents"), _agent({}, [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://traces-collector.observability:4318"}])]),
		"want": {"deny": 0, "evidence": 2, "warn": 0},
	},
	"vLLM with --otlp-traces-endpoint": {
		"input": testing.manifests([_instrumentation("python", "agents"), _vllm_otlp]),
		"want": {"deny": 0, "evidence": 2, "warn": 0},
	},
	"OpenTelemetry Operator API served by the cluster": {
		"input": testing.cluster([], [["opentelemetry.io", "opentelemetrycollectors"]], []),
		"want": {"deny": 0, "evidence": 1},
	},
	"collectors unreadable": {
		"input": testing.cluster([], [], [["opentelemetry.io", "opentelemetrycollectors"]]),
		"want": {"evidence": 0, "unknown": 1},
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

test_missing_instrumentation_points_at_the_annotation if {
	denies := check.deny with input as testing.manifests([_instrumentation("python", "agents"), _agent({"instrumentation.opentelemetry.io/inject-python": "nope"}, [])])
	[d.field | some d in denies] == [`spec.template.metadata.annotations["instrumentation.opentelemetry.io/inject-python"]`]
	some d in denies
	contains(d.msg, "Instrumentation agents/nope, which does not exist")
}

test_conftest_combine_input if {
	got := _results(testing.combined([_collector("metrics", _metrics_config)]))
	count(got.deny) == 1
}

test_malformed_objects_do_not_break_the_check if {
	odd := [
		{"apiVersion": "opentelemetry.io/v1beta1", "kind": "OpenTelemetryCollector", "metadata": {"name": "a"}, "spec": {"config": 5}},
		{"apiVersion": "opentelemetry.io/v1beta1", "kind": "OpenTelemetryCollector", "metadata": null, "spec": {"config": {"service": {"pipelines": {"traces": {"receivers": "otlp"}}}}}},
		{"apiVersion": "opentelemetry.io/v1alpha1", "kind": "OpenTelemetryCollector", "metadata": {"name": "c"}, "spec": {"config": "- a list"}},
		{"apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation", "metadata": {"name": "i"}, "spec": {"exporter": 4}},
		{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n", "annotations": {"instrumentation.opentelemetry.io/inject-go": 5}}},
		{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"kaic.dev/workload": "agent"}}, "spec": {"template": {"metadata": {"annotations": "x"}, "spec": {"containers": [{"args": "x", "env": 4}]}}}},
	]
	got := _results(testing.manifests(odd))
	count(got.deny) == 1
}
