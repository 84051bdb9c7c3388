# METADATA
# title: Cluster autoscaling of accelerator nodes
# description: >-
#   The platform adds and removes (accelerator) nodes on demand: the Kubernetes Cluster
#   Autoscaler (its Deployment, or the `kube-system/cluster-autoscaler-status` ConfigMap
#   it writes), Karpenter (karpenter.sh NodePools, ideally with GPU instance requirements),
#   or ProvisioningRequests (autoscaling.x-k8s.io). A Cluster Autoscaler that manages no
#   node group, reports itself unhealthy or is not available, and a NodePool whose
#   NodeClass does not exist are violations. Nodes of cloud-managed node groups whose
#   autoscaling is configured outside the Kubernetes API give an Unknown.
# custom:
#   id: cluster-autoscaling
#   requirements:
#     whitepaper: []
#     cncf: [cluster_autoscaling]
#   severity: high
#   scope: platform
#   inputs:
#     - {group: apiextensions.k8s.io, resource: customresourcedefinitions}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: "", resource: configmaps, namespace: kube-system, name: cluster-autoscaler-status}
#     - {group: karpenter.sh, resource: nodepools}
#     - {group: karpenter.sh, resource: nodeclaims}
#     - {group: karpenter.k8s.aws, resource: ec2nodeclasses}
#     - {group: karpenter.azure.com, resource: aksnodeclasses}
#     - {group: autoscaling.x-k8s.io, resource: provisioningrequests}
#     - {group: "", resource: nodes}
#   remediation: |-
#     Run the Cluster Autoscaler with the accelerator node groups it may scale, or
#     Karpenter with a NodePool for GPU instances:
#
#     ```yaml
#     apiVersion: karpenter.sh/v1
#     kind: NodePool
#     metadata:
#       name: gpu
#     spec:
#       template:
#         spec:
#           nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: gpu}
#           requirements:
#             - {key: karpenter.k8s.aws/instance-family, operator: In, values: [p5, g6e]}
#           taints:
#             - {key: nvidia.com/gpu, effect: NoSchedule}
#       limits:
#         nvidia.com/gpu: 64
#     ```
#   docs:
#     - https://github.com/kubernetes/autoscaler/tree/master/cluster-autoscaler
#     - https://karpenter.sh/docs/concepts/nodepools/
#     - https://github.com/cncf/k8s-ai-conformance
package kaic.scheduling.cluster_autoscaling

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.platform
import data.kaic.lib.pods

_karpenter := "karpenter.sh"

_autoscalers := [d | some d in platform.controllers(["cluster-autoscaler"])]

_karpenter_controllers := [d | some d in platform.controllers(["karpenter"])]

_status_configmaps := [cm |
	some cm in k8s.objects_of_kind("ConfigMap")
	k8s.name(cm) == "cluster-autoscaler-status"
]

_node_pools := platform.of_kind(_karpenter, "NodePool")

# GPU instance families (AWS, GCP machine series, Azure N-series prefixes) and
# requirement keys that select accelerators.
_gpu_families := {"p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "g4dn", "g4ad", "g5", "g5g", "g6", "g6e", "gr6", "trn1", "trn1n", "trn2", "inf2", "a2", "a3", "a4", "g2"}

_gpu_requirement(req) if contains(k8s.string_at(req, "key"), "gpu")

_gpu_requirement(req) if contains(k8s.string_at(req, "key"), "accelerator")

_gpu_requirement(req) if {
	k8s.string_at(req, "key") in {"karpenter.k8s.aws/instance-family", "node.kubernetes.io/instance-type", "karpenter.azure.com/sku-family"}
	k8s.string_at(req, "operator") == "In"
	some v in k8s.array_at(req, "values")
	_gpu_value(v)
}

_gpu_value(v) if {
	is_string(v)
	family := split(v, ".")[0]
	family in _gpu_families
}

_gpu_value(v) if {
	is_string(v)
	some prefix in ["a2-", "a3-", "a4-", "g2-", "Standard_N"]
	startswith(v, prefix)
}

_node_pool_template(np) := k8s.object_at(k8s.object_at(k8s.object_at(np, "spec"), "template"), "spec")

_gpu_pool(np) if {
	some req in k8s.array_at(_node_pool_template(np), "requirements")
	_gpu_requirement(req)
}

_gpu_pool(np) if {
	some t in k8s.array_at(_node_pool_template(np), "taints")
	contains(k8s.string_at(t, "key"), "gpu")
}

_gpu_pool(np) if {
	some name, _ in k8s.object_at(k8s.object_at(np, "spec"), "limits")
	contains(name, "gpu")
}

# ---------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------

evidence contains {"msg": msg, "ref": k8s.ref(d)} if {
	some d in _autoscalers
	platform.rollout_state(d) != "unavailable"
	not _manages_nothing(d)
	msg := sprintf("Cluster Autoscaler %s is %s%s", [k8s.describe(d), platform.rollout_note(d), _node_groups_note(d)])
}

evidence contains {"msg": msg, "ref": k8s.ref(cm)} if {
	some cm in _status_configmaps
	not _unhealthy(cm)
	msg := sprintf("%s shows a running Cluster Autoscaler", [k8s.describe(cm)])
}

evidence contains {"msg": msg, "ref": platform.crd_ref(_karpenter, "nodepools")} if {
	platform.kind_defined(_karpenter, "NodePool")
	msg := "Karpenter's NodePool API (nodepools.karpenter.sh) is installed"
}

evidence contains {"msg": msg, "ref": k8s.ref(d)} if {
	some d in _karpenter_controllers
	platform.rollout_state(d) != "unavailable"
	msg := sprintf("Karpenter controller %s is %s", [k8s.describe(d), platform.rollout_note(d)])
}

evidence contains {"msg": msg, "ref": k8s.ref(np)} if {
	some np in _node_pools
	not _dangling_node_class(np)
	msg := sprintf("Karpenter %s provisions %s nodes on demand", [k8s.describe(np), _pool_kind(np)])
}

_pool_kind(np) := "accelerator (GPU)" if _gpu_pool(np) else := "general-purpose (no GPU requirement)"

evidence contains {"msg": msg, "ref": platform.crd_ref("autoscaling.x-k8s.io", "provisioningrequests")} if {
	platform.kind_defined("autoscaling.x-k8s.io", "ProvisioningRequest")
	msg := "ProvisioningRequests (autoscaling.x-k8s.io) let batch workloads request capacity from the autoscaler"
}

# ---------------------------------------------------------------------------
# Violations
# ---------------------------------------------------------------------------

_args(d) := [a |
	some c in pods.containers(d)
	some field in ["command", "args"]
	some a in k8s.array_at(c.container, field)
	is_string(a)
]

_node_groups_note(d) := sprintf(" (%d node group flag(s))", [count(_node_group_flags(d))]) if {
	count(_node_group_flags(d)) > 0
} else := ""

_node_group_flags(d) := [a |
	some a in _args(d)
	some flag in ["--nodes", "--node-group-auto-discovery"]
	startswith(a, flag)
]

# Providers that scale only the node groups named by --nodes or discovered by tag.
_manages_nothing(d) if {
	some a in _args(d)
	a in {"--cloud-provider=aws", "--cloud-provider=gce", "--cloud-provider=azure"}
	count(_node_group_flags(d)) == 0
}

deny contains {"msg": msg, "ref": k8s.ref(d), "field": "spec.template.spec.containers"} if {
	some d in _autoscalers
	_manages_nothing(d)
	msg := sprintf("Cluster Autoscaler %s has neither --nodes nor --node-group-auto-discovery: it manages no node group and never scales", [k8s.describe(d)])
}

deny contains {"msg": msg, "ref": k8s.ref(d), "field": "status.conditions"} if {
	some d in array.concat(_autoscalers, _karpenter_controllers)
	platform.rollout_state(d) == "unavailable"
	msg := sprintf("Autoscaler %s is not available; pending pods do not get new nodes", [k8s.describe(d)])
}

_unhealthy(cm) if {
	text := k8s.string_at(k8s.object_at(cm, "data"), "status")
	regex.match(`(health:\s*unhealthy|status:\s*unhealthy)`, lower(text))
}

deny contains {"msg": msg, "ref": k8s.ref(cm), "field": "data.status"} if {
	some cm in _status_configmaps
	_unhealthy(cm)
	msg := sprintf("%s reports the Cluster Autoscaler as Unhealthy; it stops scaling up", [k8s.describe(cm)])
}

_node_class_ref(np) := k8s.object_at(_node_pool_template(np), "nodeClassRef")

_dangling_node_class(np) if {
	ref := _node_class_ref(np)
	kind := k8s.string_at(ref, "kind")
	kind != ""
	group := k8s.string_at(ref, "group")
	platform.complete(group, _plural(kind), kind)
	not _node_class_exists(group, kind, k8s.string_at(ref, "name"))
}

_plural(kind) := sprintf("%ss", [lower(kind)]) if not endswith(kind, "s") else := sprintf("%ses", [lower(kind)])

_node_class_exists(group, kind, name) if {
	some nc in platform.of_kind(group, kind)
	k8s.name(nc) == name
}

deny contains {"msg": msg, "ref": k8s.ref(np), "field": "spec.template.spec.nodeClassRef"} if {
	some np in _node_pools
	_dangling_node_class(np)
	ref := _node_class_ref(np)
	msg := sprintf("%s refers to %s %s, which does not exist; Karpenter cannot launch nodes for it", [k8s.describe(np), ref.kind, k8s.string_at(ref, "name")])
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

_managed_group_labels := {"eks.amazonaws.com/nodegroup", "cloud.google.com/gke-nodepool", "kubernetes.azure.com/agentpool", "alpha.eksctl.io/nodegroup-name"}

_platform_evidence if count(_autoscalers) > 0

_platform_evidence if count(_status_configmaps) > 0

_platform_evidence if count(_node_pools) > 0

_platform_evidence if platform.kind_defined(_karpenter, "NodePool")

unknown contains {"msg": msg} if {
	not _platform_evidence
	groups := {sprintf("%s=%s", [k, v]) |
		some n in k8s.objects_of_kind("Node")
		some k, v in k8s.labels(n)
		k in _managed_group_labels
	}
	count(groups) > 0
	msg := sprintf("Nodes belong to cloud-managed node groups (%s); whether their autoscaling is enabled is set in the cloud provider and cannot be read from the Kubernetes API", [concat(", ", sort(groups))])
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["apiextensions.k8s.io", "customresourcedefinitions"],
		["apps", "deployments"],
		["", "configmaps"],
		[_karpenter, "nodepools"],
	])
}
