//! The deployment files agree with each other: every Kubernetes manifest
//! parses into its API type, and names, ports, commands and the topology
//! match between deploy/k8s, docker-compose.yml and the reference
//! architecture.

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use queuelab_deploy_check::{
    DeployError, Object, parse_objects, read_compose, read_kustomization, read_kustomized_objects,
};
use queuelab_topology::Topology;
use serde_norway::Value;

/// Reference ports of the services, written out independently of every file
/// under test.
const PORTS: [(&str, i32); 7] = [
    ("api-gateway", 50051),
    ("user", 50052),
    ("product", 50053),
    ("order", 50054),
    ("payment", 50055),
    ("database", 50056),
    ("analysis", 50060),
];

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn k8s_dir() -> PathBuf {
    repository().join("deploy/k8s")
}

fn objects() -> Vec<Object> {
    read_kustomized_objects(&k8s_dir()).unwrap_or_else(|error| panic!("{error}"))
}

fn deployments() -> BTreeMap<String, Deployment> {
    objects()
        .into_iter()
        .filter_map(|object| match object {
            Object::Deployment(deployment) => {
                let name = deployment
                    .metadata
                    .name
                    .clone()
                    .expect("deployment has a name");
                Some((name, *deployment))
            }
            _ => None,
        })
        .collect()
}

fn pod_spec(deployment: &Deployment) -> &PodSpec {
    deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.template.spec.as_ref())
        .expect("deployment has a pod spec")
}

fn only_container(spec: &PodSpec) -> &Container {
    assert_eq!(spec.containers.len(), 1, "one container per pod");
    &spec.containers[0]
}

fn env_value<'a>(container: &'a Container, name: &str) -> Option<&'a str> {
    container
        .env
        .as_ref()?
        .iter()
        .find(|variable| variable.name == name)?
        .value
        .as_deref()
}

fn compose_service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose
        .get("services")
        .and_then(|services| services.get(name))
        .unwrap_or_else(|| panic!("docker-compose.yml has no service {name}"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("{value:?} is not a list"))
        .iter()
        .map(|item| item.as_str().expect("list of strings").to_owned())
        .collect()
}

#[test]
fn manifests_parse_into_api_types() {
    let mut found: Vec<(String, String)> = objects()
        .iter()
        .map(|object| match object {
            Object::Namespace(namespace) => ("Namespace", namespace.metadata.name.clone()),
            Object::Deployment(deployment) => ("Deployment", deployment.metadata.name.clone()),
            Object::Service(service) => ("Service", service.metadata.name.clone()),
            Object::Job(job) => ("Job", job.metadata.name.clone()),
        })
        .map(|(kind, name)| (kind.to_owned(), name.expect("every object has a name")))
        .collect();
    found.sort();

    let mut expected = vec![
        ("Namespace".to_owned(), "queuelab".to_owned()),
        ("Job".to_owned(), "queuelab-experiment".to_owned()),
    ];
    for (name, _) in PORTS {
        expected.push(("Deployment".to_owned(), name.to_owned()));
        expected.push(("Service".to_owned(), name.to_owned()));
    }
    expected.sort();
    assert_eq!(found, expected);
}

#[test]
fn unknown_field_is_rejected() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: user\nspec:\n  replica: 2\n  selector: {}\n  template: {}\n";
    let error = parse_objects(text, "typo.yaml").expect_err("`replica` is not a field");
    match error {
        DeployError::UnknownField { pointer, .. } => assert_eq!(pointer, "/spec/replica"),
        other => panic!("expected UnknownField, got {other}"),
    }
}

#[test]
fn unsupported_kind_is_rejected() {
    let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n";
    let error = parse_objects(text, "secret.yaml").expect_err("Secret is not read");
    assert!(matches!(error, DeployError::UnsupportedKind { kind, .. } if kind == "Secret"));
}

#[test]
fn k8s_ports_match_reference() {
    let deployments = deployments();
    let services: BTreeMap<String, _> = objects()
        .into_iter()
        .filter_map(|object| match object {
            Object::Service(service) => Some((service.metadata.name.clone()?, *service)),
            _ => None,
        })
        .collect();

    for (name, port) in PORTS {
        let container = only_container(pod_spec(&deployments[name]));
        let declared = container
            .ports
            .as_ref()
            .expect("container declares its port");
        assert_eq!(declared.len(), 1, "{name}: one port");
        assert_eq!(declared[0].container_port, port, "{name}: containerPort");
        assert_eq!(
            declared[0].name.as_deref(),
            Some("grpc"),
            "{name}: port name"
        );
        assert_eq!(
            env_value(container, "QUEUELAB_LISTEN"),
            Some(format!("0.0.0.0:{port}").as_str()),
            "{name}: QUEUELAB_LISTEN"
        );

        for (kind, probe) in [
            ("readiness", &container.readiness_probe),
            ("liveness", &container.liveness_probe),
        ] {
            let probe = probe
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: no {kind} probe"));
            let grpc = probe
                .grpc
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: {kind} probe is not grpc"));
            assert_eq!(grpc.port, port, "{name}: {kind} probe port");
        }

        let service_spec = services[name].spec.as_ref().expect("service has a spec");
        let service_ports = service_spec.ports.as_ref().expect("service has ports");
        assert_eq!(service_ports.len(), 1, "{name}: one service port");
        assert_eq!(service_ports[0].port, port, "{name}: service port");
        assert_eq!(
            service_ports[0].target_port,
            Some(IntOrString::String("grpc".to_owned())),
            "{name}: targetPort"
        );
        let template_labels = deployments[name]
            .spec
            .as_ref()
            .and_then(|spec| spec.template.metadata.as_ref())
            .and_then(|metadata| metadata.labels.clone())
            .unwrap_or_default();
        let selector = service_spec.selector.clone().unwrap_or_default();
        assert!(!selector.is_empty(), "{name}: service has a selector");
        for (key, value) in &selector {
            assert_eq!(
                template_labels.get(key),
                Some(value),
                "{name}: selector {key}"
            );
        }
    }
}

#[test]
fn k8s_resources_and_images_set() {
    let kustomization = read_kustomization(&k8s_dir()).unwrap();
    assert_eq!(kustomization.namespace.as_deref(), Some("queuelab"));
    assert_eq!(kustomization.images.len(), 1);
    assert_eq!(kustomization.images[0].name, "queuelab");

    for (name, deployment) in deployments() {
        let container = only_container(pod_spec(&deployment));
        assert_eq!(
            container.image.as_deref(),
            Some("queuelab:latest"),
            "{name}: image"
        );
        let resources = container
            .resources
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no resources"));
        for (kind, quantities) in [
            ("requests", &resources.requests),
            ("limits", &resources.limits),
        ] {
            let quantities = quantities
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: no {kind}"));
            assert!(quantities.contains_key("cpu"), "{name}: {kind}.cpu");
            assert!(quantities.contains_key("memory"), "{name}: {kind}.memory");
        }
    }
}

#[test]
fn topology_configmap_matches_deploy_topology() {
    let kustomization = read_kustomization(&k8s_dir()).unwrap();
    assert_eq!(kustomization.config_map_generator.len(), 1);
    let generator = &kustomization.config_map_generator[0];
    assert_eq!(generator.name, "queuelab-topology");
    assert_eq!(generator.files, ["topology.toml"]);

    let copy = std::fs::read_to_string(k8s_dir().join("topology.toml")).unwrap();
    let original = std::fs::read_to_string(repository().join("deploy/topology.toml")).unwrap();
    assert!(
        copy == original,
        "deploy/k8s/topology.toml differs from deploy/topology.toml: copy it again"
    );

    for (name, deployment) in deployments() {
        let spec = pod_spec(&deployment);
        let container = only_container(spec);
        assert_eq!(
            env_value(container, "QUEUELAB_TOPOLOGY"),
            Some("/etc/queuelab/topology.toml"),
            "{name}: QUEUELAB_TOPOLOGY"
        );
        let volumes = spec.volumes.as_ref().expect("pod has volumes");
        let config_map = volumes
            .iter()
            .find_map(|volume| volume.config_map.as_ref())
            .unwrap_or_else(|| panic!("{name}: no ConfigMap volume"));
        assert_eq!(
            config_map.name, "queuelab-topology",
            "{name}: ConfigMap name"
        );
    }
}

#[test]
fn deploy_topology_keeps_reference_model() {
    let deployed = Topology::from_path(&repository().join("deploy/topology.toml")).unwrap();
    let reference = Topology::reference();

    // Everything but the addresses is the reference model.
    let mut without_addresses = deployed.clone();
    for station in &mut without_addresses.stations {
        station.address = None;
    }
    let mut reference_without = reference.clone();
    for station in &mut reference_without.stations {
        station.address = None;
    }
    assert_eq!(without_addresses, reference_without);

    // Each address is the service name and its reference port.
    for (name, port) in PORTS.iter().filter(|(name, _)| *name != "analysis") {
        let station = deployed
            .station(name)
            .unwrap_or_else(|| panic!("no station {name}"));
        assert_eq!(
            station.address.as_deref(),
            Some(format!("{name}:{port}").as_str())
        );
    }
}

#[test]
fn compose_matches_k8s() {
    let compose = read_compose(&repository().join("docker-compose.yml")).unwrap();
    let deployments = deployments();

    for (name, port) in PORTS {
        let service = compose_service(&compose, name);
        let environment = service.get("environment").expect("environment is set");
        let listen = environment.get("QUEUELAB_LISTEN").and_then(Value::as_str);
        assert_eq!(
            listen,
            Some(format!("0.0.0.0:{port}").as_str()),
            "{name}: QUEUELAB_LISTEN"
        );

        let healthcheck = strings(&service["healthcheck"]["test"]);
        let expected_probe = ["CMD", "queuelab", "probe"].map(str::to_owned);
        assert_eq!(
            healthcheck[..3],
            expected_probe,
            "{name}: healthcheck command"
        );
        assert_eq!(
            healthcheck[3],
            format!("127.0.0.1:{port}"),
            "{name}: healthcheck address"
        );

        let compose_command = strings(&service["command"]);
        let k8s_args = only_container(pod_spec(&deployments[name]))
            .args
            .clone()
            .unwrap_or_default();
        assert_eq!(compose_command, k8s_args, "{name}: command");

        let volumes = strings(&service["volumes"]);
        assert!(
            volumes.contains(&"./deploy/topology.toml:/etc/queuelab/topology.toml:ro".to_owned()),
            "{name}: topology mount"
        );
    }
}

#[test]
fn loadgen_targets_agree() {
    let compose = read_compose(&repository().join("docker-compose.yml")).unwrap();
    let compose_command = strings(&compose_service(&compose, "loadgen")["command"]);

    let job = objects()
        .into_iter()
        .find_map(|object| match object {
            Object::Job(job) => Some(job),
            _ => None,
        })
        .expect("a Job runs the load generator");
    let spec = job
        .spec
        .as_ref()
        .and_then(|spec| spec.template.spec.as_ref())
        .expect("job has a pod spec");
    let job_args = only_container(spec).args.clone().unwrap_or_default();

    for args in [&compose_command, &job_args] {
        assert_eq!(args[0], "experiment");
        for flag in [
            "--gateway=api-gateway:50051",
            "--analysis=analysis:50060",
            "--topology=/etc/queuelab/topology.toml",
        ] {
            assert!(
                args.contains(&flag.to_owned()),
                "{flag} missing from {args:?}"
            );
        }
    }
    assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    assert!(
        job.spec
            .as_ref()
            .and_then(|spec| spec.active_deadline_seconds)
            .is_some(),
        "the Job is bounded in time"
    );
}
