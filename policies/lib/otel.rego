# OpenTelemetry Operator objects: collectors and their configuration, which is a YAML
# string in opentelemetry.io/v1alpha1 and an object in v1beta1. Library package: no
# METADATA block.
#
# API:
#   collectors                 OpenTelemetryCollector objects (group opentelemetry.io)
#   collector_config(c)        spec.config as an object; undefined when it is neither an
#                              object nor a YAML string holding one
#   pipelines(cfg, signal)     {name: pipeline} of service.pipelines named `signal` or
#                              `signal/<name>` (signal: traces | metrics | logs)
#   component_names(pl, key)   the string entries of pipeline pl's receivers/exporters/...
#   component_of_type(name, type)   name is `type` or `type/<name>` (otlp, otlp/grpc, ...)
package kaic.lib.otel

import rego.v1

import data.kaic.lib.k8s

collectors := [c | some c in k8s.objects_of_kind("OpenTelemetryCollector"); k8s.group(c) == "opentelemetry.io"]

collector_config(c) := cfg if {
	cfg := c.spec.config
	is_object(cfg)
} else := cfg if {
	raw := c.spec.config
	is_string(raw)
	yaml.is_valid(raw)
	cfg := yaml.unmarshal(raw)
	is_object(cfg)
}

pipelines(cfg, signal) := {name: pl |
	some name, pl in k8s.object_at(k8s.object_at(cfg, "service"), "pipelines")
	component_of_type(name, signal)
	is_object(pl)
}

component_names(pl, key) := [n | some n in k8s.array_at(pl, key); is_string(n)]

component_of_type(name, type) if name == type

component_of_type(name, type) if startswith(name, sprintf("%s/", [type]))
