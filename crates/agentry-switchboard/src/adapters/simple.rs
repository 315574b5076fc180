//! A simple JSON registry (Figure 5 of the federation paper): the source's URL answers one
//! document listing its entries (`agent_id`, `endpoint`, `description`, `capabilities`,
//! `protocols`), as an array or under `agents`. Search and lookup filter that list.

use async_trait::async_trait;
use serde_json::Value;
use url::Url;

use super::{base_url, entries};
use crate::fetch::Fetcher;
use crate::{Adapter, Found, ListPage, SourceConfig, SourceError, matches_text, translate};

pub struct Simple {
    cfg: SourceConfig,
    url: Url,
    fetch: Fetcher,
}

impl Simple {
    pub fn new(cfg: SourceConfig) -> Result<Simple, SourceError> {
        Ok(Simple {
            url: base_url(&cfg)?,
            fetch: Fetcher::new(&cfg)?,
            cfg,
        })
    }

    async fn all(&self) -> Result<ListPage, SourceError> {
        let v = self
            .fetch
            .get_json(self.url.clone())
            .await?
            .ok_or(SourceError::Status {
                status: 404,
                url: self.url.to_string(),
            })?;
        let mut page = ListPage::default();
        for (i, e) in entries(&v, &["agents"])?.iter().enumerate() {
            let id = e
                .get("agent_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("#{i}"));
            let url = format!("{}#{id}", self.url);
            match translate(&self.cfg, e, &id, &url) {
                Ok(f) => page.items.push(f),
                Err(err) => page.skipped.push((id, err.to_string())),
            }
        }
        Ok(page)
    }
}

#[async_trait]
impl Adapter for Simple {
    fn config(&self) -> &SourceConfig {
        &self.cfg
    }

    async fn search(&self, query: &str, limit: usize) -> Result<Vec<Found>, SourceError> {
        Ok(self
            .all()
            .await?
            .items
            .into_iter()
            .filter(|f| matches_text(&f.record, query))
            .take(limit)
            .collect())
    }

    async fn lookup(&self, name: &str) -> Result<Option<Found>, SourceError> {
        Ok(self
            .all()
            .await?
            .items
            .into_iter()
            .find(|f| f.remote_id == name))
    }

    async fn list(
        &self,
        _cursor: Option<&str>,
        _since: Option<&str>,
    ) -> Result<ListPage, SourceError> {
        self.all().await
    }
}
