# METADATA
# title: OpenTelemetry end-to-end tracing
# description: >-
#   The platform collects distributed traces with OpenTelemetry: an OpenTelemetry Collector
#   with a traces pipeline fed by an OTLP receiver, Instrumentation resources for automatic
#   SDK injection, and AI agent and inference workloads that are instrumented (injection
#   annotations naming an existing Instrumentation, or native OTLP export).
# custom:
#   id: opentelemetry-tracing
#   requirements:
#     whitepaper: [OBS-6.2]
#   severity: low
#   scope: workload
#   inputs:
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: opentelemetry.io, resource: opentelemetrycollectors}
#     - {group: opentelemetry.io, resource: instrumentations}
#     - {group: "", resource: namespaces}
#     - {group: "", resource: pods}
#     - {group: "", resource: podtemplates}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: apps, resource: daemonsets}
#     - {group: apps, resource: replicasets}
#     - {group: batch, resource: jobs}
#     - {group: batch, resource: cronjobs}
#     - {group: jobset.x-k8s.io, resource: jobsets}
#     - {group: leaderworkerset.x-k8s.io, resource: leaderworkersets}
#     - {group: ray.io, resource: rayclusters}
#     - {group: ray.io, resource: rayjobs}
#     - {group: ray.io, resource: rayservices}
#     - {group: serving.kserve.io, resource: inferenceservices}
#     - {group: serving.kserve.io, resource: llminferenceservices}
#     - {group: agents.x-k8s.io, resource: sandboxes}
#     - {group: extensions.agents.x-k8s.io, resource: sandboxtemplates}
#   remediation: >-
#     Install the OpenTelemetry Operator, run a collector with an OTLP receiver and a `traces`
#     pipeline, create an Instrumentation, and annotate the pod templates of agents and
#     inference servers (or point their native OTLP exporter at the collector):
#
#     ```yaml
#     apiVersion: opentelemetry.io/v1beta1
#     kind: OpenTelemetryCollector
#     metadata:
#       name: traces
#     spec:
#       config:
#         receivers: {otlp: {protocols: {grpc: {}, http: {}}}}
#         exporters: {otlp: {endpoint: tempo.observability:4317}}
#         service:
#           pipelines:
#             traces: {receivers: [otlp], exporters: [otlp]}
#     ---
#     # pod template of the agent
#     metadata:
#       annotations:
#         instrumentation.opentelemetry.io/inject-python: "true"
#     ```
#   docs:
#     - https://opentelemetry.io/docs/platforms/kubernetes/operator/
#     - https://opentelemetry.io/docs/platforms/kubernetes/operator/automatic/
#     - https://docs.vllm.ai/en/latest/examples/online_serving/opentelemetry.html
package kaic.observability.opentelemetry_tracing

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.otel
import data.kaic.lib.pods
import data.kaic.lib.workloads

inject_prefix := "instrumentation.opentelemetry.io/inject-"

# ---------------------------------------------------------------------------
# Collectors
# ---------------------------------------------------------------------------

_collectors := otel.collectors

evidence contains {"msg": msg, "ref": _crd_ref("opentelemetry.io", plural)} if {
	some plural in ["opentelemetrycollectors", "instrumentations"]
	k8s.crd_defined("opentelemetry.io", plural)
	msg := sprintf("The OpenTelemetry Operator API (%s.opentelemetry.io) is available", [plural])
}

collector_config(c) := otel.collector_config(c)

traces_pipelines(cfg) := otel.pipelines(cfg, "traces")

_component_names(pl, key) := otel.component_names(pl, key)

evidence contains {"msg": msg, "ref": k8s.ref(c)} if {
	some c in _collectors
	cfg := collector_config(c)
	some name, pl in traces_pipelines(cfg)
	receivers := _component_names(pl, "receivers")
	some r in receivers
	otel.component_of_type(r, "otlp")
	msg := sprintf(
		"%s receives OTLP traces (pipeline %s: %s -> %s)",
		[k8s.describe(c), name, concat(", ", receivers), concat(", ", _component_names(pl, "exporters"))],
	)
}

# Traces arriving through other receivers (Jaeger, Zipkin, Kafka) are still traces.
evidence contains {"msg": msg, "ref": k8s.ref(c)} if {
	some c in _collectors
	cfg := collector_config(c)
	some name, pl in traces_pipelines(cfg)
	receivers := _component_names(pl, "receivers")
	count(receivers) > 0
	not _has_otlp(receivers)
	msg := sprintf("%s collects traces without an OTLP receiver (pipeline %s: %s)", [k8s.describe(c), name, concat(", ", receivers)])
}

_has_otlp(receivers) if {
	some r in receivers
	otel.component_of_type(r, "otlp")
}

deny contains {"msg": msg, "ref": k8s.ref(c), "field": "spec.config"} if {
	some c in _collectors
	is_string(c.spec.config)
	not collector_config(c)
	msg := sprintf("%s: spec.config is not a valid YAML mapping, so the collector cannot start", [k8s.describe(c)])
}

# The only collector of the platform collects no traces: tracing has nowhere to go.
deny contains {"msg": msg, "ref": k8s.ref(c), "field": "spec.config.service.pipelines"} if {
	count(_collectors) == 1
	c := _collectors[0]
	cfg := collector_config(c)
	count(traces_pipelines(cfg)) == 0
	msg := sprintf("%s is the only OpenTelemetry collector and has no traces pipeline: no traces are collected", [k8s.describe(c)])
}

# A pipeline that names a receiver or exporter the config does not define fails
# validation: the collector never starts.
deny contains {"msg": msg, "ref": k8s.ref(c), "field": sprintf("spec.config.service.pipelines[\"%s\"].%s", [name, key])} if {
	some c in _collectors
	cfg := collector_config(c)
	some name, pl in traces_pipelines(cfg)
	some key in ["receivers", "exporters"]
	some component in _component_names(pl, key)
	not _has_key(k8s.object_at(cfg, key), component)
	msg := sprintf("%s: pipeline %s uses %s \"%s\", which spec.config.%s does not define", [k8s.describe(c), name, trim_suffix(key, "s"), component, key])
}

_has_key(obj, key) if _ = obj[key]

# ---------------------------------------------------------------------------
# Instrumentation and injection
# ---------------------------------------------------------------------------

_instrumentations := [i | some i in k8s.objects_of_kind("Instrumentation"); k8s.group(i) == "opentelemetry.io"]

_instrumentations_by_ns[ns] contains name if {
	some i in _instrumentations
	ns := k8s.namespace(i)
	name := k8s.name(i)
}

evidence contains {"msg": msg, "ref": k8s.ref(i)} if {
	some i in _instrumentations
	endpoint := k8s.string_at(k8s.object_at(i, ["spec", "exporter"]), "endpoint")
	msg := sprintf("%s injects OpenTelemetry SDKs into annotated pods%s", [k8s.describe(i), _endpoint_text(endpoint)])
}

_endpoint_text(endpoint) := sprintf(" (exporting to %s)", [endpoint]) if endpoint != "" else := ""

# Instrumentations are visible when the cluster was read, or when the bundle ships its own.
_instrumentations_visible if k8s.observed("opentelemetry.io", "instrumentations")

_instrumentations_visible if count(_instrumentations) > 0

# Every injection annotation: on pod templates of any workload (the annotation is an
# explicit opt-in) and on Namespaces (which applies it to all their pods).
_injections contains {"object": w, "ns": k8s.namespace(w), "key": key, "value": value, "field": field} if {
	some kind in pods.workload_kinds
	some w in k8s.objects_of_kind(kind)
	not k8s.controller_in_input(w)
	some p in pods.pod_specs(w)
	some key, value in k8s.object_at(p.metadata, "annotations")
	startswith(key, inject_prefix)
	is_string(value)
	field := sprintf("%s.annotations[\"%s\"]", [p.metadata_path, key])
}

_injections contains {"object": n, "ns": k8s.name(n), "key": key, "value": value, "field": field} if {
	some n in k8s.objects_of_kind("Namespace")
	some key, value in k8s.annotations(n)
	startswith(key, inject_prefix)
	is_string(value)
	field := sprintf("metadata.annotations[\"%s\"]", [key])
}

# resolve(ns, value): {"ns", "name"} the annotation value names ("true": the one
# Instrumentation of the namespace, "name", or "namespace/name"); "false" names none.
_injection_target(ns, value) := {"ns": ns, "name": ""} if {
	lower(value) == "true"
} else := {"ns": parts[0], "name": parts[1]} if {
	parts := split(value, "/")
	count(parts) == 2
} else := {"ns": ns, "name": value}

_active(inj) if lower(inj.value) != "false"

_resolves(inj) if {
	t := _injection_target(inj.ns, inj.value)
	t.name == ""
	count(object.get(_instrumentations_by_ns, t.ns, set())) == 1
}

_resolves(inj) if {
	t := _injection_target(inj.ns, inj.value)
	t.name != ""
	t.name in object.get(_instrumentations_by_ns, t.ns, set())
}

evidence contains {"msg": msg, "ref": k8s.ref(inj.object)} if {
	some inj in _injections
	_active(inj)
	_resolves(inj)
	msg := sprintf("%s is instrumented automatically (%s: \"%s\")", [k8s.describe(inj.object), inj.key, inj.value])
}

deny contains {"msg": msg, "ref": k8s.ref(inj.object), "field": inj.field} if {
	_instrumentations_visible
	some inj in _injections
	_active(inj)
	not _resolves(inj)
	msg := sprintf("%s: %s=\"%s\" %s", [k8s.describe(inj.object), inj.key, inj.value, _missing_text(inj)])
}

_missing_text(inj) := sprintf("but namespace %s has %d Instrumentations, so the operator cannot choose one; name it", [t.ns, n]) if {
	t := _injection_target(inj.ns, inj.value)
	t.name == ""
	n := count(object.get(_instrumentations_by_ns, t.ns, set()))
	n > 1
} else := sprintf("but namespace %s has no Instrumentation: nothing is injected", [inj.ns]) if {
	_injection_target(inj.ns, inj.value).name == ""
} else := sprintf("names Instrumentation %s/%s, which does not exist: nothing is injected", [t.ns, t.name]) if {
	t := _injection_target(inj.ns, inj.value)
}

unknown contains {"msg": msg} if {
	not _instrumentations_visible
	some inj in _injections
	_active(inj)
	msg := sprintf(
		"%s asks for OpenTelemetry injection (%s=\"%s\") but no Instrumentation is in the input: whether it exists can only be verified against the cluster",
		[k8s.describe(inj.object), inj.key, inj.value],
	)
}

# ---------------------------------------------------------------------------
# AI agents and inference servers
# ---------------------------------------------------------------------------

_traced_classes := {"agent", "inference"}

_otlp_env := {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}

# Native OTLP export: the standard SDK environment, or vLLM's --otlp-traces-endpoint.
_native_otlp(w) if {
	some c in pods.containers(w)
	some e in k8s.array_at(c.container, "env")
	k8s.string_at(e, "name") in _otlp_env
}

_native_otlp(w) if {
	some c in pods.containers(w)
	some field in ["args", "command"]
	some arg in k8s.array_at(c.container, field)
	is_string(arg)
	contains(arg, "--otlp-traces-endpoint")
}

evidence contains {"msg": msg, "ref": k8s.ref(w)} if {
	some x in workloads.classified
	w := x.object
	_native_otlp(w)
	msg := sprintf("%s (%s) exports traces over OTLP itself", [k8s.describe(w), x.class])
}

_injected_namespaces := {inj.ns | some inj in _injections; inj.object.kind == "Namespace"; _active(inj)}

_injected_objects := {sprintf("%s/%s/%s", [inj.object.kind, inj.ns, k8s.name(inj.object)]) | some inj in _injections; _active(inj)}

warn contains {"msg": msg, "ref": k8s.ref(w), "field": _annotations_field(w)} if {
	count(_instrumentations) > 0
	some c in _traced_classes
	some w in object.get(workloads.ai_workloads_by_class, c, [])
	not sprintf("%s/%s/%s", [w.kind, k8s.namespace(w), k8s.name(w)]) in _injected_objects
	not k8s.namespace(w) in _injected_namespaces
	not _native_otlp(w)
	msg := sprintf(
		"%s (%s) is not instrumented: add an %s<language> annotation to its pod template or configure its OTLP exporter",
		[k8s.describe(w), c, inject_prefix],
	)
}

_annotations_field(w) := sprintf("%s.annotations", [specs[0].metadata_path]) if {
	specs := pods.pod_specs(w)
	count(specs) > 0
} else := "metadata.annotations"

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["opentelemetry.io", "opentelemetrycollectors"],
		["opentelemetry.io", "instrumentations"],
	])
}

# The CustomResourceDefinition of group/plural as a finding ref (k8s.crd_ref, built with
# concat: rego-cpp renders sprintf of computed strings with stray quotes).
_crd_ref(group, plural) := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"namespace": "",
	"name": concat(".", [plural, group]),
}
