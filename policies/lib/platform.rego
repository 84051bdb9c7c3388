# Platform facts shared by the scheduling, operator and networking checks: objects of
# one API group and kind, conditions, CRDs by group and kind, controller Deployments, and
# whether the input holds every object of a kind (so that a dangling reference is a fact
# rather than a gap in the bundle). Library package: no METADATA block.
#
# API:
#   of_kind(group, kind)          objects of kind in API group (any version)
#   of_kind_in(groups, kind)      the same for a set of groups
#   condition(obj, type)          status string of the first condition of that type
#   crds_of(group, kinds)         CustomResourceDefinitions in the input for group whose
#                                 spec.names.kind is in kinds (all of the group when
#                                 kinds is empty)
#   kind_defined(group, kind)     a CRD for group/kind is in the input or the cluster
#                                 serves it (matched by kind, any version)
#   group_defined(group)          any CRD of the group in the input, or served
#   crd_not_established(crd)      the CRD's own status says Established=False or
#                                 NamesAccepted=False
#   controllers(tokens)           Deployments/StatefulSets whose name or
#                                 app.kubernetes.io/name label contains one of tokens
#   rollout_state(obj)            "available" | "unavailable" | "declared" (no status)
#   complete(group, resource, kind)   every object of group/kind is in the input: a live
#                                 scan that could read the resource, or a bundle that
#                                 defines at least one such object (it then owns them)
#   complete_in(group, resource, kind, ns)   the same for one namespace: a live scan
#                                 that could read the resource, or a bundle that defines
#                                 at least one such object in namespace ns
#   find(kind, ns, name)          the first object of kind named ns/name (ns "" for
#                                 cluster-scoped objects); an index built once, so
#                                 reference checks stay linear
#   crd_ref(group, plural)        like k8s.crd_ref, built with concat (rego-cpp's sprintf
#                                 quotes computed strings, which would change the ref)
#   pod_count(obj)                pods a Pod/Deployment/StatefulSet/ReplicaSet/Job runs
#                                 (replicas or parallelism, default 1); undefined otherwise
#   label_field(base, key)        `base.labels["key"]`: field path of a label or
#                                 annotation key that contains dots or slashes (written
#                                 without %q, which rego-cpp's sprintf does not support)
package kaic.lib.platform

import rego.v1

import data.kaic.lib.k8s

of_kind(group, kind) := [o | some o in k8s.objects_of_kind(kind); k8s.group(o) == group]

of_kind_in(groups, kind) := [o | some o in k8s.objects_of_kind(kind); k8s.group(o) in groups]

condition(obj, type) := statuses[0] if {
	statuses := [s |
		some c in k8s.array_at(k8s.object_at(obj, "status"), "conditions")
		is_object(c)
		c.type == type
		s := k8s.as_string(object.get(c, "status", ""))
	]
	count(statuses) > 0
}

# CRDs by API group, built once per evaluation.
_crds_by_group[g] := [crd | some crd in k8s.objects_of_kind("CustomResourceDefinition"); _crd_group(crd) == g] if {
	some g in {_crd_group(crd) | some crd in k8s.objects_of_kind("CustomResourceDefinition")}
}

_crd_group(crd) := k8s.string_at(k8s.object_at(crd, "spec"), "group")

crd_kind(crd) := k8s.string_at(k8s.object_at(k8s.object_at(crd, "spec"), "names"), "kind")

crd_plural(crd) := k8s.string_at(k8s.object_at(k8s.object_at(crd, "spec"), "names"), "plural")

crds_of(group, kinds) := [crd |
	some crd in object.get(_crds_by_group, group, [])
	_kind_wanted(crd_kind(crd), kinds)
]

_kind_wanted(_, kinds) if count(kinds) == 0

_kind_wanted(kind, kinds) if kind in kinds

kind_defined(group, kind) if {
	some crd in object.get(_crds_by_group, group, [])
	crd_kind(crd) == kind
}

kind_defined(group, kind) if {
	some r in k8s.api_resources
	r.group == group
	r.kind == kind
}

group_defined(group) if count(object.get(_crds_by_group, group, [])) > 0

group_defined(group) if {
	some r in k8s.api_resources
	r.group == group
}

crd_not_established(crd) if condition(crd, "Established") == "False"

crd_not_established(crd) if condition(crd, "NamesAccepted") == "False"

# ---------------------------------------------------------------------------
# Controllers
# ---------------------------------------------------------------------------

controllers(tokens) := [d |
	some kind in ["Deployment", "StatefulSet"]
	some d in of_kind("apps", kind)
	_names_match(d, tokens)
]

_names_match(obj, tokens) if {
	some t in tokens
	contains(k8s.name(obj), t)
}

_names_match(obj, tokens) if {
	some t in tokens
	contains(k8s.as_string(object.get(k8s.labels(obj), "app.kubernetes.io/name", "")), t)
}

rollout_state(obj) := "unavailable" if {
	condition(obj, "Available") == "False"
} else := "available" if {
	condition(obj, "Available") == "True"
} else := "available" if {
	n := k8s.get(k8s.object_at(obj, "status"), "availableReplicas", 0)
	is_number(n)
	n > 0
} else := "unavailable" if {
	k8s.is_live
	is_object(obj.status)
} else := "declared"

# rollout_note(obj): how messages describe a controller's state.
rollout_note(obj) := note if {
	notes := {
		"available": "available",
		"unavailable": "NOT available",
		"declared": "declared in the bundle",
	}
	note := notes[rollout_state(obj)]
}

# ---------------------------------------------------------------------------
# Completeness of the input for reference checks
# ---------------------------------------------------------------------------

complete(group, resource, _) if k8s.observed(group, resource)

complete(group, _, kind) if {
	not k8s.is_live
	count(of_kind(group, kind)) > 0
}

complete_in(group, resource, _, _) if k8s.observed(group, resource)

complete_in(group, _, kind, ns) if {
	not k8s.is_live
	ns in object.get(_namespaces_of, concat("|", [group, kind]), set())
}

# Namespaces holding objects of "group|kind", for complete_in; read through object.get
# so that the index is built once per query (a keyed lookup of a partial rule may be
# re-evaluated for every call).
_ns_index[key] contains ns if {
	some kind, objs in k8s.by_kind
	some o in objs
	key := concat("|", [k8s.group(o), kind])
	ns := k8s.namespace(o)
}

_namespaces_of[key] := nss if {
	some key, nss in _ns_index
}

# Index of every named object by kind, namespace and name (positions into k8s.objects).
# Built like k8s.by_kind: a partial set of positions, exposed through a partial object
# that is read with object.get (reading the partial set directly after it has been
# evaluated elsewhere in the same query gives wrong results in regorus).
_key_index[key] contains i if {
	some i, o in k8s.objects
	key := concat("|", [o.kind, k8s.raw_namespace(o), k8s.name(o)])
}

_by_key[key] := ids if {
	some key, ids in _key_index
}

find(kind, ns, name) := k8s.objects[min(ids)] if {
	ids := object.get(_by_key, concat("|", [kind, ns, name]), set())
	count(ids) > 0
} else := k8s.objects[min(ids)] if {
	# Manifests without a namespace land in the namespace they are applied to.
	ns == "default"
	ids := object.get(_by_key, concat("|", [kind, "", name]), set())
	count(ids) > 0
}

# of_kind_by_ns(group, kind, ns): objects of group/kind in namespace ns, from an index
# built once per query.
of_kind_by_ns(group, kind, ns) := [k8s.objects[i] | some i in object.get(_by_group_kind_ns, concat("|", [group, kind, ns]), set())]

_gkn_index[key] contains i if {
	some i, o in k8s.objects
	key := concat("|", [k8s.group(o), o.kind, k8s.namespace(o)])
}

_by_group_kind_ns[key] := ids if {
	some key, ids in _gkn_index
}

crd_ref(group, plural) := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"namespace": "",
	"name": concat(".", [plural, group]),
}

# ---------------------------------------------------------------------------
# Pods and field paths
# ---------------------------------------------------------------------------

pod_count(obj) := _int_or(k8s.get(k8s.object_at(obj, "spec"), "replicas", 1), 1) if {
	obj.kind in {"Deployment", "StatefulSet", "ReplicaSet"}
} else := _int_or(k8s.get(k8s.object_at(obj, "spec"), "parallelism", 1), 1) if {
	obj.kind == "Job"
} else := 1 if {
	obj.kind == "Pod"
}

_int_or(x, fallback) := x if is_number(x) else := fallback

label_field(base, key) := sprintf(`%s["%s"]`, [base, key])
