//! The discovery API of an agentry pod (`/api/v1/`), for `agentry search` and tests.

use crate::client::{Client, Scope, read_limited};
use crate::error::{Error, Result};

/// Largest discovery answer read (a page is at most 100 agents).
const MAX_ANSWER: u64 = 16 * 1024 * 1024;

impl Client {
    /// `GET /api/v1/{path_and_query}` (for example `agents?q=invoice&limit=5`): the status and
    /// the JSON body, which on 4xx/5xx is an `application/problem+json` document naming the
    /// refused parameter. Authentication challenges are answered as for the OCI API.
    pub async fn api_get(&self, path_and_query: &str) -> Result<(u16, serde_json::Value)> {
        self.api_call(reqwest::Method::GET, path_and_query, None)
            .await
    }

    /// `POST /api/v1/{path_and_query}` with an optional JSON body (for example
    /// `agents/match`, or the operator endpoint `admin/gc?dry_run=true`).
    pub async fn api_post(
        &self,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, serde_json::Value)> {
        self.api_call(reqwest::Method::POST, path_and_query, body)
            .await
    }

    async fn api_call(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, serde_json::Value)> {
        let url = self
            .url(&format!(
                "api/v1/{}",
                path_and_query.trim_start_matches('/')
            ))
            .await?;
        let resp = self
            .send(&Scope::None, || {
                let req = self.http.request(method.clone(), url.clone());
                Ok(match body {
                    Some(b) => req.json(b),
                    None => req,
                })
            })
            .await?;
        let status = resp.status().as_u16();
        if status == 401 {
            return Err(Error::Unauthorized {
                url: crate::client::redact(&url),
                had_credentials: self.had_credentials(),
                errors: Vec::new(),
            });
        }
        let body = read_limited(resp, MAX_ANSWER, "discovery answer").await?;
        let json = serde_json::from_slice(&body)
            .map_err(|e| Error::protocol(&url, format!("discovery answer is not JSON: {e}")))?;
        Ok((status, json))
    }
}
