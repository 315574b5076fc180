//! What the client commands share: turning `--registry` + a reference into a [`Client`] with
//! the stored credentials, progress bars, and the format detector for `push`.

use std::path::PathBuf;
use std::sync::Arc;

use agentry_client::artifact::{BasicDetector, Detected, Detector};
use agentry_client::{AuthFile, Client, ClientOptions, Progress};
use agentry_types::Reference;

use crate::cmd::{Global, RegistryArgs};
use crate::exit::{Code, Coded};

/// The credentials file: `--auth-file`, else `~/.config/agentry/auth.json`.
pub fn auth_file_path(reg: &RegistryArgs) -> anyhow::Result<PathBuf> {
    if let Some(p) = &reg.auth_file {
        return Ok(p.clone());
    }
    crate::config::config_dir()
        .map(|d| d.join("auth.json"))
        .ok_or_else(|| {
            Coded::new(
                Code::Usage,
                "cannot locate ~/.config/agentry (HOME is unset): pass --auth-file",
            )
            .into()
        })
}

/// A client for `registry`, presenting the credentials `agentry login` stored for it.
pub fn client_for(registry: &str, reg: &RegistryArgs) -> anyhow::Result<Client> {
    let auth = AuthFile::load(auth_file_path(reg)?)?;
    let opts = ClientOptions {
        plain_http: reg.plain_http,
        insecure: reg.insecure,
        ca_file: reg.ca_file.clone(),
        credentials: auth.get(registry),
        ..ClientOptions::default()
    };
    Ok(Client::new(registry, opts)?)
}

/// Parse a reference and pick its registry: the one it names, else `--registry`.
pub fn resolve(reference: &str, reg: &RegistryArgs) -> anyhow::Result<(Client, Reference)> {
    let r = Reference::parse(reference)
        .map_err(|e| Coded::new(Code::Usage, format!("reference {reference:?}: {e}")))?;
    let registry = match (&r.registry, &reg.registry) {
        (Some(host), _) => host.clone(),
        (None, Some(default)) => default.clone(),
        (None, None) => {
            return Err(Coded::new(
                Code::Usage,
                format!(
                    "reference {reference:?} names no registry: write HOST:PORT/{reference} or pass --registry (or set AGENTRY_REGISTRY)"
                ),
            )
            .into());
        }
    };
    Ok((client_for(&registry, reg)?, r))
}

/// Blobs at least this large get a progress bar.
const BAR_THRESHOLD: u64 = 1024 * 1024;

/// Progress bars on stderr, one per large transfer; nothing in `--json` mode or without a
/// terminal.
#[derive(Clone)]
pub struct Bars {
    multi: Option<indicatif::MultiProgress>,
}

impl Bars {
    pub fn new(global: &Global) -> Bars {
        Bars {
            multi: global
                .progress_visible()
                .then(indicatif::MultiProgress::new),
        }
    }

    /// A progress watcher for a transfer of `size` bytes labelled `label`.
    pub fn bar(&self, label: &str, size: u64) -> Arc<dyn Progress> {
        match &self.multi {
            Some(m) if size >= BAR_THRESHOLD => {
                let pb = m.add(indicatif::ProgressBar::new(size));
                let style = indicatif::ProgressStyle::with_template(
                    "{msg:24!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> ");
                pb.set_style(style);
                pb.set_message(label.to_owned());
                Arc::new(Bar(pb))
            }
            _ => Arc::new(agentry_client::NoProgress),
        }
    }
}

struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn begin(&self, _label: &str, total: u64) {
        self.0.set_length(total);
    }
    fn set_position(&self, position: u64) {
        self.0.set_position(position);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// Recognises every description format `agentry-formats` reads (OSSA, A2A, OASF, MCP, NANDA,
/// simple JSON) by content, so `push` stores each under its registered media type.
pub struct FormatsDetector;

impl Detector for FormatsDetector {
    fn detect(&self, file_name: &str, bytes: &[u8]) -> Option<Detected> {
        let limits = agentry_formats::Limits::default();
        let found =
            agentry_formats::input::parse(bytes, &limits)
                .ok()
                .and_then(|(value, syntax)| {
                    Some((agentry_formats::detect::detect(&value).ok()?, syntax))
                });
        // The whitepaper's layout names the OSSA manifest `manifest.yaml`: by name it is one,
        // even when its content is too incomplete to detect (the registry validates it).
        let Some((found, syntax)) = found else {
            return BasicDetector.detect(file_name, bytes);
        };
        let format = found.format.format;
        let media_type = match (format, syntax) {
            // OSSA has a YAML and a JSON media type; keep the one matching the bytes.
            (agentry_formats::Format::Ossa, agentry_formats::Syntax::Json) => {
                agentry_oci::media::OSSA_MANIFEST_JSON
            }
            _ => agentry_formats::media_type_for(format),
        };
        Some(Detected {
            media_type: media_type.to_owned(),
            format: format.as_str().to_owned(),
        })
    }
}
