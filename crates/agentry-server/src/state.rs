//! State shared by every handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use agentry_store::{BlobStore, MetadataStore};

use crate::auth::Htpasswd;
use crate::config::ServeConfig;

/// Cheap to clone: everything is behind `Arc`.
#[derive(Clone)]
pub struct AppState {
    pub blobs: Arc<dyn BlobStore>,
    pub meta: Arc<dyn MetadataStore>,
    pub config: Arc<ServeConfig>,
    pub auth: Option<Arc<Htpasswd>>,
    /// Who may do what (`config.auth_policy`, or every htpasswd user admin).
    pub policy: Arc<agentry_auth::Policy>,
    /// Issues and verifies the pod's tokens, when access control is on.
    pub tokens: Option<Arc<agentry_auth::TokenIssuer>>,
    /// The discovery index (`<data>/search`); `None` in pods built without one (some tests).
    pub search: Option<Arc<agentry_search::SearchIndex>>,
    /// Held while an online reindex runs (one at a time).
    pub reindexing: Arc<tokio::sync::Mutex<()>>,
    /// The push path's batched writer to `search` (set with it).
    pub index_feed: Option<Arc<crate::index_feed::IndexFeed>>,
    /// The trust engine (DNS cache, revocation list, minimum tier).
    pub trust: Arc<crate::trust::TrustEngine>,
    /// This pod's place in the mesh, when `mesh_listen` is set.
    pub mesh: Option<Arc<crate::mesh::Mesh>>,
    /// The switchboard's sources (`config.switchboard`) and import jobs.
    pub switchboard: Arc<crate::api::switchboard::Sources>,
    /// The live feed of changes GraphQL subscriptions read.
    pub events: Arc<crate::events::Events>,
    /// The figures `/metrics` serves.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The append-only audit log (`<data>/audit/`); `None` in pods built without one.
    pub audit: Option<Arc<crate::audit::Audit>>,
    ready: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(
        blobs: Arc<dyn BlobStore>,
        meta: Arc<dyn MetadataStore>,
        config: ServeConfig,
        auth: Option<Htpasswd>,
    ) -> AppState {
        let trust = Arc::new(crate::trust::TrustEngine::from_config(&config));
        let switchboard = Arc::new(crate::api::switchboard::Sources::from_config(&config));
        AppState {
            switchboard,
            blobs,
            meta,
            trust,
            config: Arc::new(config),
            auth: auth.map(Arc::new),
            policy: Arc::new(agentry_auth::Policy::signed_in_admin()),
            tokens: None,
            search: None,
            reindexing: Arc::default(),
            index_feed: None,
            mesh: None,
            events: Arc::default(),
            metrics: Arc::default(),
            audit: None,
            ready: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Attach the discovery index.
    pub fn with_search(mut self, index: Arc<agentry_search::SearchIndex>) -> AppState {
        self.index_feed = Some(crate::index_feed::IndexFeed::new(index.clone()));
        self.search = Some(index);
        self
    }

    /// Join the mesh.
    pub fn with_mesh(mut self, mesh: Option<Arc<crate::mesh::Mesh>>) -> AppState {
        self.mesh = mesh;
        self
    }

    /// Replace the trust engine (a test's resolver, a Sigstore bundle verifier).
    pub fn with_trust(mut self, trust: crate::trust::TrustEngine) -> AppState {
        self.trust = Arc::new(trust);
        self
    }

    /// Whether the pod accepts traffic (false while starting and once shutdown began).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }
}
