//! Another agentry pod: `GET /api/v1/agents?q=` for search and listing (cursor pages), and
//! `GET /api/v1/agents/{namespace}/{name}[/{version}]` for each record, which a pod answers
//! with its canonical record (no translation needed, the provenance is stamped).

use async_trait::async_trait;
use serde_json::Value;
use url::Url;

use super::{base_url, entries, join};
use crate::fetch::Fetcher;
use crate::{Adapter, Found, ListPage, SourceConfig, SourceError, now_rfc3339};

pub struct Pod {
    cfg: SourceConfig,
    base: Url,
    fetch: Fetcher,
}

impl Pod {
    pub fn new(cfg: SourceConfig) -> Result<Pod, SourceError> {
        Ok(Pod {
            base: base_url(&cfg)?,
            fetch: Fetcher::new(&cfg)?,
            cfg,
        })
    }

    /// `namespace/name[/version]` → its record.
    async fn detail(&self, path: &str) -> Result<Option<Found>, SourceError> {
        let mut segs = vec!["api", "v1", "agents"];
        segs.extend(path.split('/').filter(|s| !s.is_empty()));
        let url = join(&self.base, &segs)?;
        let Some(v) = self.fetch.get_json(url.clone()).await? else {
            return Ok(None);
        };
        let rec = v
            .get("record")
            .cloned()
            .ok_or_else(|| SourceError::Garbage("an agent answer without a record".into()))?;
        let mut record: agentry_types::AgentRecord = serde_json::from_value(rec)
            .map_err(|e| SourceError::Garbage(format!("the record does not parse: {e}")))?;
        let id = match (
            v.get("namespace").and_then(Value::as_str),
            v.get("name").and_then(Value::as_str),
        ) {
            (Some(ns), Some(n)) if !ns.is_empty() => format!("{ns}/{n}"),
            (_, Some(n)) => n.to_owned(),
            _ => path.to_owned(),
        };
        record.provenance.source_registry = Some(format!("@{}:{id}", self.cfg.prefix));
        Ok(Some(Found {
            source: self.cfg.prefix.clone(),
            remote_url: url.to_string(),
            remote_id: id,
            fetched_at: now_rfc3339(),
            record,
        }))
    }

    async fn page(&self, params: &[(&str, &str)]) -> Result<ListPage, SourceError> {
        let mut u = join(&self.base, &["api", "v1", "agents"])?;
        u.query_pairs_mut().extend_pairs(params);
        let v = self
            .fetch
            .get_json(u.clone())
            .await?
            .ok_or(SourceError::Status {
                status: 404,
                url: u.to_string(),
            })?;
        let paths: Vec<String> = entries(&v, &["items"])?
            .iter()
            .filter_map(|it| {
                let ns = it.get("namespace")?.as_str()?;
                let n = it.get("name")?.as_str()?;
                let ver = it.get("version")?.as_str()?;
                Some(format!("{ns}/{n}/{ver}"))
            })
            .collect();
        let details = futures::future::join_all(paths.iter().map(|p| self.detail(p))).await;
        let mut page = ListPage::default();
        for (p, d) in paths.into_iter().zip(details) {
            match d {
                Ok(Some(f)) => page.items.push(f),
                Ok(None) => page.skipped.push((p, "gone while listing".into())),
                Err(e) => page.skipped.push((p, e.to_string())),
            }
        }
        page.next_cursor = v
            .get("next_cursor")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(page)
    }
}

#[async_trait]
impl Adapter for Pod {
    fn config(&self) -> &SourceConfig {
        &self.cfg
    }

    async fn search(&self, query: &str, limit: usize) -> Result<Vec<Found>, SourceError> {
        let limit = limit.clamp(1, 100).to_string();
        let mut params = vec![("limit", limit.as_str())];
        if !query.trim().is_empty() {
            params.push(("q", query));
        }
        Ok(self.page(&params).await?.items)
    }

    async fn lookup(&self, name: &str) -> Result<Option<Found>, SourceError> {
        self.detail(name).await
    }

    async fn list(
        &self,
        cursor: Option<&str>,
        _since: Option<&str>,
    ) -> Result<ListPage, SourceError> {
        let mut params = vec![("limit", "100")];
        if let Some(c) = cursor {
            params.push(("cursor", c));
        }
        self.page(&params).await
    }
}
