//! One adapter per kind of registry.

pub mod a2a;
pub mod mcp;
pub mod nanda;
pub mod pod;
pub mod simple;

use serde_json::Value;
use url::Url;

use crate::SourceError;
use crate::config::SourceConfig;

/// The source's single base URL.
pub(crate) fn base_url(cfg: &SourceConfig) -> Result<Url, SourceError> {
    let u = cfg
        .url
        .as_deref()
        .ok_or_else(|| SourceError::Config("url is not set".into()))?;
    Url::parse(u).map_err(|e| SourceError::Config(format!("url {u:?}: {e}")))
}

/// `base` with `segments` appended, each percent-encoded as one segment (`/` becomes `%2F`).
pub(crate) fn join(base: &Url, segments: &[&str]) -> Result<Url, SourceError> {
    let mut u = base.clone();
    {
        let mut p = u
            .path_segments_mut()
            .map_err(|_| SourceError::Config(format!("{base} cannot be a base URL")))?;
        p.pop_if_empty();
        for s in segments {
            p.push(s);
        }
    }
    Ok(u)
}

/// The array of entries in an answer: the answer itself, or the array under one of `keys`.
pub(crate) fn entries<'a>(v: &'a Value, keys: &[&str]) -> Result<&'a Vec<Value>, SourceError> {
    if let Value::Array(a) = v {
        return Ok(a);
    }
    for k in keys {
        if let Some(Value::Array(a)) = v.get(*k) {
            return Ok(a);
        }
    }
    Err(SourceError::Garbage(format!(
        "expected an array{}",
        if keys.is_empty() {
            String::new()
        } else {
            format!(" or an object with {}", keys.join(" or "))
        }
    )))
}
