# METADATA
# title: Automated accelerator fault detection and node isolation
# description: >-
#   The platform detects accelerator hardware faults (XID errors, GPUs falling off the bus,
#   NVLink and memory errors) and marks and isolates the affected nodes: NVIDIA NVSentinel,
#   node-problem-detector with GPU/XID rules, the GPU Operator's node-status-exporter,
#   alerting on DCGM XID errors, GPU health conditions and taints on Nodes, and DRA device
#   taints (DeviceTaintRule, ResourceSlice device taints). A Node that reports a GPU fault but
#   is neither cordoned nor tainted keeps receiving work; a node-problem-detector monitor file
#   missing from its ConfigMap stops the detector.
# custom:
#   id: hardware-fault-detection
#   requirements:
#     whitepaper: [HW-1.3]
#   severity: medium
#   scope: platform
#   inputs:
#     - {group: "", resource: nodes}
#     - {group: "", resource: configmaps}
#     - {group: apps, resource: daemonsets}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: nvidia.com, resource: clusterpolicies}
#     - {group: monitoring.coreos.com, resource: prometheusrules}
#     - {group: resource.k8s.io, resource: devicetaintrules}
#     - {group: resource.k8s.io, resource: resourceslices}
#   remediation: |-
#     Deploy a GPU health monitor that marks faulty nodes, such as NVIDIA NVSentinel, or
#     node-problem-detector with a custom plugin that watches for `NVRM: Xid` kernel messages,
#     and taint or cordon nodes whose GPU condition turns True:
#
#     ```yaml
#     apiVersion: v1
#     kind: ConfigMap
#     metadata:
#       name: node-problem-detector-config
#       namespace: kube-system
#     data:
#       gpu-monitor.json: |
#         {"plugin": "kmsg", "logPath": "/dev/kmsg", "lookback": "10m", "bufferSize": 10,
#          "source": "gpu-monitor",
#          "conditions": [{"type": "GPUProblem", "reason": "GPUIsHealthy", "message": "no Xid"}],
#          "rules": [{"type": "permanent", "condition": "GPUProblem", "reason": "XidError",
#                     "pattern": "NVRM: Xid.*"}]}
#     # node-problem-detector flag: --config.system-log-monitor=/config/gpu-monitor.json
#     ```
#   docs:
#     - https://github.com/NVIDIA/NVSentinel
#     - https://github.com/kubernetes/node-problem-detector
#     - https://kubernetes.io/docs/concepts/scheduling-eviction/dynamic-resource-allocation/#device-taints-and-tolerations
package kaic.accelerators.hardware_fault_detection

import rego.v1

import data.kaic.lib.accelerators as acc
import data.kaic.lib.k8s
import data.kaic.lib.pods

# ---------------------------------------------------------------------------
# Health monitors
# ---------------------------------------------------------------------------

_health := acc.components_with_role("health")

_npd := [c | some c in _health; c.product == "node-problem-detector"]

evidence contains {"msg": msg, "ref": k8s.ref(c.object)} if {
	some c in _health
	c.product != "node-problem-detector"
	msg := sprintf("%s runs %s (%s), which detects accelerator faults", [k8s.describe(c.object), c.product, c.image])
}

evidence contains {"msg": msg, "ref": k8s.ref(c.object)} if {
	some c in _npd
	_npd_has_gpu_rules(c.object)
	msg := sprintf("%s runs node-problem-detector with GPU/XID fault rules", [k8s.describe(c.object)])
}

warn contains {"msg": msg, "ref": k8s.ref(c.object), "field": "spec.template.spec.containers"} if {
	some c in _npd
	not _npd_has_gpu_rules(c.object)
	msg := sprintf("%s runs node-problem-detector, but none of its monitor configurations in the input watches for GPU faults (NVRM Xid messages, GPU health)", [k8s.describe(c.object)])
}

_gpu_words := ["xid", "nvrm", "gpu", "nvidia", "dcgm", "nvlink"]

_mentions_gpu(text) if {
	lowered := lower(text)
	some word in _gpu_words
	contains(lowered, word)
}

# GPU rules: a mounted ConfigMap mentions GPU faults, or a monitor flag names a GPU config.
_npd_has_gpu_rules(obj) if {
	some cm in _mounted_configmaps(obj)
	_mentions_gpu(acc.configmap_text(cm))
}

_npd_has_gpu_rules(obj) if {
	some f in _monitor_files(obj)
	_mentions_gpu(f.file)
}

_mounted_configmaps(obj) := [cm |
	some p in pods.pod_specs(obj)
	some v in k8s.array_at(p.spec, "volumes")
	name := k8s.string_at(v, ["configMap", "name"])
	cm := acc.configmap(k8s.namespace(obj), name)
]

# node-problem-detector monitor flags and the files they name:
# [{"file", "field", "container"}].
_monitor_flags := ["--config.system-log-monitor=", "--config.custom-plugin-monitor=", "--config.system-stats-monitor="]

_monitor_files(obj) := [{"file": file, "field": sprintf("%s.%s[%d]", [c.path, key, i]), "container": c} |
	some c in pods.containers(obj)
	some key in ["command", "args"]
	some i, arg in k8s.array_at(c.container, key)
	is_string(arg)
	some flag in _monitor_flags
	startswith(arg, flag)
	some file in split(substring(arg, count(flag), -1), ",")
	file != ""
]

# A monitor file under a ConfigMap mount whose ConfigMap is in the input but has no such
# key: node-problem-detector exits on start.
deny contains {"msg": msg, "ref": k8s.ref(c.object), "field": f.field} if {
	some c in _npd
	some f in _monitor_files(c.object)
	some m in k8s.array_at(f.container.container, "volumeMounts")
	mount_path := trim_suffix(k8s.string_at(m, "mountPath"), "/")
	mount_path != ""
	startswith(f.file, concat("", [mount_path, "/"]))
	key := substring(f.file, count(mount_path) + 1, -1)
	not contains(key, "/")
	some p in pods.pod_specs(c.object)
	some v in k8s.array_at(p.spec, "volumes")
	v.name == m.name
	cm_name := k8s.string_at(v, ["configMap", "name"])
	count(k8s.array_at(k8s.object_at(v, "configMap"), "items")) == 0
	cm := acc.configmap(k8s.namespace(c.object), cm_name)
	not _has_key(k8s.object_at(cm, "data"), key)
	msg := sprintf(
		"%s: node-problem-detector is given monitor %s, but ConfigMap %s has no key %q: the detector fails to start and no hardware faults are reported",
		[k8s.describe(c.object), f.file, cm_name, key],
	)
}

_has_key(obj, key) if _ = obj[key]

# GPU Operator: node-status-exporter reports GPU node health; DCGM runs health checks.
evidence contains {"msg": msg, "ref": k8s.ref(cp)} if {
	some cp in acc.cluster_policies
	acc.enabled(cp, "nodeStatusExporter")
	msg := sprintf("%s enables the GPU Operator node-status-exporter (GPU node health)", [k8s.describe(cp)])
}

# Alerting on DCGM XID errors.
evidence contains {"msg": msg, "ref": k8s.ref(rule)} if {
	some rule in k8s.objects_of_kind("PrometheusRule")
	k8s.group(rule) == "monitoring.coreos.com"
	some g in k8s.array_at(rule, ["spec", "groups"])
	some r in k8s.array_at(g, "rules")
	expr := k8s.as_string(r.expr)
	some metric in ["DCGM_FI_DEV_XID_ERRORS", "DCGM_FI_DEV_ROW_REMAP_FAILURE", "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL"]
	contains(expr, metric)
	msg := sprintf("%s alerts on %s", [k8s.describe(rule), metric])
}

# ---------------------------------------------------------------------------
# Nodes and DRA device taints
# ---------------------------------------------------------------------------

# NVSentinel's node conditions; other monitors are recognised by GPU words in the type.
_nvsentinel_conditions := {
	"GpuMemWatch", "GpuThermalWatch", "GpuPcieWatch", "GpuPowerWatch", "GpuInforomWatch",
	"GpuSmWatch", "GpuNvlinkWatch", "GpuMcuWatch", "GpuPmuWatch", "GpuDriverWatch",
	"GpuCpusetWatch", "SysLogsXIDError", "SysLogsSXIDError", "SysLogsGPUFallenOff",
	"NVSwitchFatalError", "NVSwitchDown", "DCGMError",
}

_gpu_condition(c) if c.type in _nvsentinel_conditions

_gpu_condition(c) if {
	is_string(c.type)
	regex.match(`(gpu|xid|nvlink|nvswitch|dcgm|accelerator)`, lower(c.type))
}

_gpu_conditions(node) := [{"c": c, "i": i} |
	some i, c in k8s.array_at(node, ["status", "conditions"])
	is_object(c)
	_gpu_condition(c)
]

_health_taint_keys := {"nvidia.com/gpu-xid-error", "nvidia.com/gpu-nvlink-error", "nvidia.com/syslog-xid-error", "nvidia.com/gpu-error"}

_health_taint(t) if t.key in _health_taint_keys

_health_taint(t) if {
	is_string(t.key)
	regex.match(`(gpu|xid|nvlink|accelerator).*(error|unhealthy|fault|fail)`, lower(t.key))
}

evidence contains {"msg": msg, "ref": k8s.ref(node)} if {
	some node in k8s.objects_of_kind("Node")
	conds := _gpu_conditions(node)
	count(conds) > 0
	msg := sprintf("%s reports GPU health conditions (%s)", [k8s.describe(node), concat(", ", sort({x.c.type | some x in conds}))])
}

evidence contains {"msg": msg, "ref": k8s.ref(node)} if {
	some node in k8s.objects_of_kind("Node")
	keys := {t.key | some t in k8s.array_at(node, ["spec", "taints"]); _health_taint(t)}
	count(keys) > 0
	msg := sprintf("%s is isolated by GPU health taint(s) %s", [k8s.describe(node), concat(", ", sort(keys))])
}

deny contains {"msg": msg, "ref": k8s.ref(node), "field": sprintf("status.conditions[%d]", [x.i])} if {
	some node in k8s.objects_of_kind("Node")
	some x in _gpu_conditions(node)
	x.c.status == "True"
	not _isolated(node)
	msg := sprintf(
		"%s reports GPU fault %s=True (%s) but is neither cordoned nor tainted NoSchedule/NoExecute: new workloads keep landing on the faulty accelerator",
		[k8s.describe(node), x.c.type, k8s.as_string(object.get(x.c, "reason", ""))],
	)
}

_isolated(node) if k8s.object_at(node, "spec").unschedulable == true

_isolated(node) if {
	some t in k8s.array_at(node, ["spec", "taints"])
	t.effect in {"NoSchedule", "NoExecute"}
}

evidence contains {"msg": msg, "ref": k8s.ref(r)} if {
	some r in acc.dra_objects("DeviceTaintRule")
	msg := sprintf("%s taints DRA devices (%s)", [k8s.describe(r), k8s.string_at(r, ["spec", "taint", "key"])])
}

evidence contains {"msg": msg, "ref": k8s.ref(s)} if {
	some s in acc.dra_objects("ResourceSlice")
	tainted := [d | some d in acc.slice_devices(s); count(k8s.array_at(d, "taints")) > 0]
	count(tainted) > 0
	msg := sprintf("%s marks %d device(s) with DRA device taints", [k8s.describe(s), count(tainted)])
}

# ---------------------------------------------------------------------------
# What the input cannot tell
# ---------------------------------------------------------------------------

# A bundle that shows no such capability is "No" (DESIGN: platform facts come only from the
# objects in the bundle), like every other platform check; a live scan decides for the cluster.

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["", "nodes"],
		["", "configmaps"],
		["apps", "daemonsets"],
	])
}
