# Pod-spec normaliser: finds every pod spec an object carries, for every workload kind
# kaic knows, with the dotted field path of each, so checks are written once for Pods,
# Deployments, JobSets, InferenceServices, Sandboxes and the rest.
# Library package: no METADATA block (it is not a check).
#
# API (all return arrays, in document order; [] for objects that carry no pod spec):
#
#   pod_specs(obj)      [{"spec", "path", "metadata", "metadata_path", "labels"}]
#                       spec: the PodSpec (or PodSpec-like object); path: its field path;
#                       metadata: the pod template's metadata ({} if none);
#                       metadata_path: where pod labels are set for these pods;
#                       labels: the labels the running pods will carry (template labels
#                       plus the labels the owning controller is known to add).
#   containers(obj)     [{"container", "path", "pod_path", "type", "name"}]
#                       type: initContainers | containers | ephemeralContainers | model
#                       ("model" = KServe model/framework specs and the TrainJob trainer,
#                       which are containers in all but name).
#   containers_of(obj, specs)   containers(obj), reusing specs = pod_specs(obj)
#   images(obj)         [{"image", "path", "container_path", "name"}]
#                       path: the field holding the image reference (`...image`, or a
#                       KServe `storageUri` / LLMInferenceService `model.uri` with oci://).
#   pod_label_sets(obj) [{"labels", "path"}]: label sets of the pods obj creates; for
#                       kinds without an inline pod spec (TrainJob), the labels the
#                       controller adds, at path "metadata".
#   workload_kinds      set of kinds with pod specs this library understands.
package kaic.lib.pods

import rego.v1

import data.kaic.lib.k8s

# Kinds whose pod template sits at spec.template.
_spec_template_kinds := {
	"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController",
	"Notebook", # Kubeflow notebooks (kubeflow.org)
	"Rollout", # Argo Rollouts
}

# Kubeflow training-operator jobs: spec.<x>ReplicaSpecs.<role>.template.
_kubeflow_job_kinds := {"PyTorchJob", "TFJob", "MPIJob", "XGBoostJob", "PaddleJob", "JAXJob", "MXJob"}

# KServe InferenceService components; each embeds a PodSpec inline.
_kserve_components := ["predictor", "transformer", "explainer"]

# KServe model / framework specs: a Container inline plus storageUri.
_kserve_model_keys := [
	"model", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "pmml",
	"lightgbm", "paddle", "huggingface", "alibi", "art",
]

workload_kinds := {
	"Pod", "PodTemplate", "Job", "CronJob", "JobSet", "LeaderWorkerSet",
	"TrainJob", "TrainingRuntime", "ClusterTrainingRuntime",
	"RayCluster", "RayJob", "RayService",
	"InferenceService", "LLMInferenceService",
	"Sandbox", "SandboxTemplate",
	"Service", # only Knative serving.knative.dev Services carry a template
} | _spec_template_kinds | _kubeflow_job_kinds

# ---------------------------------------------------------------------------
# pod_specs
# ---------------------------------------------------------------------------

# Memoised per query: every check asks for the pod specs, containers and images of the
# same workloads, and regorus does not memoise function calls. Each table below is a rule,
# evaluated once per query over the objects of the kinds this library knows, and keyed by
# the object itself; objects outside it (values built in tests, nested objects) are
# computed directly. The batch query of all checks thus computes each table once per scan.
pod_specs(obj) := s if {
	s := _pod_specs_of[obj]
} else := _pod_specs(obj)

_pod_specs_of[obj] := _pod_specs(obj) if {
	some obj in known_objects
}

# known_objects: the objects of the kinds whose pod specs this library reads (KServe and
# TrainJob model containers included: their kinds are workload kinds too). Core Services
# are left out (only Knative's serving.knative.dev Services carry a pod template), so
# that a bundle's many plain Services cost nothing in the tables above.
known_objects := array.concat(
	[obj |
		some kind in workload_kinds
		kind != "Service"
		some obj in k8s.objects_of_kind(kind)
	],
	[obj |
		some obj in k8s.objects_of_kind("Service")
		k8s.group(obj) == "serving.knative.dev"
	],
)

_pod_specs(obj) := [t | some t in _templates(_template_shape[obj.kind], obj)]

# The entry for a PodTemplateSpec-shaped value ({metadata, spec}) at `at`; `injected`
# are the labels the owning controller adds to the pods.
_template(tpl, at, injected) := {
	"spec": tpl.spec,
	"path": concat(".", [at, "spec"]),
	"metadata": meta,
	"metadata_path": concat(".", [at, "metadata"]),
	"labels": object.union(_labels_in(meta), injected),
} if {
	is_object(tpl.spec)
	meta := _object_or_empty(object.get(tpl, "metadata", {}))
}

# The entry for a bare PodSpec at `at`, whose pods take their labels from `meta`, a
# metadata-like object whose place in the manifest is `meta_path`.
_bare(spec, at, meta, meta_path, injected) := {
	"spec": spec,
	"path": at,
	"metadata": meta,
	"metadata_path": meta_path,
	"labels": object.union(_labels_in(meta), injected),
} if {
	is_object(spec)
}

_object_or_empty(x) := x if is_object(x) else := {}

_labels_in(meta) := l if {
	l := meta.labels
	is_object(l)
} else := {}

# Each shape below has its own definition, selected by the first argument: regorus tries
# every definition of a function on each call, and a constant first argument that does not
# unify fails at once, where a test of obj.kind in each body cost ~50 us per object.
_template_shape := object.union(
	{kind: "spec.template" | some kind in _spec_template_kinds},
	object.union(
		{kind: "kubeflow" | some kind in _kubeflow_job_kinds},
		{
			"Pod": "Pod", "PodTemplate": "PodTemplate", "Service": "Service", "Job": "Job",
			"CronJob": "CronJob", "JobSet": "JobSet", "TrainingRuntime": "TrainingRuntime",
			"ClusterTrainingRuntime": "TrainingRuntime", "LeaderWorkerSet": "LeaderWorkerSet",
			"RayCluster": "RayCluster", "RayJob": "RayJob", "RayService": "RayService",
			"InferenceService": "InferenceService", "LLMInferenceService": "LLMInferenceService",
			"Sandbox": "Sandbox", "SandboxTemplate": "Sandbox",
		},
	),
)


_templates("Pod", obj) := [_bare(obj.spec, "spec", k8s.metadata(obj), "metadata", {})]

_templates("PodTemplate", obj) := [_template(obj.template, "template", {})]

_templates("spec.template", obj) := [_template(obj.spec.template, "spec.template", {})]

# Knative Service (not core Service: that one has no pod template).
_templates("Service", obj) := [_template(obj.spec.template, "spec.template", {})] if {
	k8s.group(obj) == "serving.knative.dev"
}

# batch/v1 Job (spec.template) and Volcano Job (spec.tasks[i].template).
_templates("Job", obj) := array.concat(plain, tasks) if {
	injected := _named(obj, {"job-name": k8s.name(obj), "batch.kubernetes.io/job-name": k8s.name(obj)})
	plain := [t | t := _template(obj.spec.template, "spec.template", injected)]
	tasks := [t |
		tasks := k8s.array_at(obj, ["spec", "tasks"])
		some i
		task := tasks[i]
		t := _template(task.template, sprintf("%s.template", [k8s.index_path("spec", "tasks", i)]), {})
	]
}

_templates("CronJob", obj) := [_template(obj.spec.jobTemplate.spec.template, "spec.jobTemplate.spec.template", {})]

_templates("JobSet", obj) := _jobset_templates(obj.spec, "spec", k8s.name(obj))

# Kubeflow Trainer runtimes embed a JobSet template at spec.template.
_templates("TrainingRuntime", obj) := _jobset_templates(obj.spec.template.spec, "spec.template.spec", "")

_templates("LeaderWorkerSet", obj) := [t |
	some role in ["leaderTemplate", "workerTemplate"]
	t := _template(
		obj.spec.leaderWorkerTemplate[role],
		sprintf("spec.leaderWorkerTemplate.%s", [role]),
		_named(obj, {"leaderworkerset.sigs.k8s.io/name": k8s.name(obj)}),
	)
]

_templates("kubeflow", obj) := [t |
	spec := k8s.object_at(obj, "spec")
	some key
	specs_of_type := spec[key]
	endswith(key, "ReplicaSpecs")
	replica_specs := k8s.as_object(specs_of_type)
	some role
	replica := replica_specs[role]
	t := _template(
		replica.template,
		sprintf("spec.%s.%s.template", [key, role]),
		_named(obj, {"training.kubeflow.org/job-name": k8s.name(obj), "training.kubeflow.org/replica-type": lower(role)}),
	)
]

_templates("RayCluster", obj) := _ray_templates(obj.spec, "spec", k8s.name(obj))

# RayJob: the cluster it creates plus the optional submitter pod.
_templates("RayJob", obj) := array.concat(cluster, submitter) if {
	cluster := _ray_templates(obj.spec.rayClusterSpec, "spec.rayClusterSpec", "")
	submitter := [t | t := _template(obj.spec.submitterPodTemplate, "spec.submitterPodTemplate", {})]
}

_templates("RayService", obj) := _ray_templates(obj.spec.rayClusterConfig, "spec.rayClusterConfig", "")

# KServe InferenceService: each component is a PodSpec inline (plus workerSpec for
# multi-node serving). KServe labels the pods with the service name and component, and
# copies the InferenceService's own labels and the component's `labels`.
_templates("InferenceService", obj) := array.concat(components, workers) if {
	components := [t |
		some component in _kserve_components
		spec := obj.spec[component]
		t := _bare(
			spec, sprintf("spec.%s", [component]),
			{"labels": object.union(k8s.labels(obj), k8s.object_at(spec, "labels"))},
			sprintf("spec.%s", [component]),
			_named(obj, {"serving.kserve.io/inferenceservice": k8s.name(obj), "component": component}),
		)
	]
	workers := [t |
		some component in _kserve_components
		t := _bare(
			obj.spec[component].workerSpec, sprintf("spec.%s.workerSpec", [component]),
			{"labels": k8s.labels(obj)}, sprintf("spec.%s", [component]),
			_named(obj, {"serving.kserve.io/inferenceservice": k8s.name(obj)}),
		)
	]
}

# KServe LLMInferenceService: spec.template / spec.worker are PodSpecs, and the same
# again under spec.prefill for disaggregated prefill/decode.
_templates("LLMInferenceService", obj) := [t |
	some parts in [["template"], ["worker"], ["prefill", "template"], ["prefill", "worker"]]
	t := _bare(
		object.get(obj, array.concat(["spec"], parts), null),
		concat(".", array.concat(["spec"], parts)),
		k8s.metadata(obj), "metadata", {},
	)
]

# agent-sandbox Sandbox (agents.x-k8s.io) and SandboxTemplate (extensions.agents.x-k8s.io).
_templates("Sandbox", obj) := [_template(obj.spec.podTemplate, "spec.podTemplate", {})]

# Controller-added labels carry the owner's name; objects without one (generateName)
# get none, rather than labels with an empty value.
_named(obj, injected) := injected if k8s.name(obj) != "" else := {}

# JobSet-shaped spec: replicatedJobs[i].template (a JobTemplateSpec) .spec.template.
_jobset_templates(spec, at, jobset_name) := [t |
	replicated_jobs := k8s.array_at(spec, "replicatedJobs")
	some i
	rj := replicated_jobs[i]
	base := k8s.index_path(at, "replicatedJobs", i)
	t := _template(
		rj.template.spec.template,
		sprintf("%s.template.spec.template", [base]),
		_jobset_labels(jobset_name, rj),
	)
]

_jobset_labels(jobset_name, rj) := {
	"jobset.sigs.k8s.io/jobset-name": jobset_name,
	"jobset.sigs.k8s.io/replicatedjob-name": rj.name,
} if {
	jobset_name != ""
	is_string(rj.name)
} else := {}

# KubeRay cluster spec: headGroupSpec.template and workerGroupSpecs[i].template.
_ray_templates(spec, at, cluster_name) := array.concat(head, workers) if {
	head := [t |
		t := _template(
			spec.headGroupSpec.template, sprintf("%s.headGroupSpec.template", [at]),
			_ray_labels(cluster_name, "head", null),
		)
	]
	workers := [t |
		groups := k8s.array_at(spec, "workerGroupSpecs")
		some i
		group := groups[i]
		t := _template(
			group.template, sprintf("%s.template", [k8s.index_path(at, "workerGroupSpecs", i)]),
			_ray_labels(cluster_name, "worker", k8s.get(group, "groupName", null)),
		)
	]
}

_ray_labels(cluster_name, node_type, group_name) := object.union(
	{"ray.io/cluster": cluster_name, "ray.io/node-type": node_type},
	{"ray.io/group": group_name | is_string(group_name)},
) if {
	cluster_name != ""
} else := {}

# ---------------------------------------------------------------------------
# containers and images
# ---------------------------------------------------------------------------

_container_fields := ["initContainers", "containers", "ephemeralContainers"]

containers(obj) := c if {
	c := _containers_of[obj]
} else := containers_of(obj, pod_specs(obj))

_containers_of[obj] := containers_of(obj, pod_specs(obj)) if {
	some obj in known_objects
}

# containers_of(obj, specs): containers(obj) when pod_specs(obj) is already at hand
# (regorus does not memoise function calls, so callers that need both compute once).
containers_of(obj, specs) := array.concat(regular, _model_containers(obj)) if {
	regular := [entry |
		some p in specs
		some field in _container_fields
		field_containers := k8s.array_at(p.spec, field)
		some i
		c := field_containers[i]
		is_object(c)
		entry := {
			"container": c,
			"path": k8s.index_path(p.path, field, i),
			"pod_path": p.path,
			"type": field,
			"name": k8s.as_string(object.get(c, "name", "")),
		}
	]
}

# Containers that are not in a pod spec: KServe model/framework specs and the
# Kubeflow Trainer TrainJob trainer.
_model_containers(obj) := _kserve_models(obj) if {
	obj.kind == "InferenceService"
} else := _trainjob_trainer(obj) if {
	obj.kind == "TrainJob"
} else := []

# KServe model/framework specs, one per component.
_kserve_models(obj) := [entry |
	some component in _kserve_components
	spec := obj.spec[component]
	is_object(spec)
	some key in _kserve_model_keys
	c := spec[key]
	is_object(c)
	entry := {
		"container": c,
		"path": sprintf("spec.%s.%s", [component, key]),
		"pod_path": sprintf("spec.%s", [component]),
		"type": "model",
		"name": k8s.as_string(object.get(c, "name", key)),
	}
]

# TrainJob: spec.trainer overrides the runtime's trainer container (image, command,
# env, resourcesPerNode); it is exposed as a container whose `resources` are the
# per-node resources. The pod spec itself lives in the referenced runtime.
_trainjob_trainer(obj) := [entry |
	trainer := obj.spec.trainer
	is_object(trainer)
	entry := {
		"container": object.union(trainer, {
			"name": "trainer",
			"resources": k8s.as_object(object.get(trainer, "resourcesPerNode", {})),
		}),
		"path": "spec.trainer",
		"pod_path": "spec.trainer",
		"type": "model",
		"name": "trainer",
	}
]

images(obj) := i if {
	i := _images_of[obj]
} else := _object_images(obj)

_images_of[obj] := _object_images(obj) if {
	some obj in known_objects
}

_object_images(obj) := array.concat(container_images, model_images) if {
	container_images := [{"image": c.container.image, "path": k8s.path(c.path, "image"), "container_path": c.path, "name": c.name} |
		some c in containers(obj)
		is_string(c.container.image)
		c.container.image != ""
	]

	# Model weights pulled as OCI images (KServe modelcars) are images too.
	model_images := [{"image": ref, "path": at, "container_path": container_path, "name": name} |
		some candidate in _oci_model_uris(obj)
		[uri, at, container_path, name] := candidate
		some prefix in ["oci://", "oci+native://"]
		startswith(uri, prefix)
		ref := substring(uri, count(prefix), -1)
	]
}

_oci_model_uris(obj) := [[c.container.storageUri, k8s.path(c.path, "storageUri"), c.path, c.name] |
	some c in containers(obj)
	c.type == "model"
	is_string(c.container.storageUri)
] if {
	obj.kind != "LLMInferenceService"
}

_oci_model_uris(obj) := [[obj.spec.model.uri, "spec.model.uri", "spec.model", "model"] |
	is_string(obj.spec.model.uri)
] if {
	obj.kind == "LLMInferenceService"
}

# ---------------------------------------------------------------------------
# Pod labels
# ---------------------------------------------------------------------------

pod_label_sets(obj) := s if {
	s := _pod_label_sets_of[obj]
} else := _pod_label_sets(obj)

_pod_label_sets_of[obj] := _pod_label_sets(obj) if {
	some obj in known_objects
}

_pod_label_sets(obj) := [{"labels": p.labels, "path": p.metadata_path} | some p in specs] if {
	specs := pod_specs(obj)
	count(specs) > 0
} else := [{"labels": _controller_labels(obj), "path": "metadata"}]

# Labels that controllers put on pods of kinds without an inline pod spec.
_controller_labels(obj) := _named(obj, {"jobset.sigs.k8s.io/jobset-name": k8s.name(obj)}) if {
	obj.kind == "TrainJob"
} else := {}
