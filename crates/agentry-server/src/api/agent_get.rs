//! `GET /api/v1/agents/{namespace}/{name}` (latest), `…/{name}/{version}` and
//! `…/{name}@{range}` (highest version matching a semver range).
//!
//! Namespaces may have several segments, so the path is matched whole: a path that names an
//! indexed repository is that repository's latest version; otherwise its last segment is the
//! version. The answer carries the search item, every indexed version and the full record
//! from the store — or, with `?format=a2a|oasf|mcp|ossa|nanda|simple[@version]`, the record
//! written in that format (fields the target cannot hold are listed in `Warning` headers).

use agentry_formats::Target;
use agentry_search::{AgentHit, SearchIndex, VersionSpec};
use agentry_types::{AgentRecord, RepoName};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::value::RawValue;

use super::ProblemResult;
use super::index;
use super::wire::SearchItem;
use crate::problem::Problem;
use crate::state::AppState;

/// One agent version with its full record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentDetail {
    #[serde(flatten)]
    pub item: SearchItem,
    /// Every indexed version of this name, highest first.
    pub versions: Vec<String>,
    /// The canonical record as stored (served without decoding it).
    #[schema(value_type = Object)]
    pub record: Option<Box<RawValue>>,
}

#[utoipa::path(
    get,
    path = "/api/v1/agents/{path}",
    tag = "discovery",
    params(
        ("path" = String, Path, description = "namespace/name (latest), namespace/name/version, or namespace/name@range (^2.4, ~1.2, latest)"),
        ("prerelease" = Option<bool>, Query, description = "Let pre-releases satisfy latest and ranges"),
        ("format" = Option<String>, Query, description = "Answer with the record converted to a2a, oasf, mcp, ossa, nanda or simple (optionally @version); fields the target cannot hold are listed in Warning headers"),
    ),
    responses(
        (status = 200, description = "The agent version (or, with format, the converted document)", body = AgentDetail),
        (status = 400, description = "Invalid name or version range", body = super::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such agent or no version matches", body = super::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "The record cannot be written in the requested format version", body = super::openapi::ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn get_agent(
    State(state): State<AppState>,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
) -> ProblemResult<Response> {
    let mut prerelease = false;
    let mut format: Option<Target> = None;
    for (k, v) in crate::query_string::decode(raw.as_deref())? {
        match k.as_str() {
            "prerelease" => {
                prerelease = match v.as_str() {
                    "true" | "1" | "" => true,
                    "false" | "0" => false,
                    _ => return Err(Problem::bad_request("prerelease", "expected true or false")),
                }
            }
            "format" => {
                format = Some(
                    v.parse::<Target>()
                        .map_err(|e| Problem::bad_request("format", e))?,
                );
            }
            other => {
                return Err(Problem::bad_request(
                    other,
                    "unknown parameter (accepted: prerelease, format)",
                ));
            }
        }
    }
    let idx = index(&state)?;
    let path = path.trim_matches('/').to_owned();
    // In-memory lookups of a few microseconds: answered on the request task, without the
    // thread hand-off of `blocking` that full searches need.
    let (hit, versions) = resolve_path(&idx, path, prerelease)?;
    let (repo_name, digest) = (hit.repo.clone(), hit.digest.clone());
    let repo = repo_name.as_str();
    let item = SearchItem::from(hit);
    let store_failed = |e: agentry_store::StoreError| {
        tracing::error!(error = %e, "record lookup failed");
        Problem::internal("the server failed to answer; see its log")
    };
    if let Some(target) = format {
        let record: AgentRecord = state
            .meta
            .record(&repo_name, &digest)
            .await
            .map_err(store_failed)?
            .map(|e| e.record)
            .ok_or_else(|| {
                Problem::not_found(format!("no stored record for {repo} {}", item.version))
            })?;
        return converted(&record, &target);
    }
    let record = state
        .meta
        .record_json(&repo_name, &digest)
        .await
        .map_err(store_failed)?;
    detail_response(&item, &versions, record.as_deref()).map_err(|e| {
        tracing::error!(%repo, %digest, error = %e, "stored record is not a JSON object");
        Problem::internal("the server failed to answer; see its log")
    })
}

/// [`AgentDetail`] without its record: the part of the answer that is serialised.
#[derive(Serialize)]
struct DetailHead<'a> {
    #[serde(flatten)]
    item: &'a SearchItem,
    versions: &'a [String],
}

/// The [`AgentDetail`] answer, with the stored record spliced in byte for byte.
///
/// The store holds each record as the JSON the server itself wrote when the agent was pushed,
/// so it is not parsed again here: re-validating 10–30 KB of JSON (skills carry JSON Schemas)
/// was a third of this endpoint's CPU. A cheap shape check (an object, braces at both ends)
/// still turns a damaged entry into a logged 500 rather than a broken answer.
fn detail_response(
    item: &SearchItem,
    versions: &[String],
    record: Option<&[u8]>,
) -> Result<Response, String> {
    let record = match record {
        Some(bytes) => {
            let trimmed = bytes.trim_ascii();
            if trimmed.first() != Some(&b'{') || trimmed.last() != Some(&b'}') {
                return Err(format!("{} bytes, not a JSON object", bytes.len()));
            }
            trimmed
        }
        None => b"null",
    };
    let mut body = serde_json::to_vec(&DetailHead { item, versions }).map_err(|e| e.to_string())?;
    // `{…}` → `{…,"record":<stored>}`; `versions` is always present, so the head is never `{}`.
    body.pop();
    body.reserve(record.len() + 12);
    body.extend_from_slice(b",\"record\":");
    body.extend_from_slice(record);
    body.push(b'}');
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// `namespace/name`, `namespace/name/version` or `namespace/name@range` → (the matching
/// version's hit, every version of the repository highest first).
pub fn resolve_path(
    idx: &SearchIndex,
    path: String,
    prerelease: bool,
) -> ProblemResult<(AgentHit, Vec<String>)> {
    let (repo, spec, listed) = if let Some((repo, range)) = path.split_once('@') {
        let spec = VersionSpec::parse(range).map_err(|e| Problem::bad_request("range", e))?;
        (repo.to_owned(), spec, None)
    } else {
        let listed = idx.version_strings(&path);
        if !listed.is_empty() {
            (path.clone(), VersionSpec::Latest, Some(listed))
        } else if let Some((repo, version)) = path.rsplit_once('/') {
            let spec =
                VersionSpec::parse(version).map_err(|e| Problem::bad_request("version", e))?;
            (repo.to_owned(), spec, None)
        } else {
            return Err(Problem::not_found(format!("no agent named {path:?}")));
        }
    };
    RepoName::parse(&repo).map_err(|e| Problem::bad_request("name", e.to_string()))?;
    let versions = listed.unwrap_or_else(|| idx.version_strings(&repo));
    if versions.is_empty() {
        return Err(Problem::not_found(format!("no agent named {repo:?}")));
    }
    let item = idx.resolve(&repo, &spec, prerelease).ok_or_else(|| {
        Problem::not_found(format!(
            "no version of {repo} matches (versions: {})",
            versions.join(", ")
        ))
    })?;
    Ok((item, versions))
}

const MAX_WARNING_BYTES: usize = 4096;

/// The record written in `target`'s format, with one `Warning: 299 - "…"` per field the target
/// could not hold (bounded to 4 KiB in all).
fn converted(record: &AgentRecord, target: &Target) -> ProblemResult<Response> {
    let written = agentry_formats::export(record, target).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unprocessable Entity",
            format!("cannot write the record as {target}: {e}"),
        )
    })?;
    let mut resp = (StatusCode::OK, written.text).into_response();
    if let Ok(v) = HeaderValue::from_str(written.media_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    let mut budget = MAX_WARNING_BYTES;
    for w in &written.warnings {
        let text: String = format!("{}: {}", w.pointer, w.reason)
            .chars()
            .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
            .collect();
        let value = format!("299 - \"{text}\"");
        if value.len() > budget {
            break;
        }
        if let Ok(v) = HeaderValue::from_str(&value) {
            budget -= value.len();
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> SearchItem {
        SearchItem {
            id: "acme/bot@sha256:00".into(),
            name: "bot".into(),
            namespace: "acme".into(),
            version: "1.2.0".into(),
            digest: "sha256:00".into(),
            description: "says \"hi\"\n".into(),
            capabilities: vec!["nlp/summarization".into()],
            protocols: vec!["a2a".into()],
            trust_tier: agentry_types::TrustTier::Standard,
            score: 1.0,
            source_pod: "local".into(),
            why: Vec::new(),
        }
    }

    async fn body(resp: Response) -> (Option<String>, serde_json::Value) {
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        (
            ct,
            serde_json::from_slice(&bytes).expect("the answer is JSON"),
        )
    }

    #[tokio::test]
    async fn the_spliced_answer_equals_the_serialised_detail() {
        let record =
            br#" {"identity":{"name":"bot","schema":{"type":"object","x":"a\"}"}},"n":[1,2]}
"#;
        let versions = vec!["1.2.0".to_owned(), "1.0.0".to_owned()];
        let resp = detail_response(&item(), &versions, Some(record)).expect("answer");
        let (ct, got) = body(resp).await;
        assert_eq!(ct.as_deref(), Some("application/json"));
        let want = serde_json::to_value(AgentDetail {
            item: item(),
            versions: versions.clone(),
            record: Some(
                serde_json::from_slice::<Box<RawValue>>(record.trim_ascii()).expect("raw"),
            ),
        })
        .expect("value");
        assert_eq!(got, want);

        let (_, none) = body(detail_response(&item(), &versions, None).expect("answer")).await;
        assert_eq!(none["record"], serde_json::Value::Null);
        assert_eq!(none["versions"][1], "1.0.0");
    }

    #[test]
    fn a_stored_entry_that_is_not_an_object_is_refused() {
        for bad in [&b""[..], b"[1]", b"{\"a\":1", b"null", b"  "] {
            assert!(detail_response(&item(), &[], Some(bad)).is_err(), "{bad:?}");
        }
    }
}
