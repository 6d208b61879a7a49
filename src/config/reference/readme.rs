//! The README's configuration table, written from the declaration, and the
//! places that name the variables, checked against it:
//!
//! - `README.md`: the block between [`README_BEGIN`] and [`README_END`] is
//!   exactly [`config_table_markdown`]. A failure prints the block to paste;
//!   `UPDATE_README=1 cargo test config::` rewrites it.
//! - `config/*.env`: a line `NAME=value` sets a variable; a line `# NAME=value`
//!   shows one left at its default, so its value must be that default (empty
//!   when the variable has none). Each file names every documented variable
//!   exactly once, and nothing else; `KAFKA_PROPERTY_<NAME>` passes through and
//!   may appear too. Prose comments are not checked.
//! - `compose.yaml`: the `frontier` service takes its settings from
//!   `config/compose.env` (which misses none), and every variable its
//!   `environment:` adds is one the service knows.
//! - `--help` names every documented variable.

use std::collections::BTreeMap;

use super::*;

/// The README lines that enclose the generated table.
pub const README_BEGIN: &str =
    "<!-- BEGIN configuration table, generated from src/config: UPDATE_README=1 cargo test config:: rewrites it -->";
pub const README_END: &str = "<!-- END configuration table -->";

/// The README's configuration table, one table per section, between the markers.
pub fn config_table_markdown() -> String {
    let mut markdown = format!("{README_BEGIN}\n");
    let mut heading = None;
    for arg in variables().iter().filter(|arg| visible(arg)) {
        if arg.get_help_heading() != heading {
            if heading == Some("Kafka") {
                markdown.push_str(&kafka_property_row());
            }
            heading = arg.get_help_heading();
            markdown.push_str(&format!("\n#### {}\n\n| variable | default | meaning |\n|---|---|---|\n", heading.unwrap_or_default()));
        }
        let shown = default(arg).map_or_else(|| "unset".to_string(), |value| format!("`{value}`"));
        markdown.push_str(&format!("| `{}` | {shown} | {} |\n", name(arg), meaning(arg, false).replace('|', "\\|")));
    }
    markdown.push_str(&format!("\n{README_END}"));
    markdown
}

fn kafka_property_row() -> String {
    format!("| `{KAFKA_PROPERTY_PREFIX}<NAME>` | – | {} |\n", KAFKA_PROPERTY_HELP)
}

fn repo_file(path: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Documented variables and their defaults ("" when none).
fn documented() -> BTreeMap<String, String> {
    variables().iter().filter(|arg| visible(arg)).map(|arg| (name(arg), default(arg).unwrap_or_default())).collect()
}

fn is_variable_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase()) && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

#[test]
fn the_readme_table_is_generated_from_the_declaration() {
    let readme = repo_file("README.md");
    let generated = config_table_markdown();
    let (Some(begin), Some(end)) = (readme.find(README_BEGIN), readme.find(README_END)) else {
        panic!("README.md lacks the markers; put this block in its Configuration section:\n\n{generated}\n");
    };
    let current = &readme[begin..end + README_END.len()];
    if current == generated {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = readme.replace(current, &generated);
        std::fs::write(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"), updated).unwrap();
        return;
    }
    panic!("README.md's configuration table differs from src/config; replace it with this (or run UPDATE_README=1 cargo test config::):\n\n{generated}\n");
}

#[test]
fn every_env_file_lists_every_variable_once_and_no_other() {
    let documented = documented();
    for file in ["config/local.env", "config/compose.env"] {
        let text = repo_file(file);
        let mut listed = BTreeMap::new();
        for (number, line) in text.lines().enumerate() {
            let (commented, setting) = match line.trim().strip_prefix('#') {
                Some(comment) => (true, comment.trim()),
                None => (false, line.trim()),
            };
            let Some((name, value)) = setting.split_once('=').filter(|(name, _)| is_variable_name(name)) else { continue };
            let at = format!("{file}:{}", number + 1);
            if name.starts_with(KAFKA_PROPERTY_PREFIX) {
                continue;
            }
            let default = documented.get(name).unwrap_or_else(|| panic!("{at}: {name} is not a variable of the service"));
            assert!(!commented || value == default, "{at}: commented out, {name} shows its default '{default}', not '{value}'");
            assert!(listed.insert(name, at.clone()).is_none(), "{at}: {name} is listed twice");
        }
        let missing: Vec<&String> = documented.keys().filter(|name| !listed.contains_key(name.as_str())).collect();
        assert!(missing.is_empty(), "{file} does not list {missing:?} (as `# NAME=default` when it keeps the default)");
    }
}

#[test]
fn compose_takes_the_frontier_settings_from_compose_env() {
    let compose = repo_file("compose.yaml");
    let service: Vec<&str> = compose
        .lines()
        .skip_while(|line| *line != "  frontier:")
        .skip(1)
        .take_while(|line| line.trim().is_empty() || line.trim_start().starts_with('#') || line.starts_with("   "))
        .collect();
    assert!(!service.is_empty(), "compose.yaml has no `frontier` service");
    assert!(service.iter().any(|line| line.trim() == "env_file: config/compose.env"), "the frontier service must use config/compose.env");
    let documented = documented();
    let mut in_environment = false;
    for line in &service {
        let depth = line.len() - line.trim_start().len();
        if depth <= 4 {
            in_environment = line.trim() == "environment:";
            continue;
        }
        let entry = line.trim().trim_start_matches("- ");
        let name = entry.split([':', '=']).next().unwrap_or_default();
        if in_environment && !entry.starts_with('#') {
            assert!(
                documented.contains_key(name) || name.starts_with(KAFKA_PROPERTY_PREFIX),
                "compose.yaml: {name} is not a variable of the service"
            );
        }
    }
}

#[test]
fn help_names_every_variable() {
    let help = environment_help();
    for name in documented().keys() {
        assert!(help.contains(&format!("  {name} [")), "--help does not name {name}");
    }
    assert!(!help.contains("  KAFKA_MESSAGE_TIMEOUT_MS ["), "the retired variable is refused, not documented");
}
