package kaic.lib.pods_test

import rego.v1

import data.kaic.lib.pods

_container := {"name": "main", "image": "vllm/vllm-openai:v0.11.0"}

_pod_spec := {"containers": [_container], "initContainers": [{"name": "init", "image": "busybox"}]}

_template := {"metadata": {"labels": {"app": "x"}}, "spec": _pod_spec}

_paths(obj) := [p.path | some p in pods.pod_specs(obj)]

# Every workload kind the normaliser knows, with the pod spec paths it must report.
test_pod_spec_paths_per_kind if {
	cases := [
		[{"kind": "Pod", "spec": _pod_spec}, ["spec"]],
		[{"kind": "PodTemplate", "template": _template}, ["template.spec"]],
		[{"kind": "Deployment", "spec": {"template": _template}}, ["spec.template.spec"]],
		[{"kind": "Deployment", "spec": {"template": {"spec": _pod_spec}}}, ["spec.template.spec"]],
		[{"kind": "StatefulSet", "spec": {"template": _template}}, ["spec.template.spec"]],
		[{"kind": "DaemonSet", "spec": {"template": _template}}, ["spec.template.spec"]],
		[{"kind": "ReplicaSet", "spec": {"template": _template}}, ["spec.template.spec"]],
		[{"kind": "Job", "spec": {"template": _template}}, ["spec.template.spec"]],
		[{"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": _template}}}}, ["spec.jobTemplate.spec.template.spec"]],
		[
			{"kind": "JobSet", "spec": {"replicatedJobs": [
				{"name": "a", "template": {"spec": {"template": _template}}},
				{"name": "b", "template": {"spec": {"template": _template}}},
			]}},
			["spec.replicatedJobs[0].template.spec.template.spec", "spec.replicatedJobs[1].template.spec.template.spec"],
		],
		[
			{"kind": "ClusterTrainingRuntime", "spec": {"template": {"spec": {"replicatedJobs": [{"name": "node", "template": {"spec": {"template": _template}}}]}}}},
			["spec.template.spec.replicatedJobs[0].template.spec.template.spec"],
		],
		[
			{"kind": "LeaderWorkerSet", "spec": {"leaderWorkerTemplate": {"leaderTemplate": _template, "workerTemplate": _template}}},
			["spec.leaderWorkerTemplate.leaderTemplate.spec", "spec.leaderWorkerTemplate.workerTemplate.spec"],
		],
		[
			{"kind": "PyTorchJob", "spec": {"pytorchReplicaSpecs": {"Master": {"template": _template}, "Worker": {"template": _template}}}},
			["spec.pytorchReplicaSpecs.Master.template.spec", "spec.pytorchReplicaSpecs.Worker.template.spec"],
		],
		[{"kind": "MPIJob", "spec": {"mpiReplicaSpecs": {"Launcher": {"template": _template}}}}, ["spec.mpiReplicaSpecs.Launcher.template.spec"]],
		[
			{"kind": "RayCluster", "spec": {"headGroupSpec": {"template": _template}, "workerGroupSpecs": [{"groupName": "gpu", "template": _template}]}},
			["spec.headGroupSpec.template.spec", "spec.workerGroupSpecs[0].template.spec"],
		],
		[
			{"kind": "RayJob", "spec": {"rayClusterSpec": {"headGroupSpec": {"template": _template}}, "submitterPodTemplate": _template}},
			["spec.rayClusterSpec.headGroupSpec.template.spec", "spec.submitterPodTemplate.spec"],
		],
		[{"kind": "RayService", "spec": {"rayClusterConfig": {"workerGroupSpecs": [{"template": _template}]}}}, ["spec.rayClusterConfig.workerGroupSpecs[0].template.spec"]],
		[{"kind": "InferenceService", "spec": {"predictor": {"model": {"storageUri": "s3://m"}}, "transformer": {"containers": [_container]}}}, ["spec.predictor", "spec.transformer"]],
		[{"kind": "LLMInferenceService", "spec": {"template": _pod_spec, "prefill": {"template": _pod_spec}}}, ["spec.template", "spec.prefill.template"]],
		[{"kind": "Sandbox", "spec": {"podTemplate": _template}}, ["spec.podTemplate.spec"]],
		[{"kind": "SandboxTemplate", "spec": {"podTemplate": _template}}, ["spec.podTemplate.spec"]],
		[{"apiVersion": "serving.knative.dev/v1", "kind": "Service", "spec": {"template": _template}}, ["spec.template.spec"]],
		[{"apiVersion": "v1", "kind": "Service", "spec": {"template": _template}}, []],
		[{"kind": "ConfigMap", "data": {}}, []],
	]
	every c in cases {
		_paths(c[0]) == c[1]
	}
}

test_pod_specs_tolerate_wrong_types if {
	odd := [
		{"kind": "Deployment", "spec": 5},
		{"kind": "Deployment", "spec": {"template": []}},
		{"kind": "Deployment", "spec": {"template": {"spec": "x"}}},
		{"kind": "JobSet", "spec": {"replicatedJobs": "x"}},
		{"kind": "JobSet", "spec": {"replicatedJobs": [5, null]}},
		{"kind": "PyTorchJob", "spec": {"pytorchReplicaSpecs": ["x"]}},
		{"kind": "RayCluster", "spec": {"workerGroupSpecs": {"a": 1}}},
		{"kind": "Pod", "metadata": null, "spec": {"containers": "x"}},
	]
	every obj in odd {
		count([c | some c in pods.containers(obj)]) == 0
	}
}

test_containers_include_init_and_ephemeral if {
	pod := {"kind": "Pod", "spec": {
		"initContainers": [{"name": "i", "image": "busybox"}],
		"containers": [{"name": "c", "image": "nginx"}, "oops"],
		"ephemeralContainers": [{"name": "debug", "image": "busybox"}],
	}}
	[[c.path, c.type, c.name] | some c in pods.containers(pod)] == [
		["spec.initContainers[0]", "initContainers", "i"],
		["spec.containers[0]", "containers", "c"],
		["spec.ephemeralContainers[0]", "ephemeralContainers", "debug"],
	]
}

test_kserve_model_specs_are_containers if {
	isvc := {"kind": "InferenceService", "metadata": {"name": "m"}, "spec": {"predictor": {
		"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "oci://ghcr.io/acme/m:v1"},
		"containers": [{"name": "kserve-container", "image": "ghcr.io/acme/server:v1"}],
	}}}
	[c.path | some c in pods.containers(isvc)] == ["spec.predictor.containers[0]", "spec.predictor.model"]
	[[i.image, i.path] | some i in pods.images(isvc)] == [
		["ghcr.io/acme/server:v1", "spec.predictor.containers[0].image"],
		["ghcr.io/acme/m:v1", "spec.predictor.model.storageUri"],
	]
}

test_trainjob_trainer_is_a_container if {
	tj := {"kind": "TrainJob", "metadata": {"name": "t"}, "spec": {"trainer": {"image": "pytorch/pytorch:2.5.0", "resourcesPerNode": {"limits": {"nvidia.com/gpu": 8}}}}}
	[c] := pods.containers(tj)
	c.path == "spec.trainer"
	c.container.resources == {"limits": {"nvidia.com/gpu": 8}}
	[i.path | some i in pods.images(tj)] == ["spec.trainer.image"]
	pods.pod_label_sets(tj) == [{"labels": {"jobset.sigs.k8s.io/jobset-name": "t"}, "path": "metadata"}]
}

test_labels_include_controller_labels if {
	js := {"kind": "JobSet", "metadata": {"name": "train"}, "spec": {"replicatedJobs": [{"name": "workers", "template": {"spec": {"template": _template}}}]}}
	[p.labels | some p in pods.pod_specs(js)] == [{"app": "x", "jobset.sigs.k8s.io/jobset-name": "train", "jobset.sigs.k8s.io/replicatedjob-name": "workers"}]
	isvc := {"kind": "InferenceService", "metadata": {"name": "m", "labels": {"team": "a"}}, "spec": {"predictor": {"labels": {"tier": "gpu"}}}}
	[p.labels | some p in pods.pod_specs(isvc)] == [{"team": "a", "tier": "gpu", "serving.kserve.io/inferenceservice": "m", "component": "predictor"}]
	[p.metadata_path | some p in pods.pod_specs(js)] == ["spec.replicatedJobs[0].template.spec.template.metadata"]
}

# The per-query tables (pod specs, containers, images, label sets keyed by object) give
# exactly what the direct computation gives, for objects of the input; objects that are not
# in the input (values built by a check) are computed directly, with the same result.
test_memoised_tables_match_direct_computation if {
	deployment := {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ml"}, "spec": {"template": _template}}
	knative := {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": "k"}, "spec": {"template": _template}}
	core := {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"selector": {"app": "x"}}}
	inp := {"objects": [deployment, knative, core]}
	known := pods.known_objects with input as inp
	known == [deployment, knative] # plain Services carry no pod template
	some obj in [deployment, knative]
	tables := [
		pods._pod_specs_of[obj], pods._containers_of[obj],
		pods._images_of[obj], pods._pod_label_sets_of[obj],
	] with input as inp
	tables == [pods._pod_specs(obj), pods.containers_of(obj, pods._pod_specs(obj)), pods._object_images(obj), pods._pod_label_sets(obj)]
	count(tables[1]) == 2
	pods.containers(obj) == tables[1] with input as inp
	pods.containers(obj) == tables[1] with input as {"objects": []}
}

# A Knative Service has a pod template; a core Service, in or out of the input, has none.
test_pod_specs_of_services if {
	knative := {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "spec": {"template": _template}}
	core := {"apiVersion": "v1", "kind": "Service", "spec": {"template": _template}}
	_paths(knative) == ["spec.template.spec"]
	_paths(core) == []
	pods.pod_specs(core) == [] with input as {"objects": [core]}
}
