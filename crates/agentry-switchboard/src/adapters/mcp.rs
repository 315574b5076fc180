//! The MCP Registry API: `GET /v0.1/servers` (`cursor`/`limit`, `search`, `version=latest`,
//! `updated_since`) and `GET /v0.1/servers/{name}/versions/{version}` with the name as one
//! URL-encoded segment (`%2F`). Each `server.json` (wrapped as `{"server": …, "_meta": …}`, or
//! bare as older registries and the seed file have it) is read by the MCP codec.

use async_trait::async_trait;
use serde_json::Value;
use url::Url;

use super::{base_url, entries, join};
use crate::fetch::Fetcher;
use crate::{Adapter, Found, ListPage, SourceConfig, SourceError, translate};

/// Page size asked of the registry when listing.
pub const PAGE: usize = 100;

pub struct Mcp {
    cfg: SourceConfig,
    base: Url,
    fetch: Fetcher,
}

impl Mcp {
    pub fn new(cfg: SourceConfig) -> Result<Mcp, SourceError> {
        Ok(Mcp {
            base: base_url(&cfg)?,
            fetch: Fetcher::new(&cfg)?,
            cfg,
        })
    }

    fn servers_url(&self, params: &[(&str, &str)]) -> Result<Url, SourceError> {
        let mut u = join(&self.base, &["v0.1", "servers"])?;
        u.query_pairs_mut().extend_pairs(params);
        Ok(u)
    }

    fn version_url(&self, name: &str, version: &str) -> Result<Url, SourceError> {
        join(&self.base, &["v0.1", "servers", name, "versions", version])
    }

    /// One entry of a list, or a version answer, as a record.
    fn read(&self, entry: &Value) -> Result<Found, SourceError> {
        let server = match entry.get("server") {
            Some(s) if s.is_object() => s,
            _ => entry,
        };
        let name = server
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| SourceError::Garbage("a server without a name".into()))?;
        let version = server
            .get("version")
            .and_then(Value::as_str)
            .or_else(|| {
                server
                    .pointer("/version_detail/version")
                    .and_then(Value::as_str)
            })
            .unwrap_or("latest");
        let url = self.version_url(name, version)?;
        translate(&self.cfg, server, name, url.as_str())
    }

    async fn page(&self, url: Url) -> Result<ListPage, SourceError> {
        let v = self
            .fetch
            .get_json(url.clone())
            .await?
            .ok_or(SourceError::Status {
                status: 404,
                url: url.to_string(),
            })?;
        let list = entries(&v, &["servers"])?;
        let mut page = ListPage::default();
        for (i, e) in list.iter().enumerate() {
            match self.read(e) {
                Ok(f) => page.items.push(f),
                Err(err) => page.skipped.push((format!("servers/{i}"), err.to_string())),
            }
        }
        page.next_cursor = v
            .pointer("/metadata/nextCursor")
            .or_else(|| v.pointer("/metadata/next_cursor"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(page)
    }
}

#[async_trait]
impl Adapter for Mcp {
    fn config(&self) -> &SourceConfig {
        &self.cfg
    }

    async fn search(&self, query: &str, limit: usize) -> Result<Vec<Found>, SourceError> {
        let limit = limit.clamp(1, PAGE).to_string();
        let url =
            self.servers_url(&[("search", query), ("limit", &limit), ("version", "latest")])?;
        Ok(self.page(url).await?.items)
    }

    async fn lookup(&self, name: &str) -> Result<Option<Found>, SourceError> {
        let (name, version) = match name.rsplit_once('@') {
            Some((n, v)) if !n.is_empty() && !v.is_empty() => (n, v),
            _ => (name, "latest"),
        };
        let url = self.version_url(name, version)?;
        match self.fetch.get_json(url).await? {
            None => Ok(None),
            Some(v) => self.read(&v).map(Some),
        }
    }

    async fn list(
        &self,
        cursor: Option<&str>,
        since: Option<&str>,
    ) -> Result<ListPage, SourceError> {
        let limit = PAGE.to_string();
        let mut params = vec![("limit", limit.as_str())];
        if let Some(c) = cursor {
            params.push(("cursor", c));
        }
        if let Some(s) = since {
            params.push(("updated_since", s));
        }
        self.page(self.servers_url(&params)?).await
    }
}
