//! `GET /api/v1/agents/{namespace}/{name}` (latest), `…/{name}/{version}` and
//! `…/{name}@{range}` (highest version matching a semver range).
//!
//! Namespaces may have several segments, so the path is matched whole: a path that names an
//! indexed repository is that repository's latest version; otherwise its last segment is the
//! version. The answer carries the search item, every indexed version and the full record
//! from the store — or, with `?format=a2a|oasf|mcp|ossa|nanda|simple[@version]`, the record
//! written in that format (fields the target cannot hold are listed in `Warning` headers).

use agentry_formats::Target;
use agentry_search::{SearchItem, VersionSpec};
use agentry_types::{AgentRecord, Digest, RepoName};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::ProblemResult;
use super::{blocking, index};
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
    #[schema(value_type = Object)]
    pub record: Option<AgentRecord>,
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
    let found = blocking(move || {
        let (repo, spec) = if let Some((repo, range)) = path.split_once('@') {
            let spec = VersionSpec::parse(range).map_err(|e| Problem::bad_request("range", e))?;
            (repo.to_owned(), spec)
        } else if !idx.versions(&path).is_empty() {
            (path.clone(), VersionSpec::Latest)
        } else if let Some((repo, version)) = path.rsplit_once('/') {
            let spec =
                VersionSpec::parse(version).map_err(|e| Problem::bad_request("version", e))?;
            (repo.to_owned(), spec)
        } else {
            return Err(Problem::not_found(format!("no agent named {path:?}")));
        };
        RepoName::parse(&repo).map_err(|e| Problem::bad_request("name", e.to_string()))?;
        let versions: Vec<String> = idx.versions(&repo).into_iter().map(|i| i.version).collect();
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
    })
    .await?;
    let (repo, item, versions) = found;
    let record = match (RepoName::parse(&repo), item.digest.parse::<Digest>()) {
        (Ok(r), Ok(d)) => state
            .meta
            .record(&r, &d)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "record lookup failed");
                Problem::internal("the server failed to answer; see its log")
            })?
            .map(|e| e.record),
        _ => None,
    };
    if let Some(target) = format {
        let record = record.ok_or_else(|| {
            Problem::not_found(format!("no stored record for {repo} {}", item.version))
        })?;
        return converted(&record, &target);
    }
    Ok(Json(AgentDetail {
        item,
        versions,
        record,
    })
    .into_response())
}

/// Most warning text sent in headers (the OCI spec's bound for `Warning`, applied here too).
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
