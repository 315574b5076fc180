//! OpenAiEmbedder against a real HTTP server in this process that implements
//! `POST /v1/embeddings` by running the local all-MiniLM-L6-v2 model.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use agentry_embed::{EmbedError, Embedder, MiniLmEmbedder, OpenAiEmbedder, OpenAiOptions, cosine};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

const KEY: &str = "sk-test-agentry";

#[derive(Clone)]
struct Server {
    model: Arc<MiniLmEmbedder>,
    requests: Arc<AtomicUsize>,
}

#[derive(Deserialize)]
struct Request {
    model: String,
    input: Vec<String>,
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"message": message, "type": "invalid_request_error"}})),
    )
        .into_response()
}

async fn embeddings(
    State(s): State<Server>,
    headers: HeaderMap,
    Json(req): Json<Request>,
) -> Response {
    s.requests.fetch_add(1, Ordering::SeqCst);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {KEY}"))
    {
        return error(StatusCode::UNAUTHORIZED, "Incorrect API key provided");
    }
    if req.model != "all-minilm-l6-v2" {
        return error(
            StatusCode::NOT_FOUND,
            &format!("model {} does not exist", req.model),
        );
    }
    let model = s.model.clone();
    let input = req.input.clone();
    let vectors = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = input.iter().map(String::as_str).collect();
        model.embed(&refs)
    })
    .await;
    match vectors {
        Ok(Ok(vectors)) => {
            // Items deliberately in reverse order: clients must place them by `index`.
            let data: Vec<_> = vectors
                .into_iter()
                .enumerate()
                .rev()
                .map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": v}))
                .collect();
            Json(json!({"object": "list", "data": data, "model": req.model,
                        "usage": {"prompt_tokens": 0, "total_tokens": 0}}))
            .into_response()
        }
        _ => error(StatusCode::INTERNAL_SERVER_ERROR, "embedding failed"),
    }
}

/// A server that answers too slowly (for the timeout).
async fn slow() -> Response {
    tokio::time::sleep(Duration::from_secs(5)).await;
    StatusCode::OK.into_response()
}

/// A server that returns fewer vectors than inputs (a broken implementation).
async fn short() -> Response {
    Json(json!({"data": [{"index": 0, "embedding": [1.0, 0.0]}]})).into_response()
}

fn server() -> &'static (SocketAddr, Server) {
    static S: OnceLock<(SocketAddr, Server)> = OnceLock::new();
    S.get_or_init(|| {
        let model = Arc::new(
            MiniLmEmbedder::load(
                &agentry_model::cache::shared()
                    .unwrap_or_else(|e| panic!("the tests need the model: {e}"))
                    .model_dir,
            )
            .expect("model loads"),
        );
        let state = Server {
            model,
            requests: Arc::new(AtomicUsize::new(0)),
        };
        let app = Router::new()
            .route("/v1/embeddings", post(embeddings))
            .route("/slow/v1/embeddings", post(slow))
            .route("/short/v1/embeddings", post(short))
            .with_state(state.clone());
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
                tx.send(listener.local_addr().expect("addr")).expect("send");
                axum::serve(listener, app).await.expect("serve");
            });
        });
        (rx.recv().expect("server address"), state)
    })
}

fn options(path: &str) -> OpenAiOptions {
    let (addr, _) = server();
    let mut o = OpenAiOptions::new(format!("http://{addr}{path}/v1"), "all-minilm-l6-v2");
    o.api_key = Some(KEY.into());
    o
}

#[test]
fn embeds_in_batches_and_matches_the_local_model() {
    let (_, state) = server();
    let mut opts = options("");
    opts.batch_size = 3;
    let remote = OpenAiEmbedder::new(opts).expect("probe succeeds");
    assert_eq!(remote.dim(), 384);
    assert!(
        remote
            .model_id()
            .starts_with("all-minilm-l6-v2@http://127.0.0.1:")
    );

    let texts = [
        "summarise legal contracts",
        "translate Spanish to English",
        "book flights and hotels",
        "MCP server for PostgreSQL",
        "weather forecast agent",
        "code review assistant for Rust pull requests",
        "",
    ];
    let before = state.requests.load(Ordering::SeqCst);
    let vectors = remote.embed(&texts).expect("embed");
    let requests = state.requests.load(Ordering::SeqCst) - before;
    assert!(
        requests >= 3,
        "7 texts in batches of 3 need 3 requests, saw {requests}"
    );
    let local = state.model.embed(&texts).expect("local");
    assert_eq!(vectors.len(), texts.len());
    for (i, (r, l)) in vectors.iter().zip(&local).enumerate() {
        assert!(cosine(r, l) > 0.99999, "text {i}: {}", cosine(r, l));
    }
}

#[test]
fn a_wrong_key_or_model_makes_it_unavailable_with_the_servers_reason() {
    let mut opts = options("");
    opts.api_key = Some("sk-wrong".into());
    match OpenAiEmbedder::new(opts) {
        Err(EmbedError::Unavailable(msg)) => {
            assert!(
                msg.contains("401") && msg.contains("Incorrect API key"),
                "{msg}"
            )
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let mut opts = options("");
    opts.model = "no-such-model".into();
    let err = OpenAiEmbedder::new(opts).expect_err("unknown model");
    assert!(
        err.to_string().contains("no-such-model does not exist"),
        "{err}"
    );
}

#[test]
fn a_slow_endpoint_times_out_cleanly() {
    let mut opts = options("/slow");
    opts.dim = Some(384); // skip the probe: the call itself must time out
    opts.timeout = Duration::from_millis(300);
    let remote = OpenAiEmbedder::new(opts).expect("no probe");
    match remote.embed(&["hello"]) {
        Err(EmbedError::Failed(msg)) => assert!(msg.contains("timed out"), "{msg}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[test]
fn a_broken_endpoint_is_reported_not_trusted() {
    let mut opts = options("/short");
    opts.dim = Some(2);
    let remote = OpenAiEmbedder::new(opts).expect("no probe");
    let err = remote
        .embed(&["a", "b"])
        .expect_err("one vector for two inputs");
    assert!(
        err.to_string()
            .contains("returned 1 embeddings for 2 inputs"),
        "{err}"
    );
}

#[test]
fn an_unreachable_endpoint_is_unavailable() {
    let mut opts = OpenAiOptions::new("http://127.0.0.1:1/v1", "m");
    opts.connect_timeout = Duration::from_secs(2);
    match OpenAiEmbedder::new(opts) {
        Err(EmbedError::Unavailable(msg)) => assert!(msg.contains("cannot connect"), "{msg}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
