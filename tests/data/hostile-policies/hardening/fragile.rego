# METADATA
# title: Fragile check (test only)
# description: >-
#   Adds 1 to spec.replicas without checking its type, so a manifest with `replicas: "x"`
#   makes regorus raise a type error at evaluation time.
# custom:
#   id: hardening-fragile
#   requirements:
#     whitepaper: [OBS-6.2]
#     cncf: [ai_inference]
#   severity: low
#   scope: workload
package kaic.hardening.fragile

import rego.v1

evidence contains {"msg": sprintf("%v replicas", [n]), "ref": {"kind": o.kind, "name": o.metadata.name}} if {
	some o in input.objects
	n := o.spec.replicas + 1
}
