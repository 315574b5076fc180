//! One `[[serve.switchboard]]` entry of the pod's TOML config.

use serde::{Deserialize, Serialize};

/// The kind of registry a source is, which picks its adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// The MCP Registry API (`/v0.1/servers`).
    Mcp,
    /// A list of A2A agents' base URLs (`/.well-known/agent-card.json`).
    A2a,
    /// A NANDA index (`/lookup/{id}`, `/search?q=`, `/list`).
    Nanda,
    /// A simple JSON registry (Figure 5 of the federation paper): one document listing entries.
    Simple,
    /// Another agentry pod (`/api/v1/agents`).
    Pod,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Mcp => "mcp",
            SourceKind::A2a => "a2a",
            SourceKind::Nanda => "nanda",
            SourceKind::Simple => "simple",
            SourceKind::Pod => "pod",
        }
    }
}

/// One configured source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The `@prefix:` that routes a reference here (letters, digits, `-`, `_`).
    pub prefix: String,
    pub kind: SourceKind,
    /// Base URL (every kind but `a2a`, which may list several in `urls`).
    #[serde(default)]
    pub url: Option<String>,
    /// A2A agents' base URLs.
    #[serde(default)]
    pub urls: Vec<String>,
    /// Deadline of one request to this source, and of this source's part of a fan-out.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Allow loopback, private and link-local addresses (tests, a registry on the LAN).
    #[serde(default)]
    pub allow_private: bool,
    /// Name of an environment variable holding a bearer token sent to this source.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Seconds a fetched A2A card is reused when its answer gave no `max-age`.
    #[serde(default = "default_refresh")]
    pub refresh_secs: u64,
    /// Largest answer read from this source (bytes).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: u64,
    /// Most pages one listing follows before it stops with an error.
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
}

fn default_timeout_ms() -> u64 {
    2000
}
fn default_refresh() -> u64 {
    300
}
fn default_max_body() -> u64 {
    8 * 1024 * 1024
}
fn default_max_pages() -> u32 {
    10_000
}

impl SourceConfig {
    /// A source with the defaults, for tests and tools.
    pub fn new(prefix: &str, kind: SourceKind, url: &str) -> SourceConfig {
        SourceConfig {
            prefix: prefix.to_owned(),
            kind,
            url: Some(url.to_owned()),
            urls: Vec::new(),
            timeout_ms: default_timeout_ms(),
            allow_private: false,
            token_env: None,
            refresh_secs: default_refresh(),
            max_body_bytes: default_max_body(),
            max_pages: default_max_pages(),
        }
    }

    /// Every base URL of the source.
    pub fn base_urls(&self) -> Vec<String> {
        self.url.iter().chain(self.urls.iter()).cloned().collect()
    }

    /// Check the entry; the message names the field (`switchboard[i].field`).
    pub fn validate(&self, i: usize) -> Result<(), String> {
        let at = |f: &str| format!("switchboard[{i}].{f}");
        if self.prefix.is_empty()
            || self.prefix.len() > 64
            || !self
                .prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "{}: {:?} must be 1–64 letters, digits, - or _",
                at("prefix"),
                self.prefix
            ));
        }
        let urls = self.base_urls();
        if urls.is_empty() {
            return Err(format!("{}: a source needs a url", at("url")));
        }
        if self.kind != SourceKind::A2a && (urls.len() != 1 || self.url.is_none()) {
            return Err(format!(
                "{}: only a2a sources list several urls; give this {} source one url",
                at("urls"),
                self.kind.as_str()
            ));
        }
        for u in &urls {
            let parsed = url::Url::parse(u).map_err(|e| format!("{}: {u:?}: {e}", at("url")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                return Err(format!("{}: {u:?} must be an http(s) URL", at("url")));
            }
        }
        if self.timeout_ms == 0 || self.timeout_ms > 120_000 {
            return Err(format!("{}: must be 1..=120000", at("timeout_ms")));
        }
        if self.max_body_bytes == 0 {
            return Err(format!("{}: must be positive", at("max_body_bytes")));
        }
        if self.max_pages == 0 {
            return Err(format!("{}: must be positive", at("max_pages")));
        }
        Ok(())
    }
}

/// Validate a whole list: each entry, and no prefix twice.
pub fn validate_all(sources: &[SourceConfig]) -> Result<(), String> {
    for (i, s) in sources.iter().enumerate() {
        s.validate(i)?;
        if sources[..i].iter().any(|o| o.prefix == s.prefix) {
            return Err(format!(
                "switchboard[{i}].prefix: {:?} is configured twice",
                s.prefix
            ));
        }
    }
    Ok(())
}
