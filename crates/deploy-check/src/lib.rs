//! Typed reading of the deployment files: the Kubernetes manifests listed by
//! a `kustomization.yaml`, parsed into the API types of `k8s-openapi`
//! (Kubernetes 1.33), and the Compose file as YAML. The tests of this crate
//! use it to check that docker-compose.yml, deploy/k8s and the topology agree.
//!
//! No cluster is contacted: this only reads files.

#![warn(missing_docs)]

use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Service};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value as JsonValue;
use serde_norway::Value as YamlValue;

/// A failure to read a deployment file.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The file could not be read.
    #[error("failed to read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid YAML, or does not fit the expected type.
    #[error("invalid YAML in {origin}: {message}")]
    Yaml {
        /// The file, or another name of the text.
        origin: String,
        /// The parser's message, with line and column where it gives them.
        message: String,
    },
    /// A manifest has a kind that this crate does not read.
    #[error(
        "{origin}: unsupported kind {kind:?}: use Namespace, Deployment, Service or Job, or extend queuelab-deploy-check"
    )]
    UnsupportedKind {
        /// The file, or another name of the text.
        origin: String,
        /// The manifest's `kind`.
        kind: String,
    },
    /// A manifest has a field that the Kubernetes API type does not have,
    /// so the API server would reject it or drop it.
    #[error(
        "{origin}: {kind} {name:?} has unknown or mistyped field {pointer}: check its spelling against the Kubernetes API reference"
    )]
    UnknownField {
        /// The file, or another name of the text.
        origin: String,
        /// The manifest's `kind`.
        kind: String,
        /// The manifest's `metadata.name`.
        name: String,
        /// JSON pointer to the first field that did not survive the round trip.
        pointer: String,
    },
}

/// One Kubernetes object of a kind the deployment uses.
#[derive(Debug, Clone)]
pub enum Object {
    /// A `v1` Namespace.
    Namespace(Box<Namespace>),
    /// An `apps/v1` Deployment.
    Deployment(Box<Deployment>),
    /// A `v1` Service.
    Service(Box<Service>),
    /// A `batch/v1` Job.
    Job(Box<Job>),
}

/// The fields of a `kustomization.yaml` that the deployment uses. Any other
/// field is rejected, so a typo fails the tests instead of being ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Kustomization {
    /// `kustomize.config.k8s.io/v1beta1`.
    pub api_version: String,
    /// `Kustomization`.
    pub kind: String,
    /// Namespace set on every object.
    pub namespace: Option<String>,
    /// Manifest files, relative to the kustomization's folder.
    #[serde(default)]
    pub resources: Vec<String>,
    /// ConfigMaps generated from files.
    #[serde(default)]
    pub config_map_generator: Vec<ConfigMapGenerator>,
    /// Image name replacements.
    #[serde(default)]
    pub images: Vec<ImageOverride>,
}

/// One entry of `configMapGenerator`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigMapGenerator {
    /// Name of the ConfigMap, before kustomize appends its content hash.
    pub name: String,
    /// Files whose names become the keys and whose contents the values.
    #[serde(default)]
    pub files: Vec<String>,
}

/// One entry of `images`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageOverride {
    /// Image name as written in the manifests.
    pub name: String,
    /// Replacement name, such as a registry path.
    pub new_name: Option<String>,
    /// Replacement tag.
    pub new_tag: Option<String>,
}

fn read(path: &Path) -> Result<String, DeployError> {
    std::fs::read_to_string(path).map_err(|source| DeployError::Read {
        path: path.to_owned(),
        source,
    })
}

fn yaml_error(origin: &str, error: impl std::fmt::Display) -> DeployError {
    DeployError::Yaml {
        origin: origin.to_owned(),
        message: error.to_string(),
    }
}

/// Reads `kustomization.yaml` in folder `dir`.
///
/// # Errors
/// [`DeployError::Read`] or [`DeployError::Yaml`], also for an unknown field.
pub fn read_kustomization(dir: &Path) -> Result<Kustomization, DeployError> {
    let path = dir.join("kustomization.yaml");
    let text = read(&path)?;
    serde_norway::from_str(&text).map_err(|error| yaml_error(&path.display().to_string(), error))
}

/// Reads every object of the manifests that `kustomization.yaml` in `dir`
/// lists, in order.
///
/// # Errors
/// As [`read_kustomization`] and [`parse_objects`].
pub fn read_kustomized_objects(dir: &Path) -> Result<Vec<Object>, DeployError> {
    let kustomization = read_kustomization(dir)?;
    let mut objects = Vec::new();
    for resource in &kustomization.resources {
        let path = dir.join(resource);
        objects.extend(parse_objects(&read(&path)?, &path.display().to_string())?);
    }
    Ok(objects)
}

/// Parses the YAML documents of `text` (one manifest file, named `origin` in
/// errors) into typed objects.
///
/// Each object is also serialized back and compared with the text, so a
/// field that the API type does not know fails instead of being dropped.
///
/// # Errors
/// [`DeployError::Yaml`], [`DeployError::UnsupportedKind`] or
/// [`DeployError::UnknownField`].
pub fn parse_objects(text: &str, origin: &str) -> Result<Vec<Object>, DeployError> {
    let mut objects = Vec::new();
    for document in serde_norway::Deserializer::from_str(text) {
        let value = YamlValue::deserialize(document).map_err(|error| yaml_error(origin, error))?;
        if value.is_null() {
            continue;
        }
        let kind = value
            .get("kind")
            .and_then(YamlValue::as_str)
            .unwrap_or_default()
            .to_owned();
        let object = match kind.as_str() {
            "Namespace" => Object::Namespace(Box::new(typed(&value, origin, &kind)?)),
            "Deployment" => Object::Deployment(Box::new(typed(&value, origin, &kind)?)),
            "Service" => Object::Service(Box::new(typed(&value, origin, &kind)?)),
            "Job" => Object::Job(Box::new(typed(&value, origin, &kind)?)),
            _ => {
                return Err(DeployError::UnsupportedKind {
                    origin: origin.to_owned(),
                    kind,
                });
            }
        };
        objects.push(object);
    }
    Ok(objects)
}

/// Converts one manifest to its API type and checks that nothing was lost.
fn typed<T>(value: &YamlValue, origin: &str, kind: &str) -> Result<T, DeployError>
where
    T: DeserializeOwned + serde::Serialize,
{
    let object: T =
        serde_norway::from_value(value.clone()).map_err(|error| yaml_error(origin, error))?;
    let original = serde_json::to_value(value).map_err(|error| yaml_error(origin, error))?;
    let round_trip = serde_json::to_value(&object).map_err(|error| yaml_error(origin, error))?;
    if let Some(pointer) = first_difference(&original, &round_trip, String::new()) {
        let name = original
            .pointer("/metadata/name")
            .and_then(JsonValue::as_str)
            .unwrap_or_default()
            .to_owned();
        return Err(DeployError::UnknownField {
            origin: origin.to_owned(),
            kind: kind.to_owned(),
            name,
            pointer,
        });
    }
    Ok(object)
}

/// Returns the JSON pointer of the first value in `original` that differs in
/// `round_trip`, or `None` when every value of `original` is there.
fn first_difference(original: &JsonValue, round_trip: &JsonValue, at: String) -> Option<String> {
    match (original, round_trip) {
        (JsonValue::Object(left), JsonValue::Object(right)) => {
            left.iter().find_map(|(key, value)| {
                let path = format!("{at}/{key}");
                match right.get(key) {
                    Some(other) => first_difference(value, other, path),
                    // An empty map or list written out is the same as an absent one.
                    None if is_empty(value) => None,
                    None => Some(path),
                }
            })
        }
        (JsonValue::Array(left), JsonValue::Array(right)) if left.len() == right.len() => left
            .iter()
            .zip(right)
            .enumerate()
            .find_map(|(index, (value, other))| {
                first_difference(value, other, format!("{at}/{index}"))
            }),
        _ if original == round_trip => None,
        _ => Some(if at.is_empty() { "/".to_owned() } else { at }),
    }
}

fn is_empty(value: &JsonValue) -> bool {
    match value {
        JsonValue::Object(map) => map.is_empty(),
        JsonValue::Array(list) => list.is_empty(),
        _ => false,
    }
}

/// Reads a Compose file as a YAML value (Compose has too many fields for a
/// typed subset to help).
///
/// # Errors
/// [`DeployError::Read`] or [`DeployError::Yaml`].
pub fn read_compose(path: &Path) -> Result<YamlValue, DeployError> {
    let text = read(path)?;
    serde_norway::from_str(&text).map_err(|error| yaml_error(&path.display().to_string(), error))
}
