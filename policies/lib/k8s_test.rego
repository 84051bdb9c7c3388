package kaic.lib.k8s_test

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.testing

_deploy := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "web", "namespace": "agents", "labels": {"app": "web"}},
	"spec": {},
}

_svc := {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}

# --- input shapes -----------------------------------------------------------

test_objects_from_kaic_input if {
	got := k8s.objects with input as testing.manifests([_deploy, _svc])
	got == [_deploy, _svc]
}

test_objects_from_conftest_combine if {
	got := k8s.objects with input as testing.combined([_deploy, _svc])
	got == [_deploy, _svc]
}

test_objects_from_conftest_combine_one_file_each if {
	got := k8s.objects with input as testing.combined_files([_deploy, _svc])
	got == [_deploy, _svc]
}

test_objects_from_single_object if {
	got := k8s.objects with input as _deploy
	got == [_deploy]
}

test_objects_from_plain_array if {
	got := k8s.objects with input as [_deploy, _svc]
	got == [_deploy, _svc]
}

test_objects_flattens_lists if {
	got := k8s.objects with input as {"apiVersion": "v1", "kind": "List", "items": [_deploy, _svc]}
	got == [_deploy, _svc]
}

test_objects_skip_malformed_documents if {
	odd := [5, null, "text", [], {}, {"kind": 5}, {"kind": ""}, {"kind": "Pod", "metadata": null, "spec": 5}]
	got := k8s.objects with input as testing.manifests(odd)
	got == [{"kind": "Pod", "metadata": null, "spec": 5}]
	got_2 := k8s.objects with input as {"objects": 5}
	got_2 == []
	got_3 := k8s.objects with input as 5
	got_3 == []
	got_4 := k8s.objects with input as [{"path": "a.yaml", "contents": null}]
	got_4 == []
}

test_by_kind_index if {
	got := k8s.by_kind.Deployment with input as testing.manifests([_deploy, _svc])
	got == [_deploy]
	got_2 := k8s.objects_of_kind("Service") with input as testing.manifests([_deploy, _svc])
	got_2 == [_svc]
	got_3 := k8s.objects_of_kind("Nope") with input as testing.manifests([_deploy, _svc])
	got_3 == []
}

# --- accessors ----------------------------------------------------------------

test_ref_and_describe if {
	k8s.ref(_deploy) == {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "agents", "name": "web"}
	k8s.ref(_svc) == {"apiVersion": "v1", "kind": "Service", "namespace": "", "name": "web"}
	k8s.describe(_deploy) == "Deployment agents/web"
	k8s.describe(_svc) == "Service web"
	k8s.describe({"kind": "Job", "metadata": {"generateName": "train-"}}) == "Job train-"
}

test_namespace_defaults if {
	k8s.namespace(_deploy) == "agents"
	k8s.namespace(_svc) == "default"
	k8s.raw_namespace(_svc) == ""
	k8s.namespace({"kind": "Pod", "metadata": null}) == "default"
}

test_group if {
	k8s.group(_deploy) == "apps"
	k8s.group(_svc) == ""
	k8s.group({"kind": "X", "apiVersion": 5}) == ""
	k8s.api_group("gateway.networking.k8s.io/v1") == "gateway.networking.k8s.io"
}

test_labels_are_type_safe if {
	k8s.label(_deploy, "app") == "web"
	not k8s.label(_deploy, "missing")
	k8s.labels({"kind": "X", "metadata": {"labels": []}}) == {}
	k8s.annotations({"kind": "X", "metadata": "oops"}) == {}
	not k8s.label({"kind": "X", "metadata": {"labels": {"n": 5}}}, "n")
}

test_value_accessors if {
	k8s.array_at({"spec": {"egress": [1]}}, ["spec", "egress"]) == [1]
	k8s.array_at({"spec": 5}, ["spec", "egress"]) == []
	k8s.object_at({"spec": "x"}, "spec") == {}
	k8s.string_at({"a": {"b": "c"}}, ["a", "b"]) == "c"
	k8s.get(5, "a", "d") == "d"
}

# --- selectors ----------------------------------------------------------------

test_selector_matches_table if {
	cases := [
		[{}, {"app": "a"}, true],
		[null, {}, true],
		[{"matchLabels": {"app": "a"}}, {"app": "a", "x": "y"}, true],
		[{"matchLabels": {"app": "a"}}, {"app": "b"}, false],
		[{"matchExpressions": [{"key": "tier", "operator": "In", "values": ["gpu", "tpu"]}]}, {"tier": "gpu"}, true],
		[{"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["gpu"]}]}, {"tier": "gpu"}, false],
		[{"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["gpu"]}]}, {}, true],
		[{"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"tier": ""}, true],
		[{"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {"tier": "x"}, false],
		[{"matchExpressions": [{"key": "tier", "operator": "Bogus"}]}, {"tier": "x"}, false],
		[{"matchLabels": "oops"}, {"app": "a"}, false],
		["oops", {"app": "a"}, false],
	]
	every c in cases {
		_selects(c[0], c[1]) == c[2]
	}
}

_selects(sel, lbls) := true if k8s.selector_matches(sel, lbls) else := false

test_map_selects if {
	k8s.map_selects({"app": "a"}, {"app": "a", "b": "c"})
	not k8s.map_selects({}, {"app": "a"})
	not k8s.map_selects(null, {"app": "a"})
	not k8s.map_selects({"app": "a"}, {"app": "b"})
}

test_namespace_labels if {
	ns := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml", "labels": {"team": "x"}}}
	got := k8s.namespace_labels("ml") with input as testing.manifests([ns])
	got == {"team": "x", "kubernetes.io/metadata.name": "ml"}
	got_2 := k8s.namespace_labels("other") with input as testing.manifests([ns])
	got_2 == {"kubernetes.io/metadata.name": "other"}
}

# --- ownership ----------------------------------------------------------------

test_controller_in_input if {
	rs := {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-1", "namespace": "a", "uid": "u1"}}
	pod := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1-x", "namespace": "a", "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1", "uid": "u1", "controller": true}]}}
	orphan := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "o", "namespace": "a", "ownerReferences": [{"kind": "ReplicaSet", "name": "gone", "uid": "u9", "controller": true}]}}
	k8s.controller_in_input(pod) with input as testing.manifests([rs, pod, orphan])
	not k8s.controller_in_input(orphan) with input as testing.manifests([rs, pod, orphan])
	not k8s.controller_in_input(rs) with input as testing.manifests([rs, pod, orphan])
}

test_controller_in_input_without_uid if {
	job := {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train", "namespace": "a"}}
	pod := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "train-x", "namespace": "a", "ownerReferences": [{"kind": "Job", "name": "train", "controller": true}]}}
	k8s.controller_in_input(pod) with input as testing.manifests([job, pod])
	not k8s.controller_in_input(pod) with input as testing.manifests([pod])
}

# --- cluster facts --------------------------------------------------------------

test_modes if {
	k8s.is_mode_manifests with input as testing.manifests([])
	k8s.is_mode_manifests with input as testing.combined([])
	k8s.is_mode_manifests with input as _deploy
	k8s.is_live with input as testing.cluster([], [], [])
	not k8s.is_mode_manifests with input as testing.cluster([], [], [])
}

test_cluster_resources if {
	inp := testing.cluster([], [["node.k8s.io", "runtimeclasses"]], [["", "secrets"]])
	k8s.cluster_has_resource("node.k8s.io", "runtimeclasses") with input as inp
	not k8s.cluster_has_resource("node.k8s.io", "nodes") with input as inp
	k8s.unreadable("", "secrets") with input as inp
	got := k8s.unreadable_reason("", "secrets") with input as inp
	got == "forbidden"
	k8s.observed("node.k8s.io", "runtimeclasses") with input as inp
	not k8s.observed("", "secrets") with input as inp
	not k8s.observed("node.k8s.io", "runtimeclasses") with input as testing.manifests([])
}

test_unreadable_unknowns if {
	inp := testing.cluster([], [], [["", "secrets"]])
	got := k8s.unreadable_unknowns([["", "secrets"], ["apps", "deployments"]]) with input as inp
	got == {{"msg": "secrets could not be read (forbidden); results that depend on them are incomplete"}}
}

test_crd_defined if {
	crd := {
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": {"name": "gateways.gateway.networking.k8s.io"},
		"spec": {"group": "gateway.networking.k8s.io", "names": {"plural": "gateways", "kind": "Gateway"}},
	}
	k8s.crd_defined("gateway.networking.k8s.io", "gateways") with input as testing.manifests([crd])
	not k8s.crd_defined("gateway.networking.k8s.io", "httproutes") with input as testing.manifests([crd])
	k8s.crd_defined("gateway.networking.k8s.io", "httproutes") with input as testing.cluster([], [["gateway.networking.k8s.io", "httproutes"]], [])
}
