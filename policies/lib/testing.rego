# Helpers for *_test.rego files: build the input shapes checks must accept, and compare
# a check's result counts with expectations. Library package: no METADATA block.
#
#   manifests(objs)                kaic input, manifests mode
#   combined(objs)                 conftest --combine input (one multi-document file)
#   combined_files(objs)           conftest --combine input, one file per object
#   cluster(objs, resources, unreadable)   kaic input, live mode; resources and
#                                  unreadable are [group, resource] pairs
#   results(pkg)                   {"deny", "evidence", "warn", "unknown"} of a check
#                                  package document, {} for rules it does not define:
#                                  pkg := check with input as inp; got := results(pkg)
#   count_mismatches(name, got, want)      messages for every key of want whose count in
#                                  got differs, e.g. want = {"deny": 1, "evidence": 0}
#
# Convention (regorus): evaluate under `with` into a variable, then compare in a separate
# expression. regorus leaves `rule == value with input as x` undefined when the
# expression also references another rule (for example a fixture object defined at
# package level), whereas `got := rule with input as x` followed by `got == value`
# works in regorus and OPA alike.
package kaic.lib.testing

import rego.v1

manifests(objs) := {"mode": "manifests", "cluster": null, "objects": objs}

combined(objs) := [{"path": "bundle.yaml", "contents": objs}]

combined_files(objs) := [{"path": sprintf("file-%d.yaml", [i]), "contents": objs[i]} | some i; objs[i]]

cluster(objs, resources, unreadable) := {
	"mode": "cluster",
	"cluster": {
		"version": {"gitVersion": "v1.34.2", "major": "1", "minor": "34"},
		"api_resources": [{"group": r[0], "version": "v1", "resource": r[1], "kind": "", "namespaced": true} | some r in resources],
		"unreadable": [{"group": u[0], "resource": u[1], "reason": "forbidden"} | some u in unreadable],
	},
	"objects": objs,
}

results(pkg) := {rule: object.get(pkg, rule, set()) | some rule in ["deny", "evidence", "warn", "unknown"]}

count_mismatches(name, got, want) := {msg |
	some rule
	n := want[rule]
	count(got[rule]) != n
	msg := sprintf("%s: %d %s, want %d: %v", [name, count(got[rule]), rule, n, got[rule]])
}
