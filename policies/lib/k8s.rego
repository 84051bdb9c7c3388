# Kubernetes object access for kaic checks: reads objects from every input shape kaic
# and conftest produce, and offers type-safe accessors, object references, label
# selectors and cluster facts. Library package: no METADATA block (it is not a check).
package kaic.lib.k8s

# Every check reads objects through this package only, so the input shape is decided
# in one place. Three shapes are accepted:
#
#   kaic:              {"mode": ..., "cluster": ..., "objects": [obj, ...]}
#   conftest --combine [{"path": "a.yaml", "contents": obj | [obj, ...]}, ...]
#   conftest (plain)   obj            (one document per evaluation)
#
# A bare array of objects and `kind: *List` documents (kubectl get -o yaml) are
# flattened as well.
#
# Robustness rule for this library: regorus raises a runtime error (where OPA would be
# undefined) for `some x in <non-collection>` and for builtins called with the wrong
# type, so every value that comes from a manifest is type-checked (is_object, is_array,
# is_string) before it is iterated or passed to a builtin. Reading a field of a value of
# the wrong type (`x.spec.template` when spec is 5) is merely undefined, in both engines.
#
# Performance idioms (regorus evaluates a rule once per query, but not a function call,
# and each user function call costs microseconds):
#   - group objects in one pass with an index of positions and a partial object, as
#     by_kind does; a comprehension per key (`{k: [o | ...; key(o) == k] | some k ...}`)
#     is O(objects x keys);
#   - compute per-object facts once in a rule (see workloads.classified) rather than
#     calling the same function from several rules.

import rego.v1

# ---------------------------------------------------------------------------
# Objects
# ---------------------------------------------------------------------------

# objects: array of every Kubernetes object in the input (any shape), in input order
# (the items of `List` documents come after the other documents). Documents that are
# not objects or have no string `kind` are skipped.
objects := _documents if {
	# Fast path (kaic's own input): every document is already a plain object, so the
	# input array is used as is, without building a copy.
	every doc in _documents {
		is_string(doc.kind)
		doc.kind != ""
		not endswith(doc.kind, "List")
	}
} else := array.concat(
	_plain_objects,
	[obj |
		some doc in _list_kinded
		some obj in _list_items(doc)
		is_string(obj.kind)
		obj.kind != ""
	],
)

_plain_objects := [doc |
	some doc in _documents
	is_string(doc.kind)
	doc.kind != ""
	not endswith(doc.kind, "List")
]

# Documents whose kind ends in "List" (rare: kept apart so that the common path above
# makes no function call, which is costly in regorus).
_list_kinded := [doc |
	some doc in _documents
	is_string(doc.kind)
	endswith(doc.kind, "List")
]

# A `List` document (v1 List, DeploymentList, ...) stands for its items; a kind that
# merely ends in "List" but has no items array is an object like any other.
_list_items(doc) := doc.items if is_array(doc.items) else := [doc]

# by_kind[kind]: array of the objects of that kind. Built once per evaluation from an
# index of positions (sets of numbers hash far faster in regorus than sets of objects).
by_kind[kind] := [objects[i] | some i in ids] if {
	some kind, ids in _kind_index
}

_kind_index[kind] contains i if {
	some i, obj in objects
	kind := obj.kind
}

# objects_of_kind(kind): array of the objects of that kind; [] when there are none.
objects_of_kind(kind) := object.get(by_kind, kind, [])

# Documents of the input before `List` flattening.
_documents := input.objects if {
	_is_kaic_input
} else := _combined_documents if {
	is_array(input)
} else := [input] if {
	is_object(input)
} else := []

# kaic's input is an object with an `objects` array and no `kind` of its own.
_is_kaic_input if {
	is_object(input)
	not is_string(input.kind)
	is_array(input.objects)
}

# conftest --combine: each entry is {path, contents}; contents is one document or the
# array of a multi-document file. Entries that are plain objects are taken as documents.
_combined_documents := [doc |
	is_array(input)
	some entry in input
	some doc in _entry_documents(entry)
]

_entry_documents(entry) := entry.contents if {
	_is_combine_entry(entry)
	is_array(entry.contents)
} else := [entry.contents] if {
	_is_combine_entry(entry)
} else := [entry]

_is_combine_entry(entry) if {
	is_object(entry)
	not is_string(entry.kind)
	is_string(entry.path)
}

# ---------------------------------------------------------------------------
# Safe accessors
# ---------------------------------------------------------------------------

# as_object(x): x when it is an object, else {}. For values read from manifests.
as_object(x) := x if {
	is_object(x)
} else := {}

# as_array(x): x when it is an array, else [].
as_array(x) := x if {
	is_array(x)
} else := []

# as_string(x): x when it is a string, else "".
as_string(x) := x if {
	is_string(x)
} else := ""

# get(x, at, default): object.get (at: a key or an array of keys) that also tolerates a
# non-object x.
get(x, at, default_value) := object.get(x, at, default_value) if {
	is_object(x)
} else := default_value

# array_at(x, path) / object_at(x, path) / string_at(x, path): the value at path (a key
# or an array of keys) when it has that type, else [] / {} / "". Use these rather than
# as_array(x.a.b): a function called with an undefined argument is itself undefined.
array_at(x, at) := v if {
	is_object(x)
	v := object.get(x, at, [])
	is_array(v)
} else := []

object_at(x, at) := v if {
	is_object(x)
	v := object.get(x, at, {})
	is_object(v)
} else := {}

string_at(x, at) := v if {
	is_object(x)
	v := object.get(x, at, "")
	is_string(v)
} else := ""

# The accessors below are called for every object, so they read fields directly (a
# field of a non-object is simply undefined, never an error) instead of composing the
# helpers above: each user function call costs microseconds in regorus.

# metadata(obj): obj.metadata as an object ({} when missing or of a wrong type).
metadata(obj) := m if {
	m := obj.metadata
	is_object(m)
} else := {}

# name(obj): metadata.name, or "" when missing.
name(obj) := n if {
	n := obj.metadata.name
	is_string(n)
} else := ""

# raw_namespace(obj): metadata.namespace exactly as written, or "" when absent.
raw_namespace(obj) := ns if {
	ns := obj.metadata.namespace
	is_string(ns)
} else := ""

# namespace(obj): metadata.namespace, or "default" when absent: the namespace a
# manifest without one lands in, used to group objects that act on each other.
namespace(obj) := ns if {
	ns := obj.metadata.namespace
	is_string(ns)
	ns != ""
} else := "default"

# api_version(obj): apiVersion, or "" when missing.
api_version(obj) := v if {
	v := obj.apiVersion
	is_string(v)
} else := ""

# group(obj): API group of the object ("" for the core group, "apps" for apps/v1).
group(obj) := substring(v, 0, i) if {
	v := obj.apiVersion
	is_string(v)
	i := indexof(v, "/")
	i >= 0
} else := ""

# api_group(version_string): the group part of an apiVersion string.
api_group(version_string) := substring(version_string, 0, i) if {
	is_string(version_string)
	i := indexof(version_string, "/")
	i >= 0
} else := ""

# labels(obj) / annotations(obj): the maps, {} when missing or malformed.
labels(obj) := l if {
	l := obj.metadata.labels
	is_object(l)
} else := {}

annotations(obj) := a if {
	a := obj.metadata.annotations
	is_object(a)
} else := {}

# label(obj, key) / annotation(obj, key): the string value; undefined when absent.
label(obj, key) := v if {
	is_object(obj.metadata.labels)
	v := obj.metadata.labels[key]
	is_string(v)
}

annotation(obj, key) := v if {
	is_object(obj.metadata.annotations)
	v := obj.metadata.annotations[key]
	is_string(v)
}

# ref(obj): the object reference carried by every finding.
ref(obj) := {
	"apiVersion": api_version(obj),
	"kind": obj.kind,
	"namespace": raw_namespace(obj),
	"name": name(obj),
}

# describe(obj): how messages name an object: "Deployment agents/web", or
# "GatewayClass example" when the object has no namespace. Objects that only have a
# generateName show it ("Job default/train-").
describe(obj) := sprintf("%s %s/%s", [obj.kind, ns, display_name(obj)]) if {
	ns := raw_namespace(obj)
	ns != ""
} else := sprintf("%s %s", [obj.kind, display_name(obj)])

# display_name(obj): metadata.name, else metadata.generateName, else "<unnamed>".
display_name(obj) := n if {
	n := name(obj)
	n != ""
} else := n if {
	n := as_string(get(metadata(obj), "generateName", ""))
	n != ""
} else := "<unnamed>"

# crd_ref(group_name, plural): reference to the CustomResourceDefinition of group/plural, for
# findings about an API rather than an object.
crd_ref(group_name, plural) := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"namespace": "",
	"name": sprintf("%s.%s", [plural, group_name]),
}

# path(base, key): dotted field path used in findings, e.g. path("spec", "template").
path(base, key) := key if {
	base == ""
} else := sprintf("%s.%s", [base, key])

# index_path(base, key, i): "base.key[i]".
index_path(base, key, i) := sprintf("%s[%d]", [path(base, key), i])

# ---------------------------------------------------------------------------
# Labels and selectors
# ---------------------------------------------------------------------------

# selector_matches(selector, labels): metav1.LabelSelector semantics. An empty or
# absent selector ({} or null) selects everything; matchLabels and matchExpressions
# (In, NotIn, Exists, DoesNotExist) must all hold. A malformed selector selects nothing.
selector_matches(selector, _) if {
	selector == null
}

selector_matches(selector, pod_labels) if {
	is_object(selector)
	lbls := as_object(pod_labels)
	_match_labels_hold(selector, lbls)
	_match_expressions_hold(selector, lbls)
}

_match_labels_hold(selector, _) if {
	object.get(selector, "matchLabels", null) == null
}

_match_labels_hold(selector, lbls) if {
	is_object(selector.matchLabels)
	every k, v in selector.matchLabels {
		lbls[k] == v
	}
}

_match_expressions_hold(selector, _) if {
	object.get(selector, "matchExpressions", null) == null
}

_match_expressions_hold(selector, lbls) if {
	is_array(selector.matchExpressions)
	every expr in selector.matchExpressions {
		_expression_holds(expr, lbls)
	}
}

_expression_holds(expr, lbls) if {
	expr.operator == "In"
	is_array(expr.values)
	lbls[expr.key] in expr.values
}

_expression_holds(expr, lbls) if {
	expr.operator == "NotIn"
	is_array(expr.values)
	not lbls[expr.key] in expr.values
}

_expression_holds(expr, lbls) if {
	expr.operator == "Exists"
	is_string(expr.key)
	_ = lbls[expr.key]
}

_expression_holds(expr, lbls) if {
	expr.operator == "DoesNotExist"
	is_string(expr.key)
	not _has_key(lbls, expr.key)
}

_has_key(obj, key) if _ = obj[key]

# map_selects(selector, labels): equality-map selector as in Service.spec.selector.
# Unlike a LabelSelector, an empty or absent map selects no pods.
map_selects(selector, pod_labels) if {
	is_object(selector)
	count(selector) > 0
	lbls := as_object(pod_labels)
	every k, v in selector {
		lbls[k] == v
	}
}

# ---------------------------------------------------------------------------
# Namespaces
# ---------------------------------------------------------------------------

# namespace_object(ns): the Namespace object named ns, when it is in the input (the
# first one, should a bundle repeat it).
namespace_object(ns) := found[0] if {
	found := [obj | some obj in objects_of_kind("Namespace"); name(obj) == ns]
	count(found) > 0
}

# namespace_labels(ns): labels of Namespace ns as the API server shows them, including
# the automatic kubernetes.io/metadata.name label (also when the object is absent).
namespace_labels(ns) := object.union(declared, {"kubernetes.io/metadata.name": ns}) if {
	declared := labels(namespace_object(ns))
} else := {"kubernetes.io/metadata.name": ns}

# ---------------------------------------------------------------------------
# Ownership
# ---------------------------------------------------------------------------

# controller_in_input(obj): obj is managed by a controller object that is itself in the
# input (a Pod of a ReplicaSet of a Deployment in a cluster snapshot). Checks report the
# top-level object only, so findings are not repeated for every generated child.
# Owners are matched by uid (always set on live objects).
controller_in_input(obj) if {
	refs := obj.metadata.ownerReferences
	is_array(refs)
	some owner in refs
	owner.controller == true
	owner.uid in _uids
}

# Hand-written manifests may omit the uid: match kind, name and namespace instead.
controller_in_input(obj) if {
	refs := obj.metadata.ownerReferences
	is_array(refs)
	some owner in refs
	owner.controller == true
	not is_string(owner.uid)
	is_string(owner.kind)
	some candidate in objects_of_kind(owner.kind)
	candidate.metadata.name == owner.name
	raw_namespace(candidate) in {raw_namespace(obj), ""}
}

_uids contains uid if {
	some obj in objects
	uid := obj.metadata.uid
	is_string(uid)
}

# ---------------------------------------------------------------------------
# Scan mode and cluster facts
# ---------------------------------------------------------------------------

# is_mode_manifests: the input is a bundle of files (kaic manifests mode, or any
# conftest input); platform facts then come only from objects in the bundle.
is_mode_manifests if {
	not _is_kaic_input
}

is_mode_manifests if {
	_is_kaic_input
	not input.mode in {"cluster", "snapshot"}
}

# is_live: the input was read from a cluster (live scan or saved snapshot).
is_live if {
	_is_kaic_input
	input.mode in {"cluster", "snapshot"}
}

# cluster: input.cluster as an object ({} for manifests and conftest).
cluster := input.cluster if {
	_is_kaic_input
	is_object(input.cluster)
} else := {}

# api_resources / unreadable_resources: the cluster's lists, [] when absent.
api_resources := as_array(object.get(cluster, "api_resources", []))

unreadable_resources := as_array(object.get(cluster, "unreadable", []))

# cluster_has_resource(group, resource): the API server serves group/resource
# (any version) according to cluster.api_resources.
cluster_has_resource(group_name, resource) if {
	some r in api_resources
	r.group == group_name
	r.resource == resource
}

# unreadable(group, resource): the collector could not read group/resource.
unreadable(group_name, resource) if {
	some r in unreadable_resources
	r.group == group_name
	r.resource == resource
}

# unreadable_reason(group, resource): why it could not be read ("forbidden", ...).
unreadable_reason(group_name, resource) := reasons[0] if {
	reasons := [_reason_text(r) |
		some r in unreadable_resources
		r.group == group_name
		r.resource == resource
	]
	count(reasons) > 0
}

_reason_text(r) := r.reason if {
	is_string(r.reason)
	r.reason != ""
} else := "unreadable"

# observed(group, resource): the input holds every object of group/resource, so their
# absence is a fact: a live or snapshot scan whose collector could read the resource.
# In manifests mode nothing is observed: objects may exist in the cluster all the same.
observed(group_name, resource) if {
	is_live
	not unreadable(group_name, resource)
}

# resource_name(group, resource): "runtimeclasses.node.k8s.io", "namespaces" (core).
resource_name(group_name, resource) := resource if {
	group_name == ""
} else := sprintf("%s.%s", [resource, group_name])

# unreadable_unknowns(needed): {"msg"} items for each [group, resource] pair of `needed`
# that the collector could not read. Every check returns these in its `unknown` rule so
# that unread data never looks like an absent capability.
unreadable_unknowns(needed) := {{"msg": msg} |
	some pair in needed
	reason := unreadable_reason(pair[0], pair[1])
	msg := sprintf(
		"%s could not be read (%s); results that depend on them are incomplete",
		[resource_name(pair[0], pair[1]), reason],
	)
}

# crd_defined(group, plural): the API group/resource exists: a CustomResourceDefinition
# for it is in the input, or the cluster serves it (any version).
crd_defined(group_name, plural) if {
	some crd in objects_of_kind("CustomResourceDefinition")
	crd.spec.group == group_name
	crd.spec.names.plural == plural
}

crd_defined(group_name, plural) if {
	cluster_has_resource(group_name, plural)
}
