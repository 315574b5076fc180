//! A NANDA index: `GET /lookup/{id}`, `GET /search?q=`, `GET /list`. Answers that are agent
//! descriptions (AgentFacts, or OASF records as the index's switchboard returns) go through
//! the codecs as they are; the index's own entries (`agent_id`, `agent_url`, `api_url`, and
//! `/list`'s `{id: url}` map) are read as simple registry entries (`agent_id`, `endpoint`).

use async_trait::async_trait;
use serde_json::{Value, json};
use url::Url;

use super::{base_url, entries, join};
use crate::fetch::Fetcher;
use crate::{Adapter, Found, ListPage, SourceConfig, SourceError, translate};

pub struct Nanda {
    cfg: SourceConfig,
    base: Url,
    fetch: Fetcher,
}

impl Nanda {
    pub fn new(cfg: SourceConfig) -> Result<Nanda, SourceError> {
        Ok(Nanda {
            base: base_url(&cfg)?,
            fetch: Fetcher::new(&cfg)?,
            cfg,
        })
    }

    /// One answer entry as a record; `fallback_id` names it when it names itself nowhere.
    fn read(&self, v: &Value, fallback_id: &str) -> Result<Found, SourceError> {
        let id = v
            .get("agent_id")
            .or_else(|| v.get("id"))
            .and_then(Value::as_str)
            .unwrap_or(fallback_id)
            .to_owned();
        let url = join(&self.base, &["lookup", &id])?;
        // The index's registry entry: an id and URLs, no description of its own.
        if v.get("agent_url").is_some() && v.get("agent_name").is_none() {
            let endpoint = v
                .get("agent_url")
                .and_then(Value::as_str)
                .or_else(|| v.get("api_url").and_then(Value::as_str));
            // The simple format requires a description; the index entry has none to give.
            let mut entry = json!({ "agent_id": id, "description": "" });
            if let Some(e) = endpoint {
                entry["endpoint"] = json!(e);
            }
            if let Some(d) = v.get("description").and_then(Value::as_str) {
                entry["description"] = json!(d);
            }
            return translate(&self.cfg, &entry, &id, url.as_str());
        }
        translate(&self.cfg, v, &id, url.as_str())
    }
}

#[async_trait]
impl Adapter for Nanda {
    fn config(&self) -> &SourceConfig {
        &self.cfg
    }

    async fn search(&self, query: &str, limit: usize) -> Result<Vec<Found>, SourceError> {
        let mut u = join(&self.base, &["search"])?;
        u.query_pairs_mut().append_pair("q", query);
        let Some(v) = self.fetch.get_json(u).await? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (i, e) in entries(&v, &["agents", "results"])?.iter().enumerate() {
            if out.len() >= limit {
                break;
            }
            match self.read(e, &format!("#{i}")) {
                Ok(f) => out.push(f),
                Err(err) => {
                    tracing::debug!(source = %self.cfg.prefix, error = %err, "skipped a search result")
                }
            }
        }
        Ok(out)
    }

    async fn lookup(&self, name: &str) -> Result<Option<Found>, SourceError> {
        let u = join(&self.base, &["lookup", name])?;
        match self.fetch.get_json(u).await? {
            None => Ok(None),
            Some(v) => self.read(&v, name).map(Some),
        }
    }

    async fn list(
        &self,
        _cursor: Option<&str>,
        _since: Option<&str>,
    ) -> Result<ListPage, SourceError> {
        let u = join(&self.base, &["list"])?;
        let v = self
            .fetch
            .get_json(u.clone())
            .await?
            .ok_or(SourceError::Status {
                status: 404,
                url: u.to_string(),
            })?;
        let mut page = ListPage::default();
        let mut push = |r: Result<Found, SourceError>, id: String| match r {
            Ok(f) => page.items.push(f),
            Err(e) => page.skipped.push((id, e.to_string())),
        };
        match &v {
            // The index's `/list`: `{agent_id: agent_url}`.
            Value::Object(m) if !m.contains_key("agents") => {
                for (id, url) in m {
                    let entry = json!({ "agent_id": id, "agent_url": url });
                    push(self.read(&entry, id), id.clone());
                }
            }
            other => {
                for (i, e) in entries(other, &["agents"])?.iter().enumerate() {
                    let id = format!("#{i}");
                    push(self.read(e, &id), id);
                }
            }
        }
        Ok(page)
    }
}
