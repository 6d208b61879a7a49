//! The documentation of the variables, written from their declaration: the
//! list after `--help`, and the README's configuration table.

use clap::{Arg, Args, Command};

use super::kafka::{KAFKA_PROPERTY_HELP, KAFKA_PROPERTY_PREFIX};
use super::Config;

/// The arguments of the variables, in declaration order (the retired ones too).
pub fn variables() -> Vec<Arg> {
    let mut command = Config::augment_args(Command::new("start"));
    // Built, an argument knows how it is shown (`--port <PORT>`), as in clap's errors.
    command.build();
    command.get_arguments().filter(|arg| arg.get_env().is_some()).cloned().collect()
}

/// Adds the list of variables to the help of `cli`, and keeps the variables'
/// values (secrets among them) out of the help of `start`.
pub fn describe(cli: Command) -> Command {
    cli.after_help(environment_help()).mut_subcommand("start", |start| start.mut_args(|arg| arg.hide_env_values(true)))
}

fn name(arg: &Arg) -> String {
    arg.get_env().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}

fn default(arg: &Arg) -> Option<String> {
    arg.get_default_values().first().map(|value| value.to_string_lossy().into_owned())
}

/// What the variable means: its doc comment (or only its first sentence),
/// then the values it accepts.
fn meaning(arg: &Arg, first_sentence: bool) -> String {
    let doc = arg.get_long_help().or(arg.get_help()).map(ToString::to_string).unwrap_or_default();
    let mut meaning = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    if first_sentence {
        let end = meaning.match_indices(". ").find(|(at, _)| meaning[at + 2..].starts_with(|c: char| c.is_ascii_uppercase()));
        meaning.truncate(end.map_or(meaning.len(), |(at, _)| at));
    }
    let accepted: Vec<String> =
        arg.get_possible_values().iter().filter(|value| !value.is_hide_set()).map(|value| format!("`{}`", value.get_name())).collect();
    if !accepted.is_empty() {
        meaning = format!("{}: one of {}", meaning.trim_end_matches('.'), accepted.join(", "));
    }
    if !meaning.ends_with('.') {
        meaning.push('.');
    }
    meaning
}

fn visible(arg: &Arg) -> bool {
    !arg.is_hide_set()
}

/// The list after `--help`: every variable with its default and the first
/// sentence of what it means (`start --help` and the README say it all).
pub fn environment_help() -> String {
    let mut help = String::from(
        "Environment variables (also read from ./.env; real variables win). Each is also a flag of `start`, which wins;\n\
         `start --help` groups them by section.\n",
    );
    for arg in variables().iter().filter(|arg| visible(arg)) {
        let shown = default(arg).map_or_else(|| "[unset]".to_string(), |value| format!("[{value}]"));
        help.push_str(&format!("  {} {shown}\n      {}\n", name(arg), meaning(arg, true).replace('`', "")));
    }
    help.push_str(&format!("  {KAFKA_PROPERTY_PREFIX}<NAME>\n      {}", KAFKA_PROPERTY_HELP.replace('`', "")));
    help
}

#[cfg(test)]
mod readme;
