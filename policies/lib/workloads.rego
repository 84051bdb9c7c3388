# Workload classification (DESIGN "Which workloads a check applies to"): which objects
# are AI workloads, and of which class. Library package: no METADATA block.
#
# Order of precedence:
#   1. the label kaic.dev/workload: agent | inference | training, on the object or on
#      one of its pod templates;
#   2. well-known kinds (InferenceService -> inference, JobSet -> training, Sandbox ->
#      agent, ...);
#   3. pods that request accelerators (nvidia.com/gpu, amd.com/gpu, gpu.intel.com/*,
#      google.com/tpu, aws.amazon.com/neuron*, habana.ai/gaudi*) or DRA resource
#      claims: class "accelerated".
#
# API:
#   ai_workloads             array of AI workload objects (top-level objects only: a
#                            Pod whose controller is in the input is left to it)
#   classified               [{"object", "class"}] for every AI workload
#   ai_workloads_by_class[c] the same, per class; agent_workloads, inference_workloads,
#                            training_workloads are shortcuts ([] when none)
#   class(obj)               "agent" | "inference" | "training" | "accelerated";
#                            undefined for objects that are not AI workloads
#   is_ai_workload(obj), is_agent(obj), is_inference(obj), is_training(obj)
#   requests_accelerators(obj)   pods request accelerators or DRA claims
#   accelerator_resource(name)   name is an accelerator extended resource
#   pods_run_in_namespace(obj)   the pods obj describes run in obj's own namespace
#                            (false for cluster-scoped blueprints: ClusterTrainingRuntime)
#   sandbox_template(obj)    the SandboxTemplate a SandboxClaim / SandboxWarmPool uses,
#                            when it is in the input
#   sandbox_template_name(obj)   its name, when it can be told from the input
#   unresolved_claim_unknowns(what)  {"msg"} items for agent SandboxClaims whose
#                            SandboxTemplate is not in the input ("what" cannot be checked)
package kaic.lib.workloads

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.pods

label_key := "kaic.dev/workload"

classes := {"agent", "inference", "training"}

# Well-known AI kinds and their class.
kind_classes := {
	"InferenceService": "inference",
	"LLMInferenceService": "inference",
	"RayService": "inference", # Ray Serve
	"JobSet": "training",
	"TrainJob": "training",
	"PyTorchJob": "training",
	"TFJob": "training",
	"MPIJob": "training",
	"XGBoostJob": "training",
	"PaddleJob": "training",
	"JAXJob": "training",
	"MXJob": "training",
	"RayJob": "training",
	"Sandbox": "agent",
	"SandboxClaim": "agent",
	"SandboxTemplate": "agent", # the pod template SandboxClaims run
}

# Accelerator extended resources, by name prefix (the exact names nvidia.com/gpu,
# amd.com/gpu and google.com/tpu are prefixes of themselves).
_accelerator_prefixes := [
	"nvidia.com/gpu", "nvidia.com/mig-", "amd.com/gpu", "gpu.intel.com/",
	"google.com/tpu", "aws.amazon.com/neuron", "habana.ai/gaudi",
]

# ---------------------------------------------------------------------------

# Candidates: objects that carry pod specs or are well-known AI kinds. Labels on other
# objects (a chart that labels its ConfigMaps and Services too) do not make workloads.
# Each candidate is classified once per query, in _class_of (regorus does not memoise
# function calls), and checks read the classification from these rules.
classified := [{"object": obj, "class": c} |
	some obj in _candidate_objects
	not k8s.controller_in_input(obj)
	_is_workload_object(obj, pods.pod_specs(obj))
	c := _class_of[obj]
	c != ""
]

# (Core Services, which pods.known_objects leaves out, have no pod specs and are not a
# well-known AI kind, so they are never AI workloads.)
_candidate_objects := array.concat(pods.known_objects, [obj |
	some kind in object.keys(kind_classes) - pods.workload_kinds
	some obj in k8s.objects_of_kind(kind)
])

# _class_of[obj]: the class of every candidate, "" when it is not an AI workload; keyed by
# the object itself, so that class(obj) is a lookup for the objects of the input.
_class_of[obj] := _class_or_none(obj) if {
	some obj in _candidate_objects
}

_class_or_none(obj) := c if {
	c := _class(obj, pods.pod_specs(obj))
} else := ""

_is_workload_object(obj, _) if kind_classes[obj.kind]

_is_workload_object(_, specs) if count(specs) > 0

ai_workloads := [x.object | some x in classified]

# ai_workloads_by_class[class]: AI workloads of one class (agent, inference, training,
# accelerated); agent_workloads etc. are the same, [] when there are none.
ai_workloads_by_class[c] := [x.object | some x in classified; x.class == c] if {
	some c in all_classes
}

all_classes := classes | {"accelerated"}

agent_workloads := object.get(ai_workloads_by_class, "agent", [])

inference_workloads := object.get(ai_workloads_by_class, "inference", [])

training_workloads := object.get(ai_workloads_by_class, "training", [])

class(obj) := c if {
	c := _class_of[obj]
	c != ""
} else := _class(obj, pods.pod_specs(obj)) if {
	not _class_of[obj]
}

_class(obj, specs) := c if {
	c := _label_class(obj, specs)
} else := c if {
	c := kind_classes[obj.kind]
} else := "accelerated" if {
	_requests_accelerators(obj, specs)
}

# The label on the object wins over labels on its pod templates; if templates disagree
# the first class in sorted order is taken, so the result is always one value.
_label_class(obj, specs) := c if {
	c := k8s.label(obj, label_key)
	c in classes
} else := min(template_classes) if {
	template_classes := {c |
		some p in specs
		c := p.metadata.labels[label_key]
		c in classes
	}
	count(template_classes) > 0
}

is_ai_workload(obj) if class(obj)

is_agent(obj) if class(obj) == "agent"

is_inference(obj) if class(obj) == "inference"

is_training(obj) if class(obj) == "training"

# One builtin call rather than a loop over the prefixes: this runs for every resource
# name of every container, in several checks.
accelerator_resource(name) if {
	is_string(name)
	strings.any_prefix_match(name, _accelerator_prefixes)
}

requests_accelerators(obj) if _requests_accelerators(obj, pods.pod_specs(obj))

# Extended resources in requests or limits, or DRA claims on a container. Containers
# are read straight from the pod specs (classification runs for every candidate, and
# building full container entries with paths would cost more than the check itself).
_requests_accelerators(_, specs) if {
	some p in specs
	some field in ["containers", "initContainers"]
	containers := p.spec[field]
	is_array(containers)
	some c in containers
	_resources_request_accelerators(c.resources)
}

# Containers outside pod specs (KServe model specs, the TrainJob trainer): with no
# specs, containers_of returns exactly those.
_requests_accelerators(obj, _) if {
	some c in pods.containers_of(obj, [])
	_resources_request_accelerators(c.container.resources)
}

# DRA claims on the pod.
_requests_accelerators(_, specs) if {
	some p in specs
	claims := p.spec.resourceClaims
	is_array(claims)
	count(claims) > 0
}

_resources_request_accelerators(resources) if {
	is_object(resources)
	some section in ["requests", "limits"]
	amounts := resources[section]
	is_object(amounts)
	some name, _ in amounts
	accelerator_resource(name)
}

_resources_request_accelerators(resources) if {
	is_object(resources)
	claims := resources.claims
	is_array(claims)
	count(claims) > 0
}

# Cluster-scoped blueprints describe pods that run in the namespace of whatever uses them.
_cluster_scoped_blueprints := {"ClusterTrainingRuntime"}

pods_run_in_namespace(obj) if not obj.kind in _cluster_scoped_blueprints

# ---------------------------------------------------------------------------
# agent-sandbox indirection: SandboxClaim -> (SandboxWarmPool ->) SandboxTemplate
# ---------------------------------------------------------------------------

sandbox_template_name(obj) := name if {
	obj.kind in {"SandboxClaim", "SandboxWarmPool"}
	name := obj.spec.sandboxTemplateRef.name
	is_string(name)
} else := name if {
	obj.kind == "SandboxClaim"
	pool_name := obj.spec.warmPoolRef.name
	is_string(pool_name)
	pool := _first_named("SandboxWarmPool", k8s.namespace(obj), pool_name)
	name := pool.spec.sandboxTemplateRef.name
	is_string(name)
}

sandbox_template(obj) := _first_named("SandboxTemplate", k8s.namespace(obj), sandbox_template_name(obj))

_first_named(kind, ns, name) := found[0] if {
	found := [o |
		some o in k8s.objects_of_kind(kind)
		k8s.name(o) == name
		k8s.namespace(o) == ns
	]
	count(found) > 0
}

# SandboxClaims carry no pod spec: checks look at their SandboxTemplate (an agent
# workload in its own right) and report claims whose template is not in the input.
unresolved_claim_unknowns(what) := {{"msg": msg} |
	some claim in agent_workloads
	claim.kind == "SandboxClaim"
	not sandbox_template(claim)
	msg := sprintf(
		"%s: its SandboxTemplate (%s) is not in the input, so %s cannot be checked",
		[k8s.describe(claim), _template_label(claim), what],
	)
}

_template_label(claim) := sandbox_template_name(claim) if {
	sandbox_template_name(claim)
} else := "referenced through its warm pool"
