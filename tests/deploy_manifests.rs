//! Every YAML manifest in deploy/ parses, and every environment variable it
//! sets (`env:` and `extraEnv:` lists) is one the binary knows (the README's
//! configuration table), with a value the binary accepts. A misspelt or
//! retired name would be ignored, or refused at startup, in a cluster only.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use clap::Arg;
use matyan_frontier::config::reference;
use yaml_rust2::{Yaml, YamlLoader};

/// `KAFKA_PROPERTY_*` passes any librdkafka property through.
const PROPERTY_PREFIX: &str = "KAFKA_PROPERTY_";

fn manifests(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            manifests(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "yaml" || ext == "yml") {
            found.push(path);
        }
    }
}

/// The `(name, literal value)` of every environment entry under `yaml`; a
/// `valueFrom` entry has no literal value.
fn env_entries(yaml: &Yaml, found: &mut Vec<(String, Option<String>)>) {
    match yaml {
        Yaml::Hash(map) => {
            for (key, value) in map {
                if matches!(key.as_str(), Some("env" | "extraEnv")) {
                    for entry in value.as_vec().into_iter().flatten() {
                        let name = entry["name"].as_str().expect("an env entry has a name").to_owned();
                        found.push((name, scalar(&entry["value"])));
                    }
                }
                // The chart turns `frontier.logLevel` into LOG_LEVEL.
                if key.as_str() == Some("logLevel") {
                    found.push(("LOG_LEVEL".into(), scalar(value)));
                }
                env_entries(value, found);
            }
        }
        Yaml::Array(items) => items.iter().for_each(|item| env_entries(item, found)),
        _ => {}
    }
}

fn scalar(yaml: &Yaml) -> Option<String> {
    match yaml {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(n) => Some(n.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Why the binary would not take `value` for `arg`, if it would not.
fn refusal(arg: &Arg, value: &str) -> Option<String> {
    // As the binary reads a variable: through its flag, which clap parses exactly as the variable.
    let flag = format!("--{}={value}", arg.get_long().expect("every variable is also a flag"));
    let command = clap::Command::new("start").arg(arg.clone().env(None));
    command.try_get_matches_from(["start", &flag]).err().map(|e| e.to_string())
}

#[test]
fn every_variable_set_in_deploy_is_one_the_binary_knows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let mut files = Vec::new();
    manifests(&root, &mut files);
    let known: Vec<Arg> = reference::variables().into_iter().filter(|arg| !arg.is_hide_set()).collect();
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let documents = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: not YAML: {e}", file.display()));
        let mut entries = Vec::new();
        documents.iter().for_each(|doc| env_entries(doc, &mut entries));
        for (name, value) in entries {
            checked += 1;
            if name.starts_with(PROPERTY_PREFIX) {
                continue;
            }
            let Some(arg) = known.iter().find(|arg| arg.get_env() == Some(OsStr::new(&name))) else {
                problems.push(format!("{}: {name} is not a variable of the binary", file.display()));
                continue;
            };
            if let Some(why) = value.as_deref().and_then(|value| refusal(arg, value)) {
                problems.push(format!("{}: {name}={value:?} is refused: {why}", file.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(checked >= 10, "the overlay's variables were found ({checked} in {files:?})");
}

#[test]
fn the_overlay_probes_the_binarys_health_paths() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/values-frontier.yaml");
    let values = &YamlLoader::load_from_str(&std::fs::read_to_string(path).unwrap()).unwrap()[0]["frontier"];
    assert_eq!(values["livenessPath"].as_str(), Some("/health/live/"));
    assert_eq!(values["readinessPath"].as_str(), Some("/health/ready/"));
    assert_eq!(values["service"]["port"].as_i64(), Some(53801), "PORT's default: the chart sets no PORT");
}

#[test]
fn the_checker_refuses_an_unknown_name_and_a_bad_value() {
    let yaml = "env:\n  - name: WS_MAX_CONECTIONS\n    value: \"10\"\n  - name: WS_DRAIN_SPREAD\n    value: soon\n";
    let mut entries = Vec::new();
    env_entries(&YamlLoader::load_from_str(yaml).unwrap()[0], &mut entries);
    let variables = reference::variables();
    assert!(!variables.iter().any(|arg| arg.get_env() == Some(OsStr::new(&entries[0].0))), "misspelt: unknown");
    let spread = variables.iter().find(|arg| arg.get_env() == Some(OsStr::new("WS_DRAIN_SPREAD"))).unwrap();
    assert!(refusal(spread, "soon").is_some(), "not seconds: refused");
    assert!(refusal(spread, "30").is_none());
}
