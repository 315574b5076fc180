//! Starting and stopping a pod.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use agentry_store::{FsBlobStore, RedbMetadataStore};
use anyhow::Context as _;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::auth::Htpasswd;
use crate::config::ServeConfig;
use crate::router::router;
use crate::state::AppState;

/// A pod with its stores open, ready to serve.
pub struct Server {
    state: AppState,
}

impl Server {
    /// Open (creating if needed) the data directory ([`agentry_types::DataDir`]): `blobs/` and
    /// `uploads/` for content, `meta.redb` for metadata, `search/` for the discovery index.
    pub async fn open(config: ServeConfig) -> anyhow::Result<Server> {
        config.validate().map_err(anyhow::Error::msg)?;
        std::fs::create_dir_all(&config.data)
            .with_context(|| format!("cannot create data directory {}", config.data.display()))?;
        let blobs = FsBlobStore::open(&config.data)
            .with_context(|| format!("cannot open blob store in {}", config.data.display()))?;
        let data = config.data_dir();
        let meta: Arc<dyn agentry_store::MetadataStore> = match &config.metadata {
            Some(url) => {
                let store =
                    agentry_store_postgres::PgMetadataStore::connect(url, !config.no_migrate)
                        .await
                        .context("cannot open the PostgreSQL metadata store (--metadata)")?;
                tracing::info!(metadata = %agentry_store_postgres::redact_url(url), "metadata in PostgreSQL");
                Arc::new(store)
            }
            None => {
                let meta_path = data.meta_db();
                Arc::new(RedbMetadataStore::open_with_cache(
                    &meta_path,
                    usize::try_from(config.meta_cache_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
                ).with_context(|| {
                    format!(
                        "cannot open metadata database {} (is another agentry process using this data directory?)",
                        meta_path.display()
                    )
                })?)
            }
        };
        let auth = match &config.htpasswd {
            Some(p) => Some(Htpasswd::load(p).map_err(anyhow::Error::msg)?),
            None => None,
        };
        let search = open_search_index(&data, config.embed_precision)?;
        let mesh = crate::mesh::start(&config).await?;
        let audit = crate::audit::Audit::open(&data.audit())
            .with_context(|| format!("cannot open the audit log in {}", data.audit().display()))?;
        let policy = match &config.auth_policy {
            Some(p) => agentry_auth::Policy::load(p)
                .map_err(|e| anyhow::anyhow!("auth_policy {}: {e}", p.display()))?,
            None => agentry_auth::Policy::signed_in_admin(),
        };
        let tokens = if auth.is_some() || config.auth_policy.is_some() {
            let key = crate::auth::token_key(&data.root().join("auth"))
                .context("cannot read or create the token key in <data>/auth")?;
            Some(Arc::new(
                agentry_auth::TokenIssuer::new(
                    &key,
                    "agentry",
                    config.token_service(),
                    config.token_ttl,
                )
                .map_err(|e| anyhow::anyhow!("the token key in <data>/auth: {e}"))?,
            ))
        } else {
            None
        };
        let mut state = AppState::new(Arc::new(blobs), meta, config, auth)
            .with_search(search)
            .with_mesh(mesh);
        state.audit = Some(audit);
        state.policy = Arc::new(policy);
        state.tokens = tokens;
        Ok(Server { state })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Bind the listening socket (port 0 picks a free port; see [`BoundServer::local_addr`]).
    pub async fn bind(self) -> anyhow::Result<BoundServer> {
        let listen = self.state.config.listen;
        let listener = std::net::TcpListener::bind(listen)
            .with_context(|| format!("cannot listen on {listen}"))?;
        listener.set_nonblocking(true)?;
        Ok(BoundServer {
            state: self.state,
            listener,
        })
    }

    /// Bind and serve until `shutdown` resolves.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        self.bind().await?.run(shutdown).await
    }
}

/// A pod bound to its address, not yet serving.
pub struct BoundServer {
    state: AppState,
    listener: std::net::TcpListener,
}

impl BoundServer {
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serve until `shutdown` resolves, then stop accepting, let in-flight requests finish
    /// (up to the configured grace period) and return.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let BoundServer { state, listener } = self;
        let config = state.config.clone();
        let addr = listener.local_addr()?;
        let app = router(state.clone());
        let housekeeping = tokio::spawn(housekeeping(state.clone()));
        let reverify = tokio::spawn(trust_reverify(state.clone()));
        let follower = tokio::spawn(crate::mesh::follow(state.clone()));
        let mesh_watch = tokio::spawn(crate::events::watch_mesh(state.clone()));

        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let ready_state = state.clone();
        tokio::spawn(async move {
            shutdown.await;
            ready_state.set_ready(false);
            tracing::info!("shutdown requested: finishing in-flight requests");
            let _ = stop_tx.send(true);
        });
        let grace = config.shutdown_grace;

        let result = if let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) {
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| {
                    format!(
                        "cannot load TLS certificate {} / key {}",
                        cert.display(),
                        key.display()
                    )
                })?;
            let handle = axum_server::Handle::new();
            let h2 = handle.clone();
            let mut rx = stop_rx.clone();
            tokio::spawn(async move {
                let _ = rx.wait_for(|s| *s).await;
                h2.graceful_shutdown(Some(grace));
            });
            state.set_ready(true);
            tracing::info!(%addr, data = %config.data.display(), tls = true, "agentry pod serving");
            // TCP_NODELAY: a streamed body must not wait behind its headers for the client's
            // delayed ACK (Nagle), which costs ~40 ms per blob GET.
            axum_server::from_tcp_rustls(listener, tls)?
                .map(|a| a.acceptor(axum_server::accept::NoDelayAcceptor::new()))
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .context("server failed")
        } else {
            let listener = TcpListener::from_std(listener)?;
            state.set_ready(true);
            tracing::info!(%addr, data = %config.data.display(), tls = false, "agentry pod serving");
            let mut rx = stop_rx.clone();
            // TCP_NODELAY: a streamed body must not wait behind its headers for the client's
            // delayed ACK (Nagle), which costs ~40 ms per blob GET.
            let listener = listener.tap_io(|tcp| {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                }
            });
            let serve = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = rx.wait_for(|s| *s).await;
            });
            // Bound the drain: after the grace period, stop waiting for slow clients.
            let mut rx2 = stop_rx.clone();
            tokio::select! {
                r = serve => r.context("server failed"),
                _ = async move {
                    let _ = rx2.wait_for(|s| *s).await;
                    tokio::time::sleep(grace).await;
                } => {
                    tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests did not finish within the grace period");
                    Ok(())
                }
            }
        };
        housekeeping.abort();
        reverify.abort();
        follower.abort();
        mesh_watch.abort();
        if let Some(mesh) = &state.mesh {
            // Graceful leave: peers mark this pod left at once instead of suspecting it.
            mesh.handle.shutdown(true).await;
        }
        if let Some(idx) = state.search.clone() {
            // Snapshot the vector graph so the next start loads it instead of rebuilding it.
            match tokio::task::spawn_blocking(move || idx.flush()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "saving the vector index snapshot failed"),
                Err(e) => tracing::warn!(error = %e, "vector snapshot task failed"),
            }
        }
        tracing::info!("agentry pod stopped");
        result
    }
}

/// Open the discovery index under `<data>/search`, with the local embedding model when it is
/// installed (`agentry model fetch`); without it semantic search answers "unavailable".
fn open_search_index(
    data: &agentry_types::DataDir,
    choice: agentry_embed::PrecisionChoice,
) -> anyhow::Result<Arc<agentry_search::SearchIndex>> {
    let dir = data.search();
    let built_with = agentry_search::stored_model_id(&dir)
        .with_context(|| format!("cannot read the discovery index in {}", dir.display()))?;
    let precision = choice.resolve(built_with.as_deref());
    tracing::info!(%precision, requested = %choice, index_vectors = built_with.as_deref().unwrap_or("none"), "embedding precision");
    let model_dir = data.model(agentry_embed::MINILM_DIR_NAME);
    let options = agentry_embed::MiniLmOptions {
        precision,
        ..agentry_embed::MiniLmOptions::default()
    };
    let embedder: Option<Arc<dyn agentry_embed::Embedder>> =
        match agentry_embed::MiniLmEmbedder::load_with(&model_dir, options) {
            // Texts embedded before (a re-pushed description, a repeated query) are not
            // embedded again while they stay among the most recent.
            Ok(m) => Some(Arc::new(agentry_embed::MemoEmbedder::new(
                Arc::new(m),
                agentry_embed::MemoEmbedder::DEFAULT_CAPACITY,
            ))),
            Err(e) => {
                tracing::warn!(error = %e, "semantic search unavailable");
                None
            }
        };
    let idx = agentry_search::SearchIndex::open(
        &dir,
        agentry_search::IndexOptions {
            embedder,
            writer_memory: 0,
        },
    )
    .with_context(|| format!("cannot open the discovery index in {}", dir.display()))?;
    Ok(Arc::new(idx))
}

/// Periodic maintenance: expire abandoned upload sessions.
async fn housekeeping(state: AppState) {
    let every = state
        .config
        .housekeeping_interval
        .max(Duration::from_secs(1));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let cutoff = std::time::SystemTime::now() - state.config.upload_ttl;
        match agentry_store::gc::expire_uploads(&*state.blobs, &*state.meta, cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "abandoned upload sessions removed"),
            Err(e) => tracing::warn!(error = %e, "upload expiry failed"),
        }
    }
}

/// Judge every agent again every `trust_reverify_interval` (0: never), so tiers follow DNS
/// (TTL expiry, key rotation and removal) and certificate expiry.
async fn trust_reverify(state: AppState) {
    let every = state.config.trust_reverify_interval;
    if every.is_zero() {
        return;
    }
    let mut tick = tokio::time::interval(every);
    tick.tick().await; // the first tick is immediate; push-time tiers are fresh
    loop {
        tick.tick().await;
        match crate::trust::reverify_all(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(changed = n, "trust tiers re-verified"),
            Err(e) => tracing::warn!(error = %e, "trust re-verification failed"),
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
