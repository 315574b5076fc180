//! `GET /api/v1/agents/{namespace}/{name}` (latest), `…/{name}/{version}` and
//! `…/{name}@{range}` (highest version matching a semver range).
//!
//! Namespaces may have several segments, so the path is matched whole: a path that names an
//! indexed repository is that repository's latest version; otherwise its last segment is the
//! version. The answer carries the search item, every indexed version and the full record
//! from the store — or, with `?format=a2a|oasf|mcp|ossa|nanda|simple[@version]`, the record
//! written in that format (fields the target cannot hold are listed in `Warning` headers).

use agentry_formats::Target;
use agentry_search::{SearchIndex, SearchItem, VersionSpec};
use agentry_types::{AgentRecord, Digest, RepoName};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::value::RawValue;

use super::ProblemResult;
use super::index;
use crate::problem::Problem;
use crate::state::AppState;

/// One agent version with its full record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentDetail {
    #[serde(flatten)]
    pub item: SearchItem,
    /// Every indexed version of this name, highest first.
    pub versions: Vec<String>,
    /// The canonical record as stored.
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
    for (k, v) in form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "prerelease" => {
                prerelease = match v.as_ref() {
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
    let (repo, item, versions) = resolve_path(&idx, path, prerelease)?;
    let (Ok(repo_name), Ok(digest)) = (RepoName::parse(&repo), item.digest.parse::<Digest>())
    else {
        return Ok(Json(AgentDetail {
            item,
            versions,
            record: None,
        })
        .into_response());
    };
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
    let record = match state
        .meta
        .record_json(&repo_name, &digest)
        .await
        .map_err(store_failed)?
    {
        Some(bytes) => Some(
            serde_json::from_slice::<Box<RawValue>>(&bytes).map_err(|e| {
                tracing::error!(%repo, %digest, error = %e, "stored record is not JSON");
                Problem::internal("the server failed to answer; see its log")
            })?,
        ),
        None => None,
    };
    Ok(Json(AgentDetail {
        item,
        versions,
        record,
    })
    .into_response())
}

/// `namespace/name`, `namespace/name/version` or `namespace/name@range` → (repository, the
/// matching version's item, every version highest first).
fn resolve_path(
    idx: &SearchIndex,
    path: String,
    prerelease: bool,
) -> ProblemResult<(String, SearchItem, Vec<String>)> {
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
    Ok((repo, item, versions))
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
