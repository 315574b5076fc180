//! The commands of the `agentry` binary: one module per command, one pattern for all.
//!
//! Each `cmd/<name>.rs` declares
//!
//! ```ignore
//! /// One-line summary shown in `agentry --help` (put it on the line in `commands!` below).
//! #[derive(Debug, clap::Args)]
//! pub struct Args { /* the command's own flags; `env = "AGENTRY_…"` where useful */ }
//!
//! pub async fn run(args: Args, global: &Global) -> anyhow::Result<std::process::ExitCode>;
//! ```
//!
//! and is registered by **one line** in [`commands!`] below (doc comment + `module => Variant`),
//! which declares the module, adds the enum variant and dispatches to `run`. Keep the list
//! sorted; nothing else in this file needs to change to add a command.
//!
//! Conventions every command follows:
//! - stdout is for results, stderr for logs, progress and errors;
//! - with `--json` the command prints exactly one JSON document on stdout ([`print_json`]);
//! - failures are returned as `Err`; attach an exit code with [`crate::exit::Coded`] /
//!   [`crate::exit::fail`] when it is not a plain failure (not found = 3, auth = 4, server = 5);
//! - commands that talk to a registry `#[command(flatten)]` a [`RegistryArgs`]; commands that
//!   work on a data directory flatten a [`DataArgs`] (and [`EmbedPrecisionArgs`] when they run
//!   the embedding model), with their own help line set by
//!   `#[command(mut_arg("data", |a| a.help("…")))]`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use agentry_types::DataDir;

use clap::ValueEnum;

/// Options every command accepts (declared `global`, so they may follow the command name).
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// Machine-readable output: one JSON document on stdout; errors as JSON on stderr.
    #[arg(long, global = true, env = "AGENTRY_JSON", value_parser = clap::builder::FalseyValueParser::new())]
    pub json: bool,

    /// More log output on stderr (-v info, -vv debug, -vvv trace). AGENTRY_LOG takes a full
    /// tracing filter (e.g. `agentry_client=debug`) and overrides this.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Log line format on stderr.
    #[arg(long, global = true, env = "AGENTRY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// TOML configuration file [default: ~/.config/agentry/config.toml].
    #[arg(long, global = true, env = crate::config::CONFIG_ENV, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl Global {
    /// Whether progress bars may be drawn: never in `--json` mode or when stderr is not a
    /// terminal (CI logs, pipes).
    pub fn progress_visible(&self) -> bool {
        use std::io::IsTerminal;
        !self.json && std::io::stderr().is_terminal()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where and how to reach a registry; flattened into every command that talks to one.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RegistryArgs {
    /// Registry to talk to (`host:port` or `http(s)://host:port`) when a reference names none.
    #[arg(long, env = "AGENTRY_REGISTRY", value_name = "URL")]
    pub registry: Option<String>,

    /// Use HTTPS but accept any certificate (self-signed test registries).
    #[arg(long, env = "AGENTRY_INSECURE", value_parser = clap::builder::FalseyValueParser::new())]
    pub insecure: bool,

    /// Use plain HTTP without trying HTTPS (a loopback host named without a scheme falls back
    /// to it by itself when HTTPS fails; -v says which was used).
    #[arg(long, env = "AGENTRY_PLAIN_HTTP", value_parser = clap::builder::FalseyValueParser::new())]
    pub plain_http: bool,

    /// Extra trusted CA certificates (PEM) for a registry with a private CA. A server
    /// certificate that is itself in the file is accepted as it is (pinned), even when it is
    /// marked a CA, as `openssl req -x509` makes them.
    #[arg(long, env = "AGENTRY_CA_CERT", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Credentials file written by `agentry login` [default: ~/.config/agentry/auth.json].
    #[arg(long, env = "AGENTRY_AUTH_FILE", value_name = "FILE")]
    pub auth_file: Option<PathBuf>,
}

/// `--data`: a pod's data directory. Declared once; each command that flattens it says in its
/// own help line what it does there (`mut_arg("data", …)`).
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// Data directory.
    #[arg(long, env = "AGENTRY_DATA", default_value = DataDir::DEFAULT)]
    pub data: PathBuf,
}

impl DataArgs {
    /// The layout of the directory.
    pub fn dir(&self) -> DataDir {
        DataDir::new(&self.data)
    }
}

/// Reads as the path itself, so a command's `args.data` is used like the plain path it was.
impl std::ops::Deref for DataArgs {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.data
    }
}

/// `--embed-precision`: the arithmetic of the embedding model, for the commands that run it
/// (serve, reindex). Declared once; each says in its own help what the value means for it.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct EmbedPrecisionArgs {
    /// Arithmetic of the embedding model.
    #[arg(
        long,
        env = "AGENTRY_EMBED_PRECISION",
        default_value = "auto",
        value_name = "auto|f32|int8"
    )]
    pub embed_precision: agentry_embed::PrecisionChoice,
}

/// Reads as the choice itself (`args.embed_precision.resolve(…)`).
impl std::ops::Deref for EmbedPrecisionArgs {
    type Target = agentry_embed::PrecisionChoice;
    fn deref(&self) -> &agentry_embed::PrecisionChoice {
        &self.embed_precision
    }
}

/// Print one JSON document on stdout (the `--json` contract).
pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// `agentry trust verify-bundle` (a `trust` subcommand, not a command of its own).
pub mod verify_bundle;

macro_rules! commands {
    ($( $(#[$doc:meta])* $module:ident => $variant:ident ),* $(,)?) => {
        $( pub mod $module; )*

        /// Every `agentry` command.
        // One value, parsed once at start-up: variant sizes do not matter.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, clap::Subcommand)]
        pub enum Command {
            $( $(#[$doc])* $variant($module::Args), )*
        }

        impl Command {
            /// The command's name as typed (`push`, `serve`, …).
            pub fn name(&self) -> &'static str {
                match *self {
                    $( Command::$variant(_) => stringify!($module), )*
                }
            }

            pub async fn run(self, global: &Global) -> anyhow::Result<ExitCode> {
                match self {
                    $( Command::$variant(args) => $module::run(args, global).await, )*
                }
            }
        }
    };
}

// One line per command, sorted. Add yours here.
commands! {
    /// Attach a document (SBOM, provenance, compliance, Sigstore bundle…) to a manifest as a referrer.
    attach => Attach,
    /// List a registry's repositories, or a repository's tags.
    catalog => Catalog,
    /// Convert an agent description to another format (OSSA, A2A, OASF, MCP, NANDA, simple).
    convert => Convert,
    /// Apply or inspect the PostgreSQL metadata schema (migrate, status).
    db => Db,
    /// Delete a manifest (by tag or digest), or only a tag.
    delete => Delete,
    /// Remove blobs no manifest references (online through --registry, or on --data).
    gc => Gc,
    /// Import a switchboard source's records into a pod, with a progress bar.
    import => Import,
    /// Show a manifest: layers, annotations, referrers.
    inspect => Inspect,
    /// Generate an Ed25519 signing key (FILE, mode 0600) and its public key (FILE.pub).
    keygen => Keygen,
    /// Check and store credentials for a registry.
    login => Login,
    /// Forget the credentials stored for a registry.
    logout => Logout,
    /// The mesh as this pod sees it: `status` (who it is, members, records) or `peers`.
    mesh => Mesh,
    /// Fetch or check the local embedding model for semantic search (all-MiniLM-L6-v2).
    model => Model,
    /// Download an agent artifact; every layer verified, written under its title.
    pull => Pull,
    /// Pack an agent folder (or one description file) and push it.
    push => Push,
    /// Rebuild the discovery index from the stored records (pod stopped), with a progress bar.
    reindex => Reindex,
    /// Resolve a switchboard reference (@prefix:name) through a pod.
    resolve => Resolve,
    /// Find agents by words, meaning, capability and filters.
    search => Search,
    /// Run a registry pod (OCI /v2/, discovery /api/v1/, /health, /ready).
    serve => Serve,
    /// Sign a manifest's digest and attach the signature as an OCI referrer.
    sign => Sign,
    /// Tag a manifest, or copy it to another repository of the same registry.
    tag => Tag,
    /// Trust anchors: print the DNS TXT records a publisher publishes.
    trust => Trust,
    /// Check agent descriptions against their format's schema and semantic rules.
    validate => Validate,
    /// Verify an agent artifact: digest, signature, DNS key, certificate, SBOM, provenance…
    verify => Verify,
}

impl Command {
    /// Log level when neither `-v` nor `AGENTRY_LOG` says otherwise: long-running commands
    /// narrate at `info`, client commands stay quiet (`warn`).
    pub fn default_log_level(&self) -> &'static str {
        match self.name() {
            "serve" | "reindex" | "gc" => "info",
            _ => "warn",
        }
    }
}
