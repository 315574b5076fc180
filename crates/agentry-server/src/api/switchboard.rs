//! The switchboard on the discovery API:
//!
//! | operation | what |
//! |---|---|
//! | `GET /api/v1/switchboard/registries` | the configured sources with their health |
//! | `GET /api/v1/switchboard/lookup/{ref}` | resolve `@prefix:name` at its source |
//! | `POST /api/v1/switchboard/import/{prefix}[?since=RFC3339]` | start importing a source |
//! | `GET /api/v1/switchboard/import/{prefix}` | the import's progress |
//! | `GET /api/v1/agents?scope=switchboard&q=…` | search every source ([`search_scope`]) |
//!
//! Imported records go into the discovery index (not the OCI store) as
//! `{prefix}/{name}` with a digest derived from the source and its remote id, so a second
//! import of the same remote record replaces it instead of adding one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use agentry_search::IndexedAgent;
use agentry_switchboard::{Found, LookupError, Pager, Switchboard};
use agentry_types::{Digest, RepoName, TrustTier};
use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{Value, json};

use super::{ProblemResult, QUERY_TIMEOUT, index};
use crate::config::ServeConfig;
use crate::problem::Problem;
use crate::state::AppState;

/// The switchboard of a pod, and its import jobs.
pub struct Sources {
    pub board: Switchboard,
    imports: Mutex<HashMap<String, ImportStatus>>,
}

impl Sources {
    /// The sources of `config.switchboard` (validated by `ServeConfig::validate`; an entry
    /// that cannot be built leaves the switchboard empty and is logged).
    pub fn from_config(config: &ServeConfig) -> Sources {
        let board = Switchboard::new(&config.switchboard).unwrap_or_else(|e| {
            tracing::error!(error = %e, "switchboard sources not usable");
            Switchboard::default()
        });
        Sources::new(board)
    }

    pub fn new(board: Switchboard) -> Sources {
        Sources {
            board,
            imports: Mutex::new(HashMap::new()),
        }
    }
}

/// Progress of one source's import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportStatus {
    pub prefix: String,
    /// `running`, `done` or `failed`.
    pub state: &'static str,
    pub pages: u32,
    /// Records read from the source.
    pub seen: u64,
    /// Records stored in the pod's index.
    pub stored: u64,
    /// Documents the source sent that could not be read or stored, with the reason (first 20).
    pub skipped: Vec<Value>,
    pub skipped_count: u64,
    pub error: Option<String>,
    pub since: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub elapsed_ms: u64,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/switchboard/registries", get(registries))
        .route("/api/v1/switchboard/lookup/{*reference}", get(lookup))
        .route(
            "/api/v1/switchboard/import/{prefix}",
            get(import_status).post(import_start),
        )
}

async fn registries(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "registries": state.switchboard.board.registries() }))
}

fn found_json(f: &Found) -> Value {
    json!({
        "ref": format!("@{}:{}", f.source, f.remote_id),
        "source": f.source,
        "remote_url": f.remote_url,
        "remote_id": f.remote_id,
        "fetched_at": f.fetched_at,
        "record": f.record,
    })
}

async fn lookup(
    State(state): State<AppState>,
    Path(reference): Path<String>,
) -> ProblemResult<Json<Value>> {
    match state.switchboard.board.lookup(&reference).await {
        Ok(f) => Ok(Json(found_json(&f))),
        Err(e @ (LookupError::BadRef(_) | LookupError::UnknownPrefix(_))) => {
            Err(Problem::bad_request("ref", e.to_string()))
        }
        Err(e @ LookupError::NotFound(..)) => Err(Problem::not_found(e.to_string())),
        Err(e @ LookupError::Source(..)) => Err(Problem::new(
            StatusCode::BAD_GATEWAY,
            "Switchboard source failed",
            e.to_string(),
        )),
    }
}

/// `GET /api/v1/agents?scope=…`: `local` (the default) is the pod's own index; `switchboard`
/// asks every configured source in parallel (`q`, `limit` only), each within its deadline
/// and all within the discovery API's, and names the sources that failed.
pub async fn search_scope(state: &AppState, pairs: &[(String, String)]) -> ProblemResult<Value> {
    let mut q = String::new();
    let mut limit = 20usize;
    for (k, v) in pairs {
        match k.as_str() {
            "q" => {
                if v.len() > agentry_search::MAX_TEXT_LEN {
                    return Err(Problem::bad_request("q", "too long"));
                }
                q = v.trim().to_owned();
            }
            "limit" => {
                limit = v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| Problem::bad_request("limit", "expected an integer 1..=100"))?
                    .min(100);
            }
            other => {
                return Err(Problem::bad_request(
                    other,
                    "not supported with scope=switchboard (accepted: q, limit)",
                ));
            }
        }
    }
    let out = state
        .switchboard
        .board
        .search(&q, limit, QUERY_TIMEOUT)
        .await;
    let items: Vec<Value> = out
        .results
        .iter()
        .take(limit)
        .map(|f| {
            let r = &f.record;
            json!({
                "id": format!("@{}:{}", f.source, f.remote_id),
                "name": r.identity.name,
                "namespace": r.identity.namespace,
                "version": r.identity.version,
                "description": r.description,
                "capabilities": r.skills.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
                "protocols": r.protocols.iter().map(|p| p.kind.as_str().to_owned()).collect::<Vec<_>>(),
                "source": f.source,
                "remote_url": f.remote_url,
                "fetched_at": f.fetched_at,
            })
        })
        .collect();
    Ok(json!({
        "items": items,
        "next_cursor": null,
        "facets": {},
        "failed": out.failed,
    }))
}

/// One path component of a repository name made from free text: lower case, runs of other
/// characters turned into one `-`, no separator at either end.
fn component(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if c == '.' || c == '_' || c == '-' {
            if !out.is_empty() && !out.ends_with(['.', '_', '-']) {
                out.push(if c == '_' { '-' } else { c });
            }
        } else if !out.is_empty() && !out.ends_with(['.', '_', '-']) {
            out.push('-');
        }
    }
    out.trim_end_matches(['.', '_', '-']).to_owned()
}

/// The pod repository an imported record is filed under: `{prefix}/{its qualified name}`.
pub fn import_repo(prefix: &str, f: &Found) -> Result<RepoName, String> {
    let qualified = f.record.qualified_name();
    let name = if qualified.is_empty() {
        &f.remote_id
    } else {
        &qualified
    };
    let mut parts = vec![component(prefix)];
    parts.extend(name.split('/').map(component).filter(|c| !c.is_empty()));
    if parts.len() < 2 {
        return Err(format!("{:?} gives no usable repository name", f.remote_id));
    }
    RepoName::parse(&parts.join("/")).map_err(|e| e.to_string())
}

fn indexed(prefix: &str, f: Found) -> Result<IndexedAgent, String> {
    let repo = import_repo(prefix, &f)?;
    let digest =
        Digest::sha256(format!("agentry-switchboard\0{prefix}\0{}", f.remote_id).as_bytes());
    let mut record = f.record;
    record.identity.namespace = repo.namespace().to_owned();
    record.identity.name = repo.basename().to_owned();
    record
        .annotations
        .insert("agentry.switchboard.remote_url".into(), f.remote_url);
    record
        .annotations
        .insert("agentry.switchboard.fetched_at".into(), f.fetched_at);
    Ok(IndexedAgent {
        record,
        repo,
        manifest_digest: digest,
        trust_tier: TrustTier::None,
        source_pod: format!("@{prefix}"),
        pushed_at: time::OffsetDateTime::now_utc().unix_timestamp(),
    })
}

/// Records committed to the index at once by an import.
const IMPORT_BATCH: usize = 1000;

async fn finish(t: tokio::task::JoinHandle<Result<u64, String>>) -> Result<u64, String> {
    t.await
        .map_err(|e| e.to_string())
        .and_then(|r| r)
        .map_err(|e| format!("storing into the index failed: {e}"))
}

async fn import_status(
    State(state): State<AppState>,
    Path(prefix): Path<String>,
) -> ProblemResult<Json<ImportStatus>> {
    state
        .switchboard
        .imports
        .lock()
        .get(&prefix)
        .cloned()
        .map(Json)
        .ok_or_else(|| Problem::not_found(format!("no import of @{prefix}: has been started")))
}

async fn import_start(
    State(state): State<AppState>,
    Path(prefix): Path<String>,
    RawQuery(raw): RawQuery,
) -> ProblemResult<Response> {
    let mut since = None;
    for (k, v) in crate::query_string::decode(raw.as_deref())? {
        match k.as_str() {
            "since" => {
                time::OffsetDateTime::parse(&v, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| {
                        Problem::bad_request("since", format!("expected an RFC 3339 time: {e}"))
                    })?;
                since = Some(v);
            }
            other => {
                return Err(Problem::bad_request(
                    other,
                    "unknown parameter (accepted: since)",
                ));
            }
        }
    }
    let Some(source) = state.switchboard.board.source(&prefix) else {
        return Err(Problem::bad_request(
            "prefix",
            format!("no switchboard source has prefix {prefix:?}"),
        ));
    };
    let idx = index(&state)?;
    let status = {
        let mut jobs = state.switchboard.imports.lock();
        if jobs.get(&prefix).is_some_and(|j| j.state == "running") {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "Import running",
                format!("an import of @{prefix}: is already running"),
            ));
        }
        let s = ImportStatus {
            prefix: prefix.clone(),
            state: "running",
            pages: 0,
            seen: 0,
            stored: 0,
            skipped: Vec::new(),
            skipped_count: 0,
            error: None,
            since: since.clone(),
            started_at: agentry_switchboard::now_rfc3339(),
            finished_at: None,
            elapsed_ms: 0,
        };
        jobs.insert(prefix.clone(), s.clone());
        s
    };
    let max_pages = source.config().max_pages;
    let sources = Arc::clone(&state.switchboard);
    tokio::spawn(async move {
        let started = Instant::now();
        let update = |f: &dyn Fn(&mut ImportStatus)| {
            if let Some(s) = sources.imports.lock().get_mut(&prefix) {
                f(s);
                s.elapsed_ms = started.elapsed().as_millis() as u64;
            }
        };
        let mut pager = Pager::new(max_pages);
        let mut cursor: Option<String> = None;
        let mut buffer: Vec<IndexedAgent> = Vec::new();
        let mut inflight: Option<tokio::task::JoinHandle<Result<u64, String>>> = None;
        let result: Result<(), String> = loop {
            let page = match sources
                .board
                .list_page(&prefix, cursor.as_deref(), since.as_deref())
                .await
            {
                Ok(p) => p,
                Err(e) => break Err(e.to_string()),
            };
            let mut agents = Vec::with_capacity(page.items.len());
            let mut skipped: Vec<Value> = page
                .skipped
                .iter()
                .map(|(id, why)| json!({ "id": id, "reason": why }))
                .collect();
            let seen = page.items.len() as u64;
            for f in page.items {
                let id = f.remote_id.clone();
                match indexed(&prefix, f) {
                    Ok(a) => agents.push(a),
                    Err(why) => skipped.push(json!({ "id": id, "reason": why })),
                }
            }
            buffer.extend(agents);
            update(&|s| {
                s.pages += 1;
                s.seen += seen + page.skipped.len() as u64;
                s.skipped_count += skipped.len() as u64;
                let room = 20usize.saturating_sub(s.skipped.len());
                s.skipped.extend(skipped.iter().take(room).cloned());
            });
            let next = pager.advance(page.next_cursor);
            let last = !matches!(next, Ok(Some(_)));
            // Commit in large batches, one at a time, while the next pages are fetched.
            if buffer.len() >= IMPORT_BATCH || last {
                if let Some(t) = inflight.take() {
                    match finish(t).await {
                        Ok(n) => update(&|s| s.stored += n),
                        Err(e) => break Err(e),
                    }
                }
                let batch = std::mem::take(&mut buffer);
                let idx2 = Arc::clone(&idx);
                inflight = Some(tokio::task::spawn_blocking(move || {
                    let n = batch.len() as u64;
                    idx2.upsert_batch(batch)
                        .map(|_| n)
                        .map_err(|e| e.to_string())
                }));
            }
            match next {
                Ok(Some(c)) => cursor = Some(c),
                Ok(None) => break Ok(()),
                Err(e) => break Err(e.to_string()),
            }
        };
        let result = match (result, inflight.take()) {
            (r, None) => r,
            (r, Some(t)) => match finish(t).await {
                Ok(n) => {
                    update(&|s| s.stored += n);
                    r
                }
                Err(e) => Err(e),
            },
        };
        update(&|s| {
            s.finished_at = Some(agentry_switchboard::now_rfc3339());
            match &result {
                Ok(()) => s.state = "done",
                Err(e) => {
                    s.state = "failed";
                    s.error = Some(e.clone());
                }
            }
        });
        match &result {
            Ok(()) => tracing::info!(%prefix, "switchboard import finished"),
            Err(e) => tracing::warn!(%prefix, error = %e, "switchboard import failed"),
        }
    });
    Ok((StatusCode::ACCEPTED, Json(status)).into_response())
}
