//! `agentry`: run a registry pod and talk to one.
//!
//! This file only wires things: configuration (flags > `AGENTRY_*` environment > TOML file >
//! defaults, see [`config`]), logging, the tokio runtime and exit codes ([`exit`]). Each
//! command lives in its own module under [`cmd`].

mod cmd;
mod config;
mod exit;
mod remote;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};
use tracing_subscriber::EnvFilter;

use cmd::{Command, Global, LogFormat};
use exit::Code;

/// A registry for AI agents: an OCI Distribution v1.1 registry with agent discovery.
#[derive(Debug, Parser)]
#[command(name = "agentry", version, about, after_help = exit::AFTER_HELP)]
struct Cli {
    #[command(flatten)]
    global: Global,

    #[command(subcommand)]
    command: Command,
}

/// Parse the command line with the config file's values installed as defaults. Usage and
/// configuration errors exit here with code 2 (help and version with 0), as clap does.
fn parse_cli(args: Vec<OsString>) -> Cli {
    let cmd = match config::apply_file(Cli::command(), &args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(Code::Usage as i32);
        }
    };
    let matches = cmd.try_get_matches_from(args).unwrap_or_else(|e| e.exit());
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Logs go to stderr so stdout stays clean for results and `--json`.
fn init_tracing(global: &Global, default_level: &str) {
    const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];
    let filter = match std::env::var("AGENTRY_LOG") {
        Ok(f) if !f.is_empty() => EnvFilter::new(f),
        _ => {
            let base = LEVELS.iter().position(|l| *l == default_level).unwrap_or(1);
            let ours = LEVELS[(base + usize::from(global.verbose)).min(LEVELS.len() - 1)];
            // Our crates at the chosen level; dependencies (hyper, reqwest…) stay at warn unless
            // -vvv asks for everything. The platform TLS verifier logs every refused
            // certificate as an error; the client's own error says it in one sentence.
            let deps = if global.verbose >= 3 {
                "trace"
            } else {
                "warn,rustls_platform_verifier=off"
            };
            EnvFilter::new(format!("{deps},agentry={ours}"))
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match global.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = parse_cli(std::env::args_os().collect());
    init_tracing(&cli.global, cli.command.default_log_level());
    let global = cli.global;
    match cli.command.run(&global).await {
        Ok(code) => code,
        Err(err) => {
            let code = exit::classify(&err);
            if global.json {
                let doc = serde_json::json!({
                    "error": { "kind": exit::name(code), "exit_code": code as u8, "message": format!("{err:#}") }
                });
                eprintln!("{doc}");
            } else {
                eprintln!("error: {err:#}");
            }
            code.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse_with_file(toml: &str, argv: &[&str]) -> Cli {
        let cmd = config::apply_str(Cli::command(), toml, std::path::Path::new("c.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let m = cmd
            .try_get_matches_from(argv)
            .unwrap_or_else(|e| panic!("{e}"));
        Cli::from_arg_matches(&m).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `--data` and `--embed-precision` are flattened groups: the config file still reaches
    /// them, top-level for every command and in a command's own table.
    #[test]
    fn the_config_file_sets_the_shared_data_and_precision_options() {
        use std::path::Path;
        let toml = "data = \"/all\"\n[serve]\ndata = \"/pod\"\nembed-precision = \"f32\"\n";
        match parse_with_file(toml, &["agentry", "serve"]).command {
            Command::Serve(a) => {
                assert_eq!(a.data.data, Path::new("/pod"));
                assert_eq!(
                    a.embed_precision.embed_precision,
                    agentry_embed::PrecisionChoice::F32
                );
            }
            other => panic!("{other:?}"),
        }
        match parse_with_file(toml, &["agentry", "reindex"]).command {
            Command::Reindex(a) => {
                assert_eq!(a.data.data, Path::new("/all"));
                assert_eq!(
                    a.embed_precision.embed_precision,
                    agentry_embed::PrecisionChoice::Auto
                );
            }
            other => panic!("{other:?}"),
        }
        match parse_with_file(toml, &["agentry", "gc", "--data", "/flag"]).command {
            Command::Gc(a) => assert_eq!(a.data.data, Path::new("/flag")),
            other => panic!("{other:?}"),
        }
        match parse_with_file("", &["agentry", "gc"]).command {
            Command::Gc(a) => assert_eq!(a.data.data, Path::new("./agentry-data")),
            other => panic!("{other:?}"),
        }
    }
}
