package kaic.accelerators.hardware_fault_detection_test

import rego.v1

import data.kaic.accelerators.hardware_fault_detection as check
import data.kaic.lib.testing

_npd(args) := {
	"apiVersion": "apps/v1",
	"kind": "DaemonSet",
	"metadata": {"name": "node-problem-detector", "namespace": "kube-system"},
	"spec": {"template": {"spec": {
		"containers": [{
			"name": "node-problem-detector",
			"image": "registry.k8s.io/node-problem-detector/node-problem-detector:v0.8.20",
			"command": ["/node-problem-detector", "--logtostderr"],
			"args": args,
			"volumeMounts": [{"name": "config", "mountPath": "/config", "readOnly": true}],
		}],
		"volumes": [{"name": "config", "configMap": {"name": "node-problem-detector-config"}}],
	}}},
}

_npd_config(data) := {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "node-problem-detector-config", "namespace": "kube-system"}, "data": data}

_gpu_rules := `{"source": "kernel-monitor", "conditions": [{"type": "GPUProblem", "reason": "GPUIsHealthy"}], "rules": [{"type": "permanent", "condition": "GPUProblem", "reason": "XidError", "pattern": "NVRM: Xid.*"}]}`

_kernel_rules := `{"source": "kernel-monitor", "conditions": [{"type": "KernelDeadlock"}], "rules": [{"type": "temporary", "reason": "OOMKilling", "pattern": "Killed process"}]}`

_node(conditions, taints, unschedulable) := {
	"apiVersion": "v1",
	"kind": "Node",
	"metadata": {"name": "gpu-node-1", "labels": {"nvidia.com/gpu.present": "true"}},
	"spec": {"taints": taints, "unschedulable": unschedulable},
	"status": {"conditions": array.concat([{"type": "Ready", "status": "True"}], conditions)},
}

_xid(status) := {"type": "SysLogsXIDError", "status": status, "reason": "SysLogsXIDErrorIsNotHealthy"}

_nvsentinel := {
	"apiVersion": "apps/v1",
	"kind": "DaemonSet",
	"metadata": {"name": "gpu-health-monitor-dcgm-4.x", "namespace": "nvsentinel"},
	"spec": {"template": {"spec": {"containers": [{"name": "m", "image": "ghcr.io/nvidia/nvsentinel/gpu-health-monitor:v0.4.0"}]}}},
}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_cases := {
	"NVSentinel": {
		"input": testing.manifests([_nvsentinel]),
		"want": {"deny": 0, "evidence": 1, "unknown": 0},
	},
	"NPD with GPU rules": {
		"input": testing.manifests([_npd(["--config.system-log-monitor=/config/gpu-monitor.json"]), _npd_config({"gpu-monitor.json": _gpu_rules})]),
		"want": {"deny": 0, "evidence": 1, "warn": 0},
	},
	"NPD without GPU rules": {
		"input": testing.manifests([_npd(["--config.system-log-monitor=/config/kernel-monitor.json"]), _npd_config({"kernel-monitor.json": _kernel_rules})]),
		"want": {"deny": 0, "evidence": 0, "warn": 1, "unknown": 0},
	},
	"NPD monitor file missing from its ConfigMap": {
		"input": testing.manifests([_npd(["--config.system-log-monitor=/config/kernel-monitor.json,/config/gpu-monitor.json"]), _npd_config({"kernel-monitor.json": _kernel_rules})]),
		"want": {"deny": 1, "evidence": 1},
	},
	"NPD ConfigMap not in the input is not judged": {
		"input": testing.manifests([_npd(["--config.custom-plugin-monitor=/config/gpu-plugin.json"])]),
		"want": {"deny": 0, "evidence": 1},
	},
	"faulty node isolated by a taint": {
		"input": testing.manifests([_node([_xid("True")], [{"key": "nvidia.com/gpu-xid-error", "effect": "NoSchedule"}], false)]),
		"want": {"deny": 0, "evidence": 2},
	},
	"faulty node cordoned": {
		"input": testing.manifests([_node([_xid("True")], [], true)]),
		"want": {"deny": 0, "evidence": 1},
	},
	"faulty node neither cordoned nor tainted": {
		"input": testing.manifests([_node([_xid("True")], [], false)]),
		"want": {"deny": 1, "evidence": 1},
	},
	"healthy node with GPU conditions": {
		"input": testing.manifests([_node([_xid("False")], [], false)]),
		"want": {"deny": 0, "evidence": 1},
	},
	"GPU Operator node-status-exporter": {
		"input": testing.manifests([{"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "cluster-policy"}, "spec": {"nodeStatusExporter": {"enabled": true}}}]),
		"want": {"deny": 0, "evidence": 1},
	},
	"XID alert rule": {
		"input": testing.manifests([{"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": {"name": "gpu", "namespace": "monitoring"}, "spec": {"groups": [{"name": "gpu", "rules": [{"alert": "GPUXid", "expr": "DCGM_FI_DEV_XID_ERRORS > 0"}]}]}}]),
		"want": {"deny": 0, "evidence": 1},
	},
	"DeviceTaintRule": {
		"input": testing.manifests([{"apiVersion": "resource.k8s.io/v1beta2", "kind": "DeviceTaintRule", "metadata": {"name": "gpu-7"}, "spec": {"taint": {"key": "gpu.nvidia.com/xid", "effect": "NoSchedule"}}}]),
		"want": {"deny": 0, "evidence": 1},
	},
	"empty bundle": {
		"input": testing.manifests([]),
		"want": {"deny": 0, "evidence": 0, "unknown": 0},
	},
	"empty live cluster": {
		"input": testing.cluster([], [], []),
		"want": {"deny": 0, "evidence": 0, "unknown": 0},
	},
	"unreadable nodes": {
		"input": testing.cluster([], [], [["", "nodes"]]),
		"want": {"deny": 0, "unknown": 1},
	},
	"odd types": {
		"input": testing.manifests([
			{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "spec": 5, "status": {"conditions": "x"}},
			{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "m"}, "spec": {"taints": [5, {"key": 3}]}, "status": {"conditions": [5, {"type": 3}]}},
			{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "npd"}, "spec": {"template": {"spec": {"containers": [{"image": "node-problem-detector", "args": [5, "--config.system-log-monitor="], "volumeMounts": "x"}], "volumes": 4}}}},
		]),
		"want": {"deny": 0},
	},
}

failures contains msg if {
	some name, tc in _cases
	got := _results(tc.input)
	some msg in testing.count_mismatches(name, got, tc.want)
}

failures contains msg if {
	some name, tc in _cases
	not _results(tc.input)
	msg := sprintf("%s: the check could not be evaluated", [name])
}

test_cases if count(failures) == 0

test_unisolated_fault_points_at_the_condition if {
	denies := check.deny with input as testing.manifests([_node([_xid("True")], [], false)])
	[d.field | some d in denies] == ["status.conditions[1]"]
}

test_missing_monitor_points_at_the_argument if {
	denies := check.deny with input as testing.manifests([_npd(["--config.system-log-monitor=/config/gpu-monitor.json"]), _npd_config({"kernel-monitor.json": _kernel_rules})])
	[d.field | some d in denies] == ["spec.template.spec.containers[0].args[0]"]
}

test_conftest_combine_input if {
	got := _results(testing.combined([_node([_xid("True")], [], false)]))
	count(got.deny) == 1
}
