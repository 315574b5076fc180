//! The switchboard: agentry reaching the registries agents already live in.
//!
//! One [`Adapter`] per kind of registry ([`SourceKind`]) speaks the remote's own protocol and
//! translates every document it receives through `agentry-formats` into the canonical
//! [`AgentRecord`], with provenance ([`Found`]: source prefix, remote URL, remote id, fetch
//! time). All HTTP goes through one hostile-input [`fetch::Fetcher`]. [`Switchboard`] holds
//! the configured sources: `@prefix:name` lookup, [`fan_out`] search (parallel, per-source
//! deadline, partial results naming the sources that failed), paged listing for import with a
//! loop guard ([`Pager`]), and each source's health.

pub mod adapters;
pub mod config;
pub mod fetch;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentry_types::AgentRecord;
use async_trait::async_trait;
use parking_lot::Mutex;
use serde::Serialize;

pub use config::{SourceConfig, SourceKind, validate_all};

/// Why a source did not answer usefully.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("no answer within {0} ms")]
    Timeout(u64),
    #[error("{url} answered HTTP {status}")]
    Status { status: u16, url: String },
    #[error("the answer is larger than this source's limit of {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Redirect(String),
    #[error(
        "{0} is a loopback, private or link-local address; refused (set allow_private = true for this source)"
    )]
    Private(String),
    #[error("the answer is not what this kind of registry sends: {0}")]
    Garbage(String),
    #[error("pagination loops: the source sent cursor {0:?} a second time")]
    CursorLoop(String),
    #[error("pagination did not end within {0} pages (max_pages)")]
    TooManyPages(u32),
    #[error("request failed: {0}")]
    Http(String),
    #[error("source misconfigured: {0}")]
    Config(String),
    #[error("this source cannot {0}")]
    Unsupported(&'static str),
}

/// A record found at a source, translated, with where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    /// The source's prefix (`nanda` for `@nanda:`).
    pub source: String,
    /// The document's own URL at the source.
    pub remote_url: String,
    /// The source's id for it (what `@prefix:ID` resolves).
    pub remote_id: String,
    /// RFC 3339 time it was fetched.
    pub fetched_at: String,
    pub record: AgentRecord,
}

/// One page of a source's listing.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub items: Vec<Found>,
    /// Documents on the page that could not be read as records (id or position, reason).
    pub skipped: Vec<(String, String)>,
    pub next_cursor: Option<String>,
}

/// One kind of registry, speaking its native protocol.
#[async_trait]
pub trait Adapter: Send + Sync {
    fn config(&self) -> &SourceConfig;
    /// Records matching free text, at most `limit`.
    async fn search(&self, query: &str, limit: usize) -> Result<Vec<Found>, SourceError>;
    /// The record the source calls `name`; `None` when it has none.
    async fn lookup(&self, name: &str) -> Result<Option<Found>, SourceError>;
    /// One page of everything (changed since `since`, RFC 3339, where the source can say).
    async fn list(
        &self,
        cursor: Option<&str>,
        since: Option<&str>,
    ) -> Result<ListPage, SourceError>;
}

/// Build the adapter for a source.
pub fn adapter(cfg: &SourceConfig) -> Result<Arc<dyn Adapter>, SourceError> {
    cfg.validate(0).map_err(SourceError::Config)?;
    Ok(match cfg.kind {
        SourceKind::Mcp => Arc::new(adapters::mcp::Mcp::new(cfg.clone())?),
        SourceKind::A2a => Arc::new(adapters::a2a::A2a::new(cfg.clone())?),
        SourceKind::Nanda => Arc::new(adapters::nanda::Nanda::new(cfg.clone())?),
        SourceKind::Simple => Arc::new(adapters::simple::Simple::new(cfg.clone())?),
        SourceKind::Pod => Arc::new(adapters::pod::Pod::new(cfg.clone())?),
    })
}

/// Now as RFC 3339.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Read one remote document as a record through the format codecs, stamping provenance.
pub fn translate(
    cfg: &SourceConfig,
    doc: &serde_json::Value,
    remote_id: &str,
    remote_url: &str,
) -> Result<Found, SourceError> {
    let bytes = serde_json::to_vec(doc).map_err(|e| SourceError::Garbage(e.to_string()))?;
    let read = agentry_formats::read_one(&bytes, &agentry_formats::ReadOptions::default())
        .map_err(|report| {
            let reasons: Vec<String> = report
                .errors
                .iter()
                .take(3)
                .map(|p| {
                    if p.pointer.is_empty() {
                        p.reason.clone()
                    } else {
                        format!("{}: {}", p.pointer, p.reason)
                    }
                })
                .collect();
            SourceError::Garbage(format!(
                "{remote_id}: not a readable agent description ({})",
                reasons.join("; ")
            ))
        })?;
    let mut record = read.record;
    record.provenance.source_registry = Some(format!("@{}:{}", cfg.prefix, remote_id));
    Ok(Found {
        source: cfg.prefix.clone(),
        remote_url: remote_url.to_owned(),
        remote_id: remote_id.to_owned(),
        fetched_at: now_rfc3339(),
        record,
    })
}

/// Guards a listing: stops with a named error when a cursor comes back or the page count
/// passes the source's `max_pages`.
#[derive(Debug)]
pub struct Pager {
    seen: HashSet<String>,
    pages: u32,
    max_pages: u32,
}

impl Pager {
    pub fn new(max_pages: u32) -> Pager {
        Pager {
            seen: HashSet::new(),
            pages: 0,
            max_pages,
        }
    }

    /// Account for a page that returned `next`; `Ok(None)` when the listing is done.
    pub fn advance(&mut self, next: Option<String>) -> Result<Option<String>, SourceError> {
        self.pages += 1;
        let Some(c) = next.filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        if self.pages >= self.max_pages {
            return Err(SourceError::TooManyPages(self.max_pages));
        }
        if !self.seen.insert(c.clone()) {
            return Err(SourceError::CursorLoop(c));
        }
        Ok(Some(c))
    }

    pub fn pages(&self) -> u32 {
        self.pages
    }
}

/// A source that failed a fan-out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub source: String,
    pub error: String,
}

/// Merged results of a fan-out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FanOut {
    pub results: Vec<Found>,
    pub failed: Vec<Failure>,
}

/// Ask every source in parallel; each gets `min(deadline, its timeout_ms)`. Returns when all
/// answered or ran out of time, never later than the deadline (plus scheduling).
pub async fn fan_out(
    sources: &[Arc<dyn Adapter>],
    query: &str,
    limit: usize,
    deadline: Duration,
) -> FanOut {
    let calls = sources.iter().map(|a| {
        let a = Arc::clone(a);
        let q = query.to_owned();
        async move {
            let d = deadline.min(Duration::from_millis(a.config().timeout_ms));
            let r = match tokio::time::timeout(d, a.search(&q, limit)).await {
                Ok(r) => r,
                Err(_) => Err(SourceError::Timeout(d.as_millis() as u64)),
            };
            (a.config().prefix.clone(), r)
        }
    });
    let mut out = FanOut::default();
    for (prefix, r) in futures::future::join_all(calls).await {
        match r {
            Ok(found) => out.results.extend(found),
            Err(e) => out.failed.push(Failure {
                source: prefix,
                error: e.to_string(),
            }),
        }
    }
    out
}

/// A `@prefix:name` reference.
pub fn parse_ref(r: &str) -> Result<(&str, &str), String> {
    let rest = r
        .strip_prefix('@')
        .ok_or_else(|| format!("{r:?} is not a switchboard reference: expected @prefix:name"))?;
    let (prefix, name) = rest
        .split_once(':')
        .ok_or_else(|| format!("{r:?} has no name: expected @prefix:name"))?;
    if prefix.is_empty() {
        return Err(format!("{r:?} has an empty prefix: expected @prefix:name"));
    }
    if name.is_empty() || name.len() > 512 || name.chars().any(char::is_control) {
        return Err(format!(
            "{r:?}: the name must be 1–512 characters without control characters"
        ));
    }
    Ok((prefix, name))
}

/// A source's health as last seen.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Health {
    pub last_ok: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Milliseconds of the last answer.
    pub last_ms: Option<u64>,
}

/// One configured source as the registries endpoint shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryStatus {
    pub prefix: String,
    pub kind: &'static str,
    pub urls: Vec<String>,
    pub timeout_ms: u64,
    pub health: Health,
}

struct Entry {
    adapter: Arc<dyn Adapter>,
    health: Mutex<Health>,
}

/// Why a lookup gave no record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("{0}")]
    BadRef(String),
    #[error("no switchboard source has prefix @{0}: (see /api/v1/switchboard/registries)")]
    UnknownPrefix(String),
    #[error("@{0}:{1} was not found at its source")]
    NotFound(String, String),
    #[error("@{0}: {1}")]
    Source(String, SourceError),
}

/// The configured sources.
#[derive(Default)]
pub struct Switchboard {
    entries: Vec<Entry>,
}

impl Switchboard {
    /// Adapters for `sources` (validated first).
    pub fn new(sources: &[SourceConfig]) -> Result<Switchboard, String> {
        validate_all(sources)?;
        let mut entries = Vec::new();
        for (i, s) in sources.iter().enumerate() {
            let adapter = adapter(s).map_err(|e| format!("switchboard[{i}]: {e}"))?;
            entries.push(Entry {
                adapter,
                health: Mutex::new(Health::default()),
            });
        }
        Ok(Switchboard { entries })
    }

    /// From adapters built elsewhere (tests with faults a real source cannot produce).
    pub fn from_adapters(adapters: Vec<Arc<dyn Adapter>>) -> Switchboard {
        Switchboard {
            entries: adapters
                .into_iter()
                .map(|adapter| Entry {
                    adapter,
                    health: Mutex::new(Health::default()),
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn adapters(&self) -> Vec<Arc<dyn Adapter>> {
        self.entries
            .iter()
            .map(|e| Arc::clone(&e.adapter))
            .collect()
    }

    pub fn source(&self, prefix: &str) -> Option<Arc<dyn Adapter>> {
        self.entry(prefix).map(|e| Arc::clone(&e.adapter))
    }

    fn entry(&self, prefix: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.adapter.config().prefix == prefix)
    }

    fn note<T>(&self, prefix: &str, started: Instant, r: &Result<T, SourceError>) {
        let Some(e) = self.entry(prefix) else { return };
        let mut h = e.health.lock();
        h.last_ms = Some(started.elapsed().as_millis() as u64);
        match r {
            Ok(_) => h.last_ok = Some(now_rfc3339()),
            Err(err) => {
                h.last_error = Some(err.to_string());
                h.last_error_at = Some(now_rfc3339());
            }
        }
    }

    pub fn registries(&self) -> Vec<RegistryStatus> {
        self.entries
            .iter()
            .map(|e| {
                let c = e.adapter.config();
                RegistryStatus {
                    prefix: c.prefix.clone(),
                    kind: c.kind.as_str(),
                    urls: c.base_urls(),
                    timeout_ms: c.timeout_ms,
                    health: e.health.lock().clone(),
                }
            })
            .collect()
    }

    /// Resolve `@prefix:name` at its source, within the source's deadline.
    pub async fn lookup(&self, reference: &str) -> Result<Found, LookupError> {
        let (prefix, name) = parse_ref(reference).map_err(LookupError::BadRef)?;
        let entry = self
            .entry(prefix)
            .ok_or_else(|| LookupError::UnknownPrefix(prefix.to_owned()))?;
        let d = Duration::from_millis(entry.adapter.config().timeout_ms);
        let started = Instant::now();
        let r = match tokio::time::timeout(d, entry.adapter.lookup(name)).await {
            Ok(r) => r,
            Err(_) => Err(SourceError::Timeout(d.as_millis() as u64)),
        };
        self.note(prefix, started, &r);
        match r {
            Ok(Some(f)) => Ok(f),
            Ok(None) => Err(LookupError::NotFound(prefix.to_owned(), name.to_owned())),
            Err(e) => Err(LookupError::Source(prefix.to_owned(), e)),
        }
    }

    /// Search every source ([`fan_out`]), recording each one's health.
    pub async fn search(&self, query: &str, limit: usize, deadline: Duration) -> FanOut {
        let started = Instant::now();
        let out = fan_out(&self.adapters(), query, limit, deadline).await;
        for e in &self.entries {
            let p = &e.adapter.config().prefix;
            let r: Result<(), SourceError> = match out.failed.iter().find(|f| &f.source == p) {
                Some(f) => Err(SourceError::Http(f.error.clone())),
                None => Ok(()),
            };
            self.note(p, started, &r);
        }
        out
    }

    /// One page of `prefix`'s listing, within the source's deadline.
    pub async fn list_page(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        since: Option<&str>,
    ) -> Result<ListPage, SourceError> {
        let entry = self
            .entry(prefix)
            .ok_or_else(|| SourceError::Config(format!("no source has prefix @{prefix}:")))?;
        let d = Duration::from_millis(entry.adapter.config().timeout_ms);
        let started = Instant::now();
        let r = match tokio::time::timeout(d, entry.adapter.list(cursor, since)).await {
            Ok(r) => r,
            Err(_) => Err(SourceError::Timeout(d.as_millis() as u64)),
        };
        self.note(prefix, started, &r);
        r
    }
}

/// Case-insensitive match of every word of `query` against a record's name, description and
/// skills (sources whose protocol has no search are filtered this way).
pub fn matches_text(r: &AgentRecord, query: &str) -> bool {
    let mut hay = format!(
        "{} {} {} {}",
        r.identity.namespace,
        r.identity.name,
        r.identity.display_name.as_deref().unwrap_or(""),
        r.description
    );
    for s in &r.skills {
        hay.push(' ');
        hay.push_str(&s.name);
    }
    let hay = hay.to_lowercase();
    query
        .split_whitespace()
        .all(|w| hay.contains(&w.to_lowercase()))
}
