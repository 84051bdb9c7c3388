# METADATA
# title: CSI storage for AI workloads
# description: >-
#   Persistent storage (model weights, datasets, checkpoints) is provisioned through Container
#   Storage Interface drivers: CSIDriver objects, StorageClasses whose provisioner is a CSI
#   driver, exactly one default StorageClass and it CSI-backed, optionally VolumeSnapshotClasses;
#   the StorageClasses that AI workloads' claims name exist.
# custom:
#   id: csi-storage
#   requirements:
#     whitepaper: [STO-4.1]
#   severity: medium
#   scope: platform
#   inputs:
#     - {group: storage.k8s.io, resource: csidrivers}
#     - {group: storage.k8s.io, resource: csinodes}
#     - {group: storage.k8s.io, resource: storageclasses}
#     - {group: snapshot.storage.k8s.io, resource: volumesnapshotclasses}
#     - {group: "", resource: persistentvolumeclaims}
#     - {group: "", resource: pods}
#     - {group: "", resource: podtemplates}
#     - {group: apps, resource: deployments}
#     - {group: apps, resource: statefulsets}
#     - {group: apps, resource: daemonsets}
#     - {group: apps, resource: replicasets}
#     - {group: batch, resource: jobs}
#     - {group: batch, resource: cronjobs}
#     - {group: jobset.x-k8s.io, resource: jobsets}
#     - {group: leaderworkerset.x-k8s.io, resource: leaderworkersets}
#     - {group: ray.io, resource: rayclusters}
#     - {group: ray.io, resource: rayjobs}
#     - {group: ray.io, resource: rayservices}
#     - {group: serving.kserve.io, resource: inferenceservices}
#     - {group: serving.kserve.io, resource: llminferenceservices}
#   remediation: >-
#     Install the CSI driver of your storage backend, make one CSI-backed StorageClass the
#     default (and only that one), and add a VolumeSnapshotClass for checkpoints:
#
#     ```yaml
#     apiVersion: storage.k8s.io/v1
#     kind: StorageClass
#     metadata:
#       name: gp3
#       annotations:
#         storageclass.kubernetes.io/is-default-class: "true"
#     provisioner: ebs.csi.aws.com
#     volumeBindingMode: WaitForFirstConsumer
#     parameters:
#       type: gp3
#     ```
#   docs:
#     - https://kubernetes.io/docs/concepts/storage/storage-classes/
#     - https://kubernetes-csi.github.io/docs/drivers.html
#     - https://kubernetes.io/docs/concepts/storage/volume-snapshot-classes/
package kaic.storage.csi_storage

import rego.v1

import data.kaic.lib.k8s
import data.kaic.lib.pods
import data.kaic.lib.workloads

default_annotations := [
	"storageclass.kubernetes.io/is-default-class",
	"storageclass.beta.kubernetes.io/is-default-class",
]

# ---------------------------------------------------------------------------
# Drivers and provisioners
# ---------------------------------------------------------------------------

_csi_drivers := {k8s.name(d) | some d in k8s.objects_of_kind("CSIDriver"); k8s.group(d) == "storage.k8s.io"}

# Drivers registered by kubelets (CSINode.spec.drivers): the authoritative list in a live
# cluster, since the CSIDriver object is optional for a driver.
_node_drivers := {n |
	some node in k8s.objects_of_kind("CSINode")
	some d in k8s.array_at(node, ["spec", "drivers"])
	n := k8s.string_at(d, "name")
	n != ""
}

# CSI drivers whose names do not follow the *.csi.* convention.
_known_csi := {"driver.longhorn.io", "topolvm.io", "pxd.portworx.com", "io.kubernetes.storage.mock"}

# csi_name(p): the provisioner name is a CSI driver's by convention.
csi_name(p) if contains(p, ".csi.")

csi_name(p) if startswith(p, "csi.")

csi_name(p) if endswith(p, ".csi")

csi_name(p) if p in _known_csi

# is_csi(p): p is a CSI driver: installed, registered on a node, or named like one.
is_csi(p) if p in _csi_drivers

is_csi(p) if p in _node_drivers

is_csi(p) if csi_name(p)

# In-tree volume plugins ("kubernetes.io/aws-ebs", ".../no-provisioner"): not CSI.
in_tree(p) if startswith(p, "kubernetes.io/")

_provisioner(sc) := k8s.string_at(sc, "provisioner")

_storage_classes := [sc | some sc in k8s.objects_of_kind("StorageClass"); k8s.group(sc) == "storage.k8s.io"]

_class_names := {k8s.name(sc) | some sc in _storage_classes}

is_default(sc) if {
	some key in default_annotations
	k8s.annotation(sc, key) == "true"
}

_default_classes := [sc | some sc in _storage_classes; is_default(sc)]

_default_key(sc) := key if {
	some key in default_annotations
	k8s.annotation(sc, key) == "true"
}

# ---------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------

# Drivers limited to ephemeral inline volumes (SPIFFE CSI, Secrets Store CSI) are not storage.
evidence contains {"msg": msg, "ref": k8s.ref(d)} if {
	some d in k8s.objects_of_kind("CSIDriver")
	k8s.group(d) == "storage.k8s.io"
	modes := k8s.array_at(d, ["spec", "volumeLifecycleModes"])
	_persistent_modes(modes)
	msg := sprintf("%s is installed and provisions persistent volumes", [k8s.describe(d)])
}

_persistent_modes(modes) if count(modes) == 0

_persistent_modes(modes) if "Persistent" in modes

evidence contains {"msg": msg, "ref": k8s.ref(sc)} if {
	some sc in _storage_classes
	p := _provisioner(sc)
	is_csi(p)
	msg := sprintf("%s provisions volumes through the CSI driver \"%s\"%s", [k8s.describe(sc), p, _default_text(sc)])
}

_default_text(sc) := " and is the default StorageClass" if is_default(sc) else := ""

evidence contains {"msg": msg, "ref": k8s.ref(vsc)} if {
	some vsc in k8s.objects_of_kind("VolumeSnapshotClass")
	k8s.group(vsc) == "snapshot.storage.k8s.io"
	msg := sprintf("%s takes CSI volume snapshots with driver \"%s\"", [k8s.describe(vsc), k8s.string_at(vsc, "driver")])
}

# ---------------------------------------------------------------------------
# Default StorageClass
# ---------------------------------------------------------------------------

deny contains {"msg": msg, "ref": k8s.ref(sc), "field": "provisioner"} if {
	some sc in _default_classes
	p := _provisioner(sc)
	in_tree(p)
	msg := sprintf(
		"%s is the default StorageClass but uses the in-tree provisioner \"%s\", not a CSI driver: claims that name no class get in-tree (deprecated or static) volumes",
		[k8s.describe(sc), p],
	)
}

deny contains {"msg": msg, "ref": k8s.ref(sc), "field": sprintf("metadata.annotations[\"%s\"]", [_default_key(sc)])} if {
	count(_default_classes) > 1
	some sc in _default_classes
	others := sort([k8s.name(o) | some o in _default_classes; k8s.name(o) != k8s.name(sc)])
	msg := sprintf(
		"%s is marked as the default StorageClass, and so is %s: exactly one class should be the default",
		[k8s.describe(sc), concat(", ", others)],
	)
}

warn contains {"msg": msg, "ref": k8s.ref(sc), "field": "provisioner"} if {
	some sc in _default_classes
	p := _provisioner(sc)
	not in_tree(p)
	not is_csi(p)
	msg := sprintf("%s is the default StorageClass but its provisioner \"%s\" is not a known CSI driver", [k8s.describe(sc), p])
}

# A live scan sees every StorageClass: without a default, claims without a class hang.
warn contains {"msg": msg, "ref": k8s.ref(_storage_classes[0])} if {
	k8s.observed("storage.k8s.io", "storageclasses")
	count(_storage_classes) > 0
	count(_default_classes) == 0
	msg := "No StorageClass is marked as the default (storageclass.kubernetes.io/is-default-class): PersistentVolumeClaims without storageClassName stay Pending"
}

# ---------------------------------------------------------------------------
# Live cluster: StorageClasses whose CSI driver is not installed
# ---------------------------------------------------------------------------

deny contains {"msg": msg, "ref": k8s.ref(sc), "field": "provisioner"} if {
	k8s.observed("storage.k8s.io", "csidrivers")
	k8s.observed("storage.k8s.io", "csinodes")
	some sc in _storage_classes
	p := _provisioner(sc)
	csi_name(p)
	not p in _csi_drivers
	not p in _node_drivers
	msg := sprintf(
		"%s names the CSI provisioner \"%s\", but no CSIDriver of that name exists and no node has registered it: its claims cannot be provisioned",
		[k8s.describe(sc), p],
	)
}

# ---------------------------------------------------------------------------
# AI workloads' claims name StorageClasses that exist (live cluster)
# ---------------------------------------------------------------------------

_pvcs_by_key[key] := pvc if {
	some pvc in k8s.objects_of_kind("PersistentVolumeClaim")
	key := sprintf("%s/%s", [k8s.namespace(pvc), k8s.name(pvc)])
}

# [{workload, workload_class, ref, field, storage_class}] for each StorageClass an AI workload's volumes name.
_claimed_classes contains item if {
	some x in workloads.classified
	w := x.object
	some p in pods.pod_specs(w)
	some v in k8s.array_at(p.spec, "volumes")
	claim := k8s.string_at(v, ["persistentVolumeClaim", "claimName"])
	pvc := _pvcs_by_key[sprintf("%s/%s", [k8s.namespace(w), claim])]
	cls := k8s.string_at(pvc, ["spec", "storageClassName"])
	item := {"workload": w, "workload_class": x.class, "ref": k8s.ref(pvc), "field": "spec.storageClassName", "storage_class": cls}
}

_claimed_classes contains item if {
	some x in workloads.classified
	w := x.object
	some p in pods.pod_specs(w)
	some i, v in k8s.array_at(p.spec, "volumes")
	cls := k8s.string_at(v, ["ephemeral", "volumeClaimTemplate", "spec", "storageClassName"])
	field := sprintf("%s.ephemeral.volumeClaimTemplate.spec.storageClassName", [k8s.index_path(p.path, "volumes", i)])
	item := {"workload": w, "workload_class": x.class, "ref": k8s.ref(w), "field": field, "storage_class": cls}
}

_claimed_classes contains item if {
	some x in workloads.classified
	w := x.object
	w.kind == "StatefulSet"
	some i, t in k8s.array_at(w, ["spec", "volumeClaimTemplates"])
	cls := k8s.string_at(t, ["spec", "storageClassName"])
	field := sprintf("%s.spec.storageClassName", [k8s.index_path("spec", "volumeClaimTemplates", i)])
	item := {"workload": w, "workload_class": x.class, "ref": k8s.ref(w), "field": field, "storage_class": cls}
}

deny contains {"msg": msg, "ref": item.ref, "field": item.field} if {
	k8s.observed("storage.k8s.io", "storageclasses")
	some item in _claimed_classes
	item.storage_class != ""
	not item.storage_class in _class_names
	msg := sprintf(
		"%s (%s) claims storage of StorageClass \"%s\", which does not exist in the cluster: the claim stays Pending",
		[k8s.describe(item.workload), item.workload_class, item.storage_class],
	)
}

unknown contains item if {
	some item in k8s.unreadable_unknowns([
		["storage.k8s.io", "storageclasses"],
		["storage.k8s.io", "csidrivers"],
		["storage.k8s.io", "csinodes"],
		["snapshot.storage.k8s.io", "volumesnapshotclasses"],
		["", "persistentvolumeclaims"],
	])
}
