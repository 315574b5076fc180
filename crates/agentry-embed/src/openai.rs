//! A remote OpenAI-compatible embeddings endpoint (`POST <base>/embeddings`), for operators who
//! run a bigger model elsewhere (OpenAI, vLLM, Ollama, LocalAI, text-embeddings-inference…).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{EmbedError, Embedder};

/// How to reach the endpoint.
#[derive(Clone)]
pub struct OpenAiOptions {
    /// Base URL including the API version, e.g. `https://api.openai.com/v1`; requests go to
    /// `<base_url>/embeddings`.
    pub base_url: String,
    /// Model name sent with each request, e.g. `text-embedding-3-small`.
    pub model: String,
    /// Bearer token; `None` for endpoints without authentication.
    pub api_key: Option<String>,
    /// Expected vector dimension. When `None`, [`OpenAiEmbedder::new`] asks the endpoint once
    /// (which also proves it is reachable).
    pub dim: Option<usize>,
    /// Texts per request.
    pub batch_size: usize,
    /// Limit for one request, answer included.
    pub timeout: Duration,
    /// Limit for connection set-up.
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for OpenAiOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("OpenAiOptions")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("dim", &self.dim)
            .field("batch_size", &self.batch_size)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl OpenAiOptions {
    /// Options with the given endpoint and model, 64 texts per request, 30 s per request.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiOptions {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            dim: None,
            batch_size: 64,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// Reads the key from the environment variable `var` (e.g. `OPENAI_API_KEY`), so that it
    /// never has to appear in a config file or on a command line. Errs naming the variable when
    /// it is unset or empty.
    pub fn api_key_from_env(mut self, var: &str) -> Result<Self, EmbedError> {
        match std::env::var(var) {
            Ok(key) if !key.trim().is_empty() => {
                self.api_key = Some(key.trim().to_string());
                Ok(self)
            }
            _ => Err(EmbedError::Unavailable(format!(
                "environment variable {var} (the embeddings API key) is not set"
            ))),
        }
    }
}

/// Embeds through a remote OpenAI-compatible endpoint, batching requests and normalising the
/// returned vectors to unit length.
pub struct OpenAiEmbedder {
    client: reqwest::blocking::Client,
    url: String,
    options: OpenAiOptions,
    dim: usize,
    model_id: String,
}

impl std::fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("url", &self.url)
            .field("model_id", &self.model_id)
            .field("dim", &self.dim)
            .finish()
    }
}

#[derive(Serialize)]
struct EmbeddingsRequest<'a> {
    model: &'a str,
    input: &'a [&'a str],
    encoding_format: &'static str,
}

#[derive(Deserialize)]
struct EmbeddingsResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    index: usize,
    embedding: Vec<f32>,
}

impl OpenAiEmbedder {
    /// Builds the client; when `options.dim` is `None`, embeds one probe text to learn the
    /// dimension, so a wrong URL, model or key fails here (as [`EmbedError::Unavailable`])
    /// rather than on the first search.
    pub fn new(options: OpenAiOptions) -> Result<Self, EmbedError> {
        if options.batch_size == 0 {
            return Err(EmbedError::Unavailable(
                "embeddings batch_size must be at least 1".into(),
            ));
        }
        if options.model.trim().is_empty() {
            return Err(EmbedError::Unavailable(
                "embeddings model name is empty".into(),
            ));
        }
        let base = reqwest::Url::parse(options.base_url.trim_end_matches('/')).map_err(|e| {
            EmbedError::Unavailable(format!(
                "embeddings base URL {:?} is not a URL: {e}",
                options.base_url
            ))
        })?;
        let url = format!("{}/embeddings", base.as_str().trim_end_matches('/'));
        let client = crate::tls::blocking_client(
            options.connect_timeout,
            Some(options.timeout),
            None,
            None,
        )?;
        let model_id = format!("{}@{}", options.model, base.as_str().trim_end_matches('/'));
        let mut embedder = OpenAiEmbedder {
            client,
            url,
            dim: options.dim.unwrap_or(0),
            options,
            model_id,
        };
        if embedder.options.dim.is_none() {
            let probe = embedder
                .request(&["dimension probe"])
                .map_err(|e| match e {
                    EmbedError::Failed(msg) => EmbedError::Unavailable(msg),
                    other => other,
                })?;
            embedder.dim = probe.first().map(Vec::len).unwrap_or(0);
            if embedder.dim == 0 {
                return Err(EmbedError::Unavailable(format!(
                    "{} returned an empty vector",
                    embedder.url
                )));
            }
        }
        Ok(embedder)
    }

    /// One request for at most `batch_size` texts; vectors in input order, checked and
    /// normalised.
    fn request(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let body = EmbeddingsRequest {
            model: &self.options.model,
            input: texts,
            encoding_format: "float",
        };
        let mut req = self.client.post(&self.url).json(&body);
        if let Some(key) = &self.options.api_key {
            req = req.bearer_auth(key);
        }
        let response = req.send().map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        let text = response.text().map_err(|e| self.transport_error(&e))?;
        if !status.is_success() {
            let detail = error_detail(&text);
            let msg = format!("{} answered HTTP {}: {detail}", self.url, status.as_u16());
            // Wrong key, URL or model will not fix itself; overload and server errors may.
            return Err(match status.as_u16() {
                401 | 403 | 404 => EmbedError::Unavailable(msg),
                _ => EmbedError::Failed(msg),
            });
        }
        let parsed: EmbeddingsResponse = serde_json::from_str(&text).map_err(|e| {
            EmbedError::Failed(format!(
                "{} answered with an unexpected body ({e}): {}",
                self.url,
                excerpt(&text)
            ))
        })?;
        if parsed.data.len() != texts.len() {
            return Err(EmbedError::Failed(format!(
                "{} returned {} embeddings for {} inputs",
                self.url,
                parsed.data.len(),
                texts.len()
            )));
        }
        let mut out: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        for item in parsed.data {
            let slot = out.get_mut(item.index).ok_or_else(|| {
                EmbedError::Failed(format!(
                    "{} returned index {} for {} inputs",
                    self.url,
                    item.index,
                    texts.len()
                ))
            })?;
            if slot.is_some() {
                return Err(EmbedError::Failed(format!(
                    "{} returned index {} twice",
                    self.url, item.index
                )));
            }
            *slot = Some(normalise(item.embedding, item.index, &self.url)?);
        }
        let vectors: Vec<Vec<f32>> = out.into_iter().flatten().collect();
        if self.dim != 0
            && let Some(bad) = vectors.iter().position(|v| v.len() != self.dim)
        {
            return Err(EmbedError::Failed(format!(
                "{} returned {} dimensions for input {bad}, expected {}",
                self.url,
                vectors[bad].len(),
                self.dim
            )));
        }
        Ok(vectors)
    }

    fn transport_error(&self, e: &reqwest::Error) -> EmbedError {
        let mut msg = format!("{}: {e}", self.url);
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            msg.push_str(&format!(": {s}"));
            source = s.source();
        }
        if e.is_timeout() {
            EmbedError::Failed(format!("timed out after {:?}: {msg}", self.options.timeout))
        } else if e.is_connect() {
            EmbedError::Unavailable(format!("cannot connect: {msg}"))
        } else {
            EmbedError::Failed(msg)
        }
    }
}

fn normalise(mut v: Vec<f32>, index: usize, url: &str) -> Result<Vec<f32>, EmbedError> {
    if v.iter().any(|x| !x.is_finite()) {
        return Err(EmbedError::Failed(format!(
            "{url} returned a non-finite value for input {index}"
        )));
    }
    let norm = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if norm == 0.0 {
        return Err(EmbedError::Failed(format!(
            "{url} returned a zero vector for input {index}"
        )));
    }
    for x in &mut v {
        *x = (f64::from(*x) / norm) as f32;
    }
    Ok(v)
}

/// The `error.message` of an OpenAI-style error body, or the start of the body.
fn error_detail(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.pointer("/error"))
                .and_then(|m| m.as_str().map(str::to_string))
        })
        .unwrap_or_else(|| excerpt(body))
}

fn excerpt(body: &str) -> String {
    let trimmed = body.trim();
    match trimmed.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &trimmed[..i]),
        None => trimmed.to_string(),
    }
}

impl Embedder for OpenAiEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(self.options.batch_size) {
            out.extend(self.request(chunk)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_detail_prefers_the_openai_message() {
        assert_eq!(
            error_detail(r#"{"error": {"message": "Incorrect API key provided", "type": "x"}}"#),
            "Incorrect API key provided"
        );
        assert_eq!(
            error_detail(r#"{"error": "model not found"}"#),
            "model not found"
        );
        assert_eq!(error_detail("  Bad Gateway \n"), "Bad Gateway");
        assert!(error_detail(&"x".repeat(1000)).ends_with('…'));
    }

    #[test]
    fn normalise_scales_to_unit_length_and_rejects_degenerate_vectors() {
        let v = normalise(vec![3.0, 4.0], 0, "u").expect("ok");
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        assert!(normalise(vec![0.0, 0.0], 2, "u").is_err());
        let err = normalise(vec![f32::NAN], 1, "u").expect_err("nan");
        assert!(err.to_string().contains("input 1"), "{err}");
    }

    #[test]
    fn bad_options_are_refused_before_any_request() {
        let err = OpenAiEmbedder::new(OpenAiOptions::new("not a url", "m")).expect_err("url");
        assert!(err.to_string().contains("not a URL"), "{err}");
        let err = OpenAiEmbedder::new(OpenAiOptions::new("http://127.0.0.1:9/v1", " "))
            .expect_err("model");
        assert!(err.to_string().contains("model name"), "{err}");
        let mut opts = OpenAiOptions::new("http://127.0.0.1:9/v1", "m");
        opts.batch_size = 0;
        assert!(OpenAiEmbedder::new(opts).is_err());
    }

    #[test]
    fn a_missing_key_variable_is_named() {
        let err = OpenAiOptions::new("http://x/v1", "m")
            .api_key_from_env("AGENTRY_TEST_SURELY_UNSET_KEY_VAR")
            .expect_err("unset");
        assert!(
            err.to_string()
                .contains("AGENTRY_TEST_SURELY_UNSET_KEY_VAR"),
            "{err}"
        );
    }

    #[test]
    fn the_debug_form_hides_the_key() {
        let mut opts = OpenAiOptions::new("http://x/v1", "m");
        opts.api_key = Some("sk-secret".into());
        assert!(!format!("{opts:?}").contains("sk-secret"));
    }
}
