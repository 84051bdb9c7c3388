package kaic.scheduling.cluster_autoscaling_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.scheduling.cluster_autoscaling as check

_ca(args) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "cluster-autoscaler", "namespace": "kube-system"},
	"spec": {"template": {"spec": {"containers": [{"name": "cluster-autoscaler", "image": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.34.0", "command": array.concat(["./cluster-autoscaler"], args)}]}}},
}

_status(text) := {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-autoscaler-status", "namespace": "kube-system"}, "data": {"status": text}}

_node_pool(requirements, node_class) := {
	"apiVersion": "karpenter.sh/v1",
	"kind": "NodePool",
	"metadata": {"name": "gpu"},
	"spec": {"template": {"spec": {"nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": node_class}, "requirements": requirements}}},
}

_node_class := {"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass", "metadata": {"name": "gpu"}, "spec": {"amiSelectorTerms": [{"alias": "al2023@latest"}]}}

_gpu_req := [{"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["p5", "g6e"]}]

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"Cluster Autoscaler with auto-discovery": {
		"objects": [_ca(["--cloud-provider=aws", "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled"])],
		"want": {"deny": 0, "evidence": 1},
	},
	"Cluster Autoscaler without node groups": {
		"objects": [_ca(["--cloud-provider=aws"])],
		"want": {"deny": 1, "evidence": 0},
	},
	"status ConfigMap healthy": {
		"objects": [_status("Cluster-autoscaler status at 2026-01-01 10:00:00\nCluster-wide:\n  Health:      Healthy (ready=4 unready=0)\n")],
		"want": {"deny": 0, "evidence": 1},
	},
	"status ConfigMap unhealthy": {
		"objects": [_status("autoscalerStatus: Running\nclusterWide:\n  health:\n    status: Unhealthy\n")],
		"want": {"deny": 1, "evidence": 0},
	},
	"GPU NodePool with its NodeClass": {
		"objects": [_node_pool(_gpu_req, "gpu"), _node_class],
		"want": {"deny": 0, "evidence": 1},
	},
	"NodePool with a missing NodeClass": {
		"objects": [_node_pool(_gpu_req, "gpu-al2023"), _node_class],
		"want": {"deny": 1, "evidence": 0},
	},
	"NodeClasses not in the bundle": {
		"objects": [_node_pool(_gpu_req, "gpu-al2023")],
		"want": {"deny": 0, "evidence": 1},
	},
	"bare bundle": {
		"objects": [],
		"want": {"deny": 0, "evidence": 0, "unknown": 0},
	},
}

failures contains msg if {
	some name, tc in _cases
	got := _results(testing.manifests(tc.objects))
	some msg in testing.count_mismatches(name, got, tc.want)
}

test_cases if count(failures) == 0

test_gpu_pool_is_named_in_the_message if {
	evidence := check.evidence with input as testing.manifests([_node_pool(_gpu_req, "gpu")])
	[e.msg | some e in evidence] == ["Karpenter NodePool gpu provisions accelerator (GPU) nodes on demand"]
}

test_cpu_pool_is_named_in_the_message if {
	evidence := check.evidence with input as testing.manifests([_node_pool([{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}], "gpu")])
	[e.msg | some e in evidence] == ["Karpenter NodePool gpu provisions general-purpose (no GPU requirement) nodes on demand"]
}

test_managed_node_groups_are_unknown_in_a_live_scan if {
	node := {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"eks.amazonaws.com/nodegroup": "gpu-ng"}}}
	got := _results(testing.cluster([node], [], []))
	count(got.unknown) == 1
	count(got.evidence) == 0
}

test_unreadable_configmaps_are_unknown if {
	got := _results(testing.cluster([], [], [["", "configmaps"]]))
	count(got.unknown) == 1
}

test_odd_types_do_not_break if {
	odd := [{"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "x"}, "spec": {"template": 3}}, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-autoscaler-status"}, "data": [1]}]
	got := _results(testing.manifests(odd))
	count(got.deny) == 0
}

test_conftest_combine_input if {
	got := _results(testing.combined([_ca(["--cloud-provider=aws"])]))
	count(got.deny) == 1
}
