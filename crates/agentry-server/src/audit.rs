//! The audit log: one JSON line for every write (any method but GET, HEAD and OPTIONS, and
//! GraphQL POSTs excepted, which only read) and every refusal for missing or wrong
//! credentials — who, what, when, from where, and the answer — appended to
//! `<data>/audit/audit.jsonl`.
//!
//! Append-only and tamper-evident: each entry carries `prev`, the SHA-256 of the line before
//! it (the first line's `prev` is 64 zeros), so removing or editing a line breaks the chain
//! from there on (`GET /api/v1/admin/audit` reports `chain_ok`). Lines are written by one task
//! in the order requests finished; the file is opened with `O_APPEND` and synced once per
//! batch. Writing never holds up a request; a full queue drops the entry with an error in the
//! log rather than block the pod.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, RawQuery, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::problem::Problem;
use crate::state::AppState;

/// Entries waiting for the writer.
const QUEUE: usize = 8192;
/// Most entries one query returns.
const MAX_LIMIT: usize = 1000;
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audited request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// RFC 3339, UTC.
    pub at: String,
    /// The user the request named (Basic credentials), or `anonymous`.
    pub user: String,
    /// Whether the pod accepted those credentials (false on a refusal).
    pub authenticated: bool,
    /// The client's address (the TCP peer; `X-Forwarded-For` is recorded beside it, not
    /// trusted instead of it).
    pub from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_for: Option<String>,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// SHA-256 (hex) of the previous line.
    #[serde(default)]
    pub prev: String,
}

/// The log's writer.
pub struct Audit {
    tx: mpsc::Sender<Entry>,
    path: PathBuf,
}

impl Audit {
    /// Open (or create) `<dir>/audit.jsonl` and start its writer.
    pub fn open(dir: &Path) -> anyhow::Result<Arc<Audit>> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("audit.jsonl");
        let last = last_hash(&path)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("agentry-audit".into())
            .spawn(move || writer(file, last, rx))?;
        Ok(Arc::new(Audit { tx, path }))
    }

    pub fn record(&self, e: Entry) {
        if let Err(e) = self.tx.try_send(e) {
            tracing::error!(error = %e, "the audit queue is full or closed; an entry was dropped");
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    let mut h = agentry_types::DigestAlgorithm::Sha256.hasher();
    h.update(bytes);
    h.finish().hex().to_owned()
}

/// The hash of the file's last line (the chain continues from it).
fn last_hash(path: &Path) -> anyhow::Result<String> {
    let Ok(f) = std::fs::File::open(path) else {
        return Ok(GENESIS.to_owned());
    };
    let mut last = None;
    for line in std::io::BufReader::new(f).lines() {
        let line = line?;
        if !line.is_empty() {
            last = Some(line);
        }
    }
    Ok(last.map_or_else(|| GENESIS.to_owned(), |l| sha256_hex(l.as_bytes())))
}

fn writer(file: std::fs::File, mut prev: String, mut rx: mpsc::Receiver<Entry>) {
    let mut out = std::io::BufWriter::new(file);
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while let Ok(e) = rx.try_recv() {
            batch.push(e);
            if batch.len() >= 256 {
                break;
            }
        }
        for mut e in batch {
            e.prev = prev.clone();
            let Ok(line) = serde_json::to_string(&e) else {
                continue;
            };
            prev = sha256_hex(line.as_bytes());
            if let Err(err) = writeln!(out, "{line}") {
                tracing::error!(error = %err, "writing the audit log failed");
            }
        }
        if let Err(err) = out.flush().and_then(|()| out.get_ref().sync_data()) {
            tracing::error!(error = %err, "syncing the audit log failed");
        }
    }
}

/// The user a request names in its Basic credentials.
fn claimed_user(req: &Request) -> Option<String> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let user = text.split_once(':').map(|(u, _)| u)?;
    // Bounded and printable: this goes into a log people read.
    Some(user.chars().filter(|c| !c.is_control()).take(128).collect())
}

/// Middleware: record writes and refusals.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(audit) = state.audit.clone() else {
        return next.run(req).await;
    };
    let method = req.method().clone();
    let path: String = req.uri().path().chars().take(1024).collect();
    let read = matches!(method, Method::GET | Method::HEAD | Method::OPTIONS)
        || (method == Method::POST && path == "/graphql");
    let write = !read;
    let user = claimed_user(&req);
    let from = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    let forwarded_for = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(256).collect());
    let resp = next.run(req).await;
    let status = resp.status();
    let refused = status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN;
    if write || refused {
        audit.record(Entry {
            at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            authenticated: user.is_some() && !refused,
            user: user.unwrap_or_else(|| "anonymous".to_owned()),
            from,
            forwarded_for,
            method: method.to_string(),
            path,
            status: status.as_u16(),
            prev: String::new(),
        });
    }
    resp
}

#[derive(Debug, Serialize)]
pub struct AuditPage {
    pub entries: Vec<Entry>,
    /// Whether every line of the file hashes to the next one's `prev`.
    pub chain_ok: bool,
    /// Lines in the file.
    pub total: usize,
}

/// `GET /api/v1/admin/audit?user=&since=&status=&limit=`: the newest entries first.
pub async fn query(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let Some(audit) = state.audit.clone() else {
        return Problem::not_found("this pod keeps no audit log").into_response();
    };
    let mut user = None;
    let mut since = None;
    let mut status = None;
    let mut limit = 100usize;
    let pairs = match crate::query_string::decode(raw.as_deref()) {
        Ok(p) => p,
        Err(p) => return Problem::from(p).into_response(),
    };
    for (k, v) in pairs {
        match k.as_str() {
            "user" => user = Some(v),
            "since" => match time::OffsetDateTime::parse(
                &v,
                &time::format_description::well_known::Rfc3339,
            ) {
                Ok(t) => since = Some(t),
                Err(_) => {
                    return Problem::bad_request("since", "expected an RFC 3339 time")
                        .into_response();
                }
            },
            "status" => match v.parse::<u16>() {
                Ok(s) => status = Some(s),
                Err(_) => {
                    return Problem::bad_request("status", "expected an HTTP status code")
                        .into_response();
                }
            },
            "limit" => match v.parse::<usize>() {
                Ok(n) if n >= 1 => limit = n.min(MAX_LIMIT),
                _ => {
                    return Problem::bad_request("limit", format!("expected 1..={MAX_LIMIT}"))
                        .into_response();
                }
            },
            other => {
                return Problem::bad_request(
                    other,
                    "unknown parameter (accepted: user, since, status, limit)",
                )
                .into_response();
            }
        }
    }
    let path = audit.path().to_owned();
    let read = tokio::task::spawn_blocking(move || read_log(&path)).await;
    let (lines, chain_ok) = match read {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return Problem::internal(format!("reading the audit log: {e}")).into_response();
        }
        Err(e) => return Problem::internal(format!("reading the audit log: {e}")).into_response(),
    };
    let total = lines.len();
    let entries: Vec<Entry> = lines
        .into_iter()
        .rev()
        .filter(|e| user.as_ref().is_none_or(|u| &e.user == u))
        .filter(|e| status.is_none_or(|s| e.status == s))
        .filter(|e| {
            since.is_none_or(|t| {
                time::OffsetDateTime::parse(&e.at, &time::format_description::well_known::Rfc3339)
                    .is_ok_and(|at| at >= t)
            })
        })
        .take(limit)
        .collect();
    Json(AuditPage {
        entries,
        chain_ok,
        total,
    })
    .into_response()
}

fn read_log(path: &Path) -> std::io::Result<(Vec<Entry>, bool)> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), true)),
        Err(e) => return Err(e),
    };
    let mut prev = GENESIS.to_owned();
    let mut ok = true;
    let mut out = Vec::new();
    for line in std::io::BufReader::new(f).lines() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<Entry>(&line) {
            Ok(e) => {
                if e.prev != prev {
                    ok = false;
                }
                out.push(e);
            }
            Err(_) => ok = false,
        }
        prev = sha256_hex(line.as_bytes());
    }
    Ok((out, ok))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;

    fn entry(user: &str) -> Entry {
        Entry {
            at: "2026-12-07T20:00:00Z".into(),
            user: user.into(),
            authenticated: true,
            from: "127.0.0.1:1".into(),
            forwarded_for: None,
            method: "PUT".into(),
            path: "/v2/a/b/manifests/1".into(),
            status: 201,
            prev: String::new(),
        }
    }

    #[tokio::test]
    async fn entries_chain_and_a_tampered_line_breaks_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::open(dir.path()).unwrap();
        audit.record(entry("alice"));
        audit.record(entry("bob"));
        drop(audit);
        // The writer drains the queue once the sender is gone.
        let path = dir.path().join("audit.jsonl");
        for _ in 0..100 {
            if std::fs::read_to_string(&path).is_ok_and(|s| s.lines().count() == 2) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let (lines, ok) = read_log(&path).unwrap();
        assert_eq!(lines.len(), 2);
        assert!(ok);
        assert_eq!(lines[0].prev, GENESIS);
        // Reopening continues the chain.
        let audit = Audit::open(dir.path()).unwrap();
        audit.record(entry("carol"));
        drop(audit);
        for _ in 0..100 {
            if std::fs::read_to_string(&path).is_ok_and(|s| s.lines().count() == 3) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let (lines, ok) = read_log(&path).unwrap();
        assert_eq!(lines.len(), 3);
        assert!(ok, "reopened log keeps the chain");
        // Edit the first line: the chain breaks.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("alice", "mallory", 1)).unwrap();
        let (_, ok) = read_log(&path).unwrap();
        assert!(!ok);
    }
}
