//! A2A agents: each configured base URL serves its card at `/.well-known/agent-card.json`
//! (A2A 0.3+), or at the legacy `/.well-known/agent.json`, tried when the first answers 404.
//! Cards are cached: reused while `Cache-Control: max-age` (else the source's `refresh_secs`)
//! says they are fresh, revalidated with `If-None-Match` when they sent an `ETag`, and not kept
//! at all under `no-store`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parking_lot::Mutex;
use url::Url;

use crate::fetch::{Fetcher, parse_json};
use crate::{Adapter, Found, ListPage, SourceConfig, SourceError, matches_text, translate};

pub const CARD_PATH: &str = ".well-known/agent-card.json";
pub const LEGACY_CARD_PATH: &str = ".well-known/agent.json";

#[derive(Clone)]
struct Cached {
    found: Found,
    etag: Option<String>,
    card_url: Url,
    fresh_until: Instant,
    /// Seconds the card stays fresh, from the answer that sent it (a 304 that says nothing
    /// keeps it).
    ttl: u64,
}

pub struct A2a {
    cfg: SourceConfig,
    bases: Vec<Url>,
    fetch: Fetcher,
    cache: Mutex<HashMap<String, Cached>>,
}

/// `max-age` seconds of a Cache-Control header; `Some(0)` for `no-store`/`no-cache`.
fn max_age(h: &reqwest::header::HeaderMap) -> Option<u64> {
    let v = h.get(reqwest::header::CACHE_CONTROL)?.to_str().ok()?;
    let mut age = None;
    for d in v.split(',').map(str::trim) {
        let d = d.to_ascii_lowercase();
        if d == "no-store" || d == "no-cache" {
            return Some(0);
        }
        if let Some(n) = d.strip_prefix("max-age=") {
            age = n.trim_matches('"').parse().ok();
        }
    }
    age
}

impl A2a {
    pub fn new(cfg: SourceConfig) -> Result<A2a, SourceError> {
        let mut bases = Vec::new();
        for u in cfg.base_urls() {
            let mut b = Url::parse(&u).map_err(|e| SourceError::Config(format!("{u:?}: {e}")))?;
            if !b.path().ends_with('/') {
                b.set_path(&format!("{}/", b.path()));
            }
            bases.push(b);
        }
        Ok(A2a {
            fetch: Fetcher::new(&cfg)?,
            bases,
            cfg,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn join(base: &Url, p: &str) -> Result<Url, SourceError> {
        base.join(p)
            .map_err(|e| SourceError::Config(format!("{base}: {e}")))
    }

    /// The card of one agent, from the cache when fresh.
    async fn card(&self, base: &Url) -> Result<Found, SourceError> {
        let key = base.to_string();
        let cached = self.cache.lock().get(&key).cloned();
        if let Some(c) = &cached
            && c.fresh_until > Instant::now()
        {
            return Ok(c.found.clone());
        }
        let (mut url, etag) = match &cached {
            Some(c) => (c.card_url.clone(), c.etag.clone()),
            None => (Self::join(base, CARD_PATH)?, None),
        };
        let mut f = self.fetch.get(url.clone(), etag.as_deref()).await?;
        if f.status == 404 && cached.is_none() {
            url = Self::join(base, LEGACY_CARD_PATH)?;
            f = self.fetch.get(url.clone(), None).await?;
        }
        if f.status == 304
            && let Some(mut c) = cached
        {
            c.ttl = max_age(&f.headers).unwrap_or(c.ttl);
            c.fresh_until = Instant::now() + Duration::from_secs(c.ttl);
            let found = c.found.clone();
            self.cache.lock().insert(key, c);
            return Ok(found);
        }
        if !(200..300).contains(&f.status) {
            return Err(SourceError::Status {
                status: f.status,
                url: url.to_string(),
            });
        }
        let ttl = max_age(&f.headers).unwrap_or(self.cfg.refresh_secs);
        let fresh_until = Instant::now() + Duration::from_secs(ttl);
        let doc = parse_json(&f.body)?;
        let id = doc
            .get("name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(base.as_str())
            .to_owned();
        let found = translate(&self.cfg, &doc, &id, url.as_str())?;
        let etag = f
            .headers
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if ttl > 0 || etag.is_some() {
            self.cache.lock().insert(
                key,
                Cached {
                    found: found.clone(),
                    etag,
                    card_url: url,
                    fresh_until,
                    ttl,
                },
            );
        }
        Ok(found)
    }

    /// Every card; the first error when none could be read.
    async fn all(&self) -> Result<(Vec<Found>, Vec<(String, String)>), SourceError> {
        let results = futures::future::join_all(self.bases.iter().map(|b| self.card(b))).await;
        let mut found = Vec::new();
        let mut failed = Vec::new();
        let mut first = None;
        for (b, r) in self.bases.iter().zip(results) {
            match r {
                Ok(f) => found.push(f),
                Err(e) => {
                    failed.push((b.to_string(), e.to_string()));
                    first.get_or_insert(e);
                }
            }
        }
        match first {
            Some(e) if found.is_empty() => Err(e),
            _ => Ok((found, failed)),
        }
    }
}

#[async_trait]
impl Adapter for A2a {
    fn config(&self) -> &SourceConfig {
        &self.cfg
    }

    async fn search(&self, query: &str, limit: usize) -> Result<Vec<Found>, SourceError> {
        let (all, _) = self.all().await?;
        Ok(all
            .into_iter()
            .filter(|f| matches_text(&f.record, query))
            .take(limit)
            .collect())
    }

    async fn lookup(&self, name: &str) -> Result<Option<Found>, SourceError> {
        let (all, _) = self.all().await?;
        Ok(all.into_iter().find(|f| {
            f.remote_id.eq_ignore_ascii_case(name)
                || f.record.identity.name.eq_ignore_ascii_case(name)
                || f.record.qualified_name().eq_ignore_ascii_case(name)
        }))
    }

    async fn list(
        &self,
        _cursor: Option<&str>,
        _since: Option<&str>,
    ) -> Result<ListPage, SourceError> {
        let (items, skipped) = self.all().await?;
        Ok(ListPage {
            items,
            skipped,
            next_cursor: None,
        })
    }
}
