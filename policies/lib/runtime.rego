# Container runtimes: RuntimeClass lookup and which handlers isolate pods in a sandbox
# (a user-space kernel or a micro-VM) rather than sharing the host kernel.
# Library package: no METADATA block.
#
# API:
#   runtime_class(name)          the RuntimeClass object of that name, when in the input
#   handler(rc)                  rc.handler ("" when missing)
#   sandbox_technology(handler)  "gVisor" | "Kata Containers" | "libkrun" | "Quark";
#                                undefined for handlers that share the host kernel (runc,
#                                crun, nvidia, ...)
#   is_sandboxed_handler(handler)
#   name_suggests_sandbox(name)  the RuntimeClass name alone points at a sandbox (the
#                                CNCF workload_sandboxing test's name heuristic), for
#                                when the RuntimeClass itself cannot be seen
package kaic.lib.runtime

import rego.v1

import data.kaic.lib.k8s

runtime_class(name) := found[0] if {
	found := [rc | some rc in k8s.objects_of_kind("RuntimeClass"); k8s.name(rc) == name]
	count(found) > 0
}

handler(rc) := k8s.as_string(k8s.get(rc, "handler", ""))

# Handler name patterns, matched on the lower-cased handler. gVisor registers as
# "runsc" (containerd shim `runsc`, often named "gvisor"); Kata as "kata", "kata-qemu",
# "kata-clh", "kata-fc", "kata-qemu-nvidia-gpu", ...
_technologies := [
	["runsc", "gVisor"],
	["gvisor", "gVisor"],
	["kata", "Kata Containers"],
	["krun", "libkrun"],
	["quark", "Quark"],
]

sandbox_technology(h) := found[0] if {
	is_string(h)
	lowered := lower(h)
	found := [tech | some pair in _technologies; contains(lowered, pair[0]); tech := pair[1]]
	count(found) > 0
}

is_sandboxed_handler(h) if sandbox_technology(h)

name_suggests_sandbox(name) if sandbox_technology(name)

name_suggests_sandbox(name) if {
	is_string(name)
	contains(lower(name), "sandboxed")
}
