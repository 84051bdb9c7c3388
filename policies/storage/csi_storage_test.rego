package kaic.storage.csi_storage_test

import rego.v1

import data.kaic.lib.testing
import data.kaic.storage.csi_storage as check

_driver(name, modes) := {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": name}, "spec": object.union({"attachRequired": true}, {"volumeLifecycleModes": modes | count(modes) > 0})}

_sc(name, provisioner, is_default) := {
	"apiVersion": "storage.k8s.io/v1",
	"kind": "StorageClass",
	"metadata": object.union({"name": name}, {"annotations": {"storageclass.kubernetes.io/is-default-class": "true"} | is_default}),
	"provisioner": provisioner,
	"volumeBindingMode": "WaitForFirstConsumer",
}

_vsc := {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass", "metadata": {"name": "ebs-snapshots"}, "driver": "ebs.csi.aws.com", "deletionPolicy": "Delete"}

_csinode(drivers) := {"apiVersion": "storage.k8s.io/v1", "kind": "CSINode", "metadata": {"name": "node-1"}, "spec": {"drivers": [{"name": d, "nodeID": "i-0abc"} | some d in drivers]}}

_pvc(cls) := {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "models", "namespace": "ml"}, "spec": {"storageClassName": cls, "accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "500Gi"}}}}

_server := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "vllm", "namespace": "ml", "labels": {"kaic.dev/workload": "inference"}},
	"spec": {"template": {"spec": {
		"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.11.0"}],
		"volumes": [{"name": "models", "persistentVolumeClaim": {"claimName": "models"}}],
	}}},
}

_sts(cls) := {
	"apiVersion": "apps/v1",
	"kind": "StatefulSet",
	"metadata": {"name": "trainer", "namespace": "ml", "labels": {"kaic.dev/workload": "training"}},
	"spec": {
		"template": {"spec": {"containers": [{"name": "t", "image": "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"}]}},
		"volumeClaimTemplates": [{"metadata": {"name": "ckpt"}, "spec": {"storageClassName": cls, "accessModes": ["ReadWriteOnce"]}}],
	},
}

_results(inp) := testing.results(pkg) if {
	pkg := check with input as inp
}

_live_storage := [["storage.k8s.io", "storageclasses"], ["storage.k8s.io", "csidrivers"], ["storage.k8s.io", "csinodes"]]

_cases := {
	"CSI driver, default CSI class and snapshot class": {
		"input": testing.manifests([_driver("ebs.csi.aws.com", []), _sc("gp3", "ebs.csi.aws.com", true), _vsc]),
		"want": {"deny": 0, "evidence": 3, "warn": 0, "unknown": 0},
	},
	"StorageClass named like a CSI driver, driver not in the bundle": {
		"input": testing.manifests([_sc("standard-rwo", "pd.csi.storage.gke.io", true)]),
		"want": {"deny": 0, "evidence": 1},
	},
	"ephemeral-only CSI driver is not storage": {
		"input": testing.manifests([_driver("csi.spiffe.io", ["Ephemeral"])]),
		"want": {"deny": 0, "evidence": 0},
	},
	"default class with an in-tree provisioner": {
		"input": testing.manifests([_sc("gp2", "kubernetes.io/aws-ebs", true)]),
		"want": {"deny": 1, "evidence": 0},
	},
	"in-tree class that is not the default is tolerated": {
		"input": testing.manifests([_sc("gp2", "kubernetes.io/aws-ebs", false), _sc("gp3", "ebs.csi.aws.com", true)]),
		"want": {"deny": 0, "evidence": 1},
	},
	"two default classes": {
		"input": testing.manifests([_sc("gp3", "ebs.csi.aws.com", true), _sc("efs", "efs.csi.aws.com", true)]),
		"want": {"deny": 2, "evidence": 2},
	},
	"default class with a non-CSI external provisioner": {
		"input": testing.manifests([_sc("local-path", "rancher.io/local-path", true)]),
		"want": {"deny": 0, "evidence": 0, "warn": 1},
	},
	"live: CSI class without its driver": {
		"input": testing.cluster([_sc("gp3", "ebs.csi.aws.com", true), _csinode([])], _live_storage, []),
		"want": {"deny": 1, "evidence": 1},
	},
	"live: CSI driver registered on a node but without a CSIDriver object": {
		"input": testing.cluster([_sc("gp3", "ebs.csi.aws.com", true), _csinode(["ebs.csi.aws.com"])], _live_storage, []),
		"want": {"deny": 0, "evidence": 1},
	},
	"live: AI workload claims a StorageClass that does not exist": {
		"input": testing.cluster([_driver("ebs.csi.aws.com", []), _sc("gp3", "ebs.csi.aws.com", true), _server, _pvc("fast-nvme")], _live_storage, []),
		"want": {"deny": 1, "evidence": 2},
	},
	"live: AI workload claims an existing StorageClass": {
		"input": testing.cluster([_driver("ebs.csi.aws.com", []), _sc("gp3", "ebs.csi.aws.com", true), _server, _pvc("gp3")], _live_storage, []),
		"want": {"deny": 0, "evidence": 2},
	},
	"live: StatefulSet volumeClaimTemplate names a missing class": {
		"input": testing.cluster([_sc("gp3", "ebs.csi.aws.com", true), _csinode(["ebs.csi.aws.com"]), _sts("nvme")], _live_storage, []),
		"want": {"deny": 1},
	},
	"manifests: a missing class is not judged offline": {
		"input": testing.manifests([_sc("gp3", "ebs.csi.aws.com", true), _server, _pvc("fast-nvme"), _sts("nvme")]),
		"want": {"deny": 0},
	},
	"live: no default class": {
		"input": testing.cluster([_driver("ebs.csi.aws.com", []), _sc("gp3", "ebs.csi.aws.com", false)], _live_storage, []),
		"want": {"deny": 0, "evidence": 2, "warn": 1},
	},
	"live: StorageClasses unreadable": {
		"input": testing.cluster([], [], [["storage.k8s.io", "storageclasses"]]),
		"want": {"deny": 0, "evidence": 0, "unknown": 1},
	},
	"empty bundle": {
		"input": testing.manifests([]),
		"want": {"deny": 0, "evidence": 0, "warn": 0, "unknown": 0},
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

test_in_tree_default_points_at_the_provisioner if {
	denies := check.deny with input as testing.manifests([_sc("gp2", "kubernetes.io/aws-ebs", true)])
	[d.field | some d in denies] == ["provisioner"]
}

test_two_defaults_point_at_the_annotation if {
	denies := check.deny with input as testing.manifests([_sc("gp3", "ebs.csi.aws.com", true), _sc("efs", "efs.csi.aws.com", true)])
	{d.field | some d in denies} == {`metadata.annotations["storageclass.kubernetes.io/is-default-class"]`}
}

test_missing_class_points_at_the_claim if {
	denies := check.deny with input as testing.cluster([_sc("gp3", "ebs.csi.aws.com", true), _csinode(["ebs.csi.aws.com"]), _server, _pvc("nvme")], _live_storage, [])
	some d in denies
	d.ref.kind == "PersistentVolumeClaim"
	d.field == "spec.storageClassName"
	contains(d.msg, "Deployment ml/vllm (inference)")
}

test_csi_names if {
	check.csi_name("ebs.csi.aws.com")
	check.csi_name("csi.vsphere.vmware.com")
	check.csi_name("driver.longhorn.io")
	not check.csi_name("rancher.io/local-path")
	not check.csi_name("kubernetes.io/gce-pd")
}

test_conftest_combine_input if {
	got := _results(testing.combined([_sc("gp2", "kubernetes.io/aws-ebs", true)]))
	count(got.deny) == 1
}

test_malformed_objects_do_not_break_the_check if {
	odd := [
		{"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": null, "provisioner": 5},
		{"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "x", "annotations": "y"}},
		{"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": "d"}, "spec": {"volumeLifecycleModes": "Persistent"}},
		{"apiVersion": "storage.k8s.io/v1", "kind": "CSINode", "metadata": {"name": "n"}, "spec": {"drivers": "x"}},
		{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s", "labels": {"kaic.dev/workload": "training"}}, "spec": {"template": {"spec": {"volumes": [3]}}, "volumeClaimTemplates": "z"}},
	]
	got := _results(testing.cluster(odd, _live_storage, []))
	count(got.deny) == 0
}
